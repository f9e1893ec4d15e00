"""Background entry points of cmi5 content: one call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.cmi5 import services
from uptake.core.actor import Actor


@task()
def sweep_orphaned_package_files() -> int:
    """Delete the files of cmi5 packages that no longer exist (scheduled daily)."""
    return services.sweep_orphaned_files(actor=Actor.system("cmi5-sweep"))
