"""Background entry points of SCORM content: one call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.core.actor import Actor
from uptake.scorm import services


@task()
def sweep_orphaned_package_files() -> int:
    """Delete the files of packages that no longer exist (scheduled daily)."""
    return services.sweep_orphaned_files(actor=Actor.system("scorm-sweep"))
