"""python manage.py import_people --tenant SLUG FILE [--dry-run] [--deactivate-missing]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uptake.core.actor import Actor
from uptake.core.errors import ValidationFailed
from uptake.people.services import ImportReport, import_people_csv
from uptake.tenancy.models import Tenant


def format_report(report: ImportReport, *, limit: int = 20) -> list[str]:
    """The report as lines of text: counts, then who (at most `limit` names per kind)."""
    verb = "would be" if report.dry_run else "were"
    lines = [
        f"{report.created} new, {report.updated} changed ({len(report.moved_ids)} moves), "
        f"{report.deactivated} leavers, {report.unchanged} unchanged "
        f"({'dry run: nothing ' + verb + ' changed' if report.dry_run else 'applied'})."
    ]
    for title, ids in (
        ("New", report.created_ids),
        ("Leavers", report.deactivated_ids),
        ("Changed", report.updated_ids),
    ):
        for eid in ids[:limit]:
            changes = report.changes.get(eid, {})
            detail = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changes.items())
            lines.append(
                f"  {title}: {eid} {report.names.get(eid, '')}"
                + (f" ({detail})" if detail and title == "Changed" else "")
            )
        if len(ids) > limit:
            lines.append(f"  {title}: ... and {len(ids) - limit} more")
    return lines


class Command(BaseCommand):
    help = "Import people from an HR CSV file into a tenant (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8, comma or semicolon).")
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--dry-run", action="store_true", help="Only show what would change.")
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="Full snapshot: active people missing from the file become leavers.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"There is no tenant {options['tenant']!r}.")
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            report = import_people_csv(
                actor=Actor.system("import_people command"),
                tenant_id=tenant.pk,
                data=data,
                dry_run=options["dry_run"],
                deactivate_missing=options["deactivate_missing"],
            )
        except ValidationFailed as exc:
            for problem in exc.errors:
                where = f"line {problem.row}" if problem.row else "file"
                column = f", column {problem.field}" if problem.field else ""
                self.stderr.write(f"{where}{column}: {problem.message}")
            raise CommandError(exc.detail, returncode=1) from exc
        for line in format_report(report):
            self.stdout.write(line)
