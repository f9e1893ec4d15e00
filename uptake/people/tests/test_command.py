"""python manage.py import_people"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from uptake.people.models import Person

pytestmark = pytest.mark.django_db


def test_the_command_imports_and_prints_the_report(tenant, tmp_path, capsys):
    path = tmp_path / "hr.csv"
    path.write_text("employee_id,email,first_name,last_name\nE1,e1@example.com,Eve,One\n")
    call_command("import_people", str(path), tenant="acme")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "1 new, 0 changed (0 moves), 0 leavers, 0 unchanged (applied)."
    assert "New: E1 Eve One" in out
    assert Person.objects.filter(tenant=tenant, employee_id="E1").exists()


def test_the_command_dry_run_changes_nothing(tenant, tmp_path, capsys):
    path = tmp_path / "hr.csv"
    path.write_text("employee_id,email,last_name\nE1,e1@example.com,One\n")
    call_command("import_people", str(path), "--dry-run", tenant="acme")
    assert "dry run" in capsys.readouterr().out
    assert not Person.objects.exists()


def test_the_command_prints_row_errors_and_fails(tenant, tmp_path, capsys):
    path = tmp_path / "hr.csv"
    path.write_text("employee_id,email,last_name\nE1,bad,One\n")
    with pytest.raises(CommandError) as caught:
        call_command("import_people", str(path), tenant="acme")
    assert caught.value.returncode == 1
    assert "line 2, column email: 'bad' is not a valid email address" in capsys.readouterr().err
    assert not Person.objects.exists()


def test_an_unknown_tenant_is_an_error(db, tmp_path):
    path = tmp_path / "hr.csv"
    path.write_text("x")
    with pytest.raises(CommandError, match="no tenant 'nope'"):
        call_command("import_people", str(path), tenant="nope")
