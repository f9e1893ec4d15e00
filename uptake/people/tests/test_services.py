"""Creating, changing and importing people."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model

from tests.factories import PersonFactory, UserFactory, grant
from uptake.core.actor import Actor
from uptake.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from uptake.people import rules, services
from uptake.people.events import PeopleImported, PersonChanged, PersonCreated, PersonDeactivated
from uptake.people.models import Person

pytestmark = pytest.mark.django_db

User = get_user_model()
ACTOR = Actor.system("test")
HEADER = "employee_id,email,first_name,last_name,department,manager_employee_id,active"


@pytest.fixture
def events(monkeypatch):
    """Every event published, in order (the bus still runs its handlers on commit)."""
    seen: list[object] = []
    from uptake.core import bus

    real = bus.publish

    def spy(event: object) -> None:
        seen.append(event)
        real(event)

    monkeypatch.setattr(services, "publish", spy)
    return seen


def _import(tenant, text, **kwargs):
    return services.import_people_csv(actor=ACTOR, tenant_id=tenant.pk, data=text, **kwargs)


def _csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_import_creates_people_with_logins_and_managers_defined_later(tenant, events):
    report = _import(
        tenant,
        _csv(
            "E2,bob@example.com,Bob,Report,Sales,E1,true",
            "E1,Ann@Example.com,Ann,Boss,Sales,,true",
        ),
    )
    assert (report.created, report.updated, report.deactivated, report.unchanged) == (2, 0, 0, 0)
    assert report.created_ids == ["E2", "E1"]
    ann = Person.objects.get(tenant=tenant, employee_id="E1")
    bob = Person.objects.get(tenant=tenant, employee_id="E2")
    assert bob.manager == ann
    assert ann.user.username == "ann@example.com"
    assert ann.user.has_usable_password() is False
    assert ann.user.is_active is True
    # One batch event for the whole file, not one per person.
    assert events == [
        PeopleImported(
            tenant_id=tenant.pk,
            created=2,
            updated=0,
            deactivated=0,
            unchanged=0,
            person_ids=tuple(sorted([ann.pk, bob.pk])),
        )
    ]


def test_events_are_dispatched_only_on_commit(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        _import(tenant, _csv("E1,a@example.com,A,One,Sales,,true"))
    assert len(callbacks) == 1  # PeopleImported


def test_a_username_taken_in_another_tenant_is_suffixed(tenant, other_tenant):
    PersonFactory(tenant=other_tenant, user=UserFactory(username="ann@example.com"))
    _import(
        tenant,
        _csv("E1,ann@example.com,Ann,Boss,Sales,,true", "E2,ANN@example.com,Ann,Twin,Sales,,true"),
    )
    usernames = set(Person.objects.filter(tenant=tenant).values_list("user__username", flat=True))
    assert usernames == {"ann@example.com.acme", "ann@example.com.acme.2"}


def test_reimport_reports_changes_moves_and_leavers(tenant, events):
    _import(
        tenant,
        _csv(
            "E1,a@example.com,Ann,Boss,Sales,,true",
            "E2,b@example.com,Bob,Report,Sales,E1,true",
            "E3,c@example.com,Cy,Same,Sales,E1,true",
            "E4,d@example.com,Di,Leaver,Sales,E1,true",
        ),
    )
    events.clear()
    report = _import(
        tenant,
        _csv(
            "E1,a@example.com,Ann,Boss,Sales,,true",
            "E2,b@example.com,Bob,Report,Ops,E3,true",
            "E3,c@example.com,Cy,Same,Sales,E1,true",
            "E4,d@example.com,Di,Leaver,Sales,E1,false",
        ),
    )
    assert (report.created, report.updated, report.deactivated, report.unchanged) == (0, 1, 1, 2)
    assert report.changes == {
        "E2": {"department": ("Sales", "Ops"), "manager": ("E1", "E3")},
        "E4": {"is_active": (True, False)},
    }
    assert report.moved_ids == ["E2"]
    bob = Person.objects.get(tenant=tenant, employee_id="E2")
    assert (bob.department, bob.manager.employee_id) == ("Ops", "E3")
    di = Person.objects.select_related("user").get(tenant=tenant, employee_id="E4")
    assert di.is_active is False
    assert di.deactivated_at is not None
    assert di.user.is_active is False
    ann = Person.objects.get(tenant=tenant, employee_id="E1")
    # Bob and Di changed; Ann was Bob's manager before (she may have lost a report).
    assert events == [
        PeopleImported(
            tenant_id=tenant.pk,
            created=0,
            updated=1,
            deactivated=1,
            unchanged=2,
            person_ids=tuple(sorted([bob.pk, di.pk, ann.pk])),
        )
    ]


def test_a_full_snapshot_deactivates_people_missing_from_the_file(tenant, other_tenant):
    kept = PersonFactory(tenant=tenant, employee_id="K1")
    gone = PersonFactory(tenant=tenant, employee_id="G1")
    elsewhere = PersonFactory(tenant=other_tenant, employee_id="G2")
    report = _import(
        tenant,
        f"employee_id,email,last_name\nK1,{kept.email},{kept.last_name}\n",
        deactivate_missing=True,
    )
    assert report.deactivated_ids == ["G1"]
    gone.refresh_from_db()
    elsewhere.refresh_from_db()
    assert gone.is_active is False
    assert elsewhere.is_active is True
    assert User.objects.get(pk=gone.user_id).is_active is False


def test_without_snapshot_missing_people_are_left_alone(tenant):
    gone = PersonFactory(tenant=tenant, employee_id="G1")
    _import(tenant, "employee_id,email,last_name\nN1,n@example.com,New\n")
    gone.refresh_from_db()
    assert gone.is_active is True


def test_a_dry_run_reports_but_changes_nothing(tenant, events):
    PersonFactory(tenant=tenant, employee_id="E1", department="Sales")
    report = _import(
        tenant,
        "employee_id,email,last_name,department\nE1,e1@example.com,X,Ops\nE9,e9@example.com,New,Ops\n",
        dry_run=True,
        deactivate_missing=True,
    )
    assert report.dry_run is True
    assert (report.created, report.updated) == (1, 1)
    assert Person.objects.filter(tenant=tenant).count() == 1
    assert Person.objects.get(tenant=tenant, employee_id="E1").department == "Sales"
    assert events == []


def test_one_bad_row_stops_the_whole_file_and_nothing_changes(tenant, events):
    PersonFactory(tenant=tenant, employee_id="E1", department="Sales")
    users_before = User.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        _import(
            tenant,
            _csv(
                "E1,e1@example.com,A,One,Ops,,true",
                "E2,not-an-email,B,Two,Ops,,true",
                "E3,e3@example.com,C,Three,Ops,E404,true",
            ),
        )
    assert caught.value.errors == [
        FieldProblem("'not-an-email' is not a valid email address", "email", 3),
        FieldProblem(
            "Manager 'E404' is neither in this file nor an existing person",
            "manager_employee_id",
            4,
        ),
    ]
    assert caught.value.detail == "The file has 2 problems; nothing was changed."
    assert Person.objects.get(tenant=tenant, employee_id="E1").department == "Sales"
    assert Person.objects.filter(tenant=tenant).count() == 1
    assert User.objects.count() == users_before
    assert events == []


def test_a_manager_cycle_created_by_the_file_is_refused(tenant):
    boss = PersonFactory(tenant=tenant, employee_id="B1")
    PersonFactory(tenant=tenant, employee_id="R1", manager=boss)
    with pytest.raises(ValidationFailed) as caught:
        _import(
            tenant, "employee_id,email,last_name,manager_employee_id\nB1,b@example.com,Boss,R1\n"
        )
    assert caught.value.errors == [
        FieldProblem("Manager cycle: B1 → R1 → B1", "manager_employee_id", 2)
    ]
    boss.refresh_from_db()
    assert boss.manager_id is None


def test_managers_may_be_people_of_the_tenant_only(tenant, other_tenant):
    PersonFactory(tenant=other_tenant, employee_id="X1")
    with pytest.raises(ValidationFailed) as caught:
        _import(tenant, "employee_id,email,last_name,manager_employee_id\nE1,e@example.com,E,X1\n")
    assert caught.value.errors[0].field == "manager_employee_id"


def test_a_returning_leaver_is_reactivated_with_their_login(tenant):
    person = PersonFactory(tenant=tenant, employee_id="E1", is_active=False)
    User.objects.filter(pk=person.user_id).update(is_active=False)
    report = _import(
        tenant, f"employee_id,email,last_name,active\nE1,{person.email},{person.last_name},true\n"
    )
    assert report.updated_ids == ["E1"]
    person.refresh_from_db()
    assert person.is_active is True
    assert person.deactivated_at is None
    assert User.objects.get(pk=person.user_id).is_active is True


def test_custom_columns_set_and_remove_custom_attributes(tenant):
    person = PersonFactory(tenant=tenant, employee_id="E1", custom={"badge": "7", "keep": "y"})
    report = _import(
        tenant,
        f"employee_id,email,last_name,custom.badge,custom.shift\nE1,{person.email},{person.last_name},,night\n",
    )
    assert report.changes["E1"] == {"custom.badge": ("7", None), "custom.shift": (None, "night")}
    person.refresh_from_db()
    assert person.custom == {"keep": "y", "shift": "night"}


@time_machine.travel(dt.datetime(2025, 3, 10, 9, tzinfo=dt.UTC), tick=False)
def test_dates_and_timestamps_are_stored(tenant):
    _import(
        tenant,
        "employee_id,email,last_name,hire_date,active\nE1,e@example.com,E,2025-02-01,false\n",
    )
    person = Person.objects.get(tenant=tenant, employee_id="E1")
    assert person.hire_date == dt.date(2025, 2, 1)
    assert person.deactivated_at == dt.datetime(2025, 3, 10, 9, tzinfo=dt.UTC)
    assert person.created_at == dt.datetime(2025, 3, 10, 9, tzinfo=dt.UTC)


def test_importing_the_same_file_twice_changes_nothing_the_second_time(tenant):
    text = _csv("E1,a@example.com,Ann,Boss,Sales,,true", "E2,b@example.com,Bob,R,Sales,E1,true")
    _import(tenant, text)
    report = _import(tenant, text)
    assert (report.created, report.updated, report.deactivated, report.unchanged) == (0, 0, 0, 2)


def test_a_large_file_is_imported_in_few_queries(tenant, django_assert_max_num_queries):
    rows = [f"E{i},p{i}@example.com,P,{i},Sales,{'E0' if i else ''},true" for i in range(2000)]
    with django_assert_max_num_queries(40):
        report = _import(tenant, _csv(*rows))
    assert report.created == 2000
    assert Person.objects.filter(tenant=tenant, manager__employee_id="E0").count() == 1999


def test_a_file_over_20_mb_is_refused(tenant):
    with pytest.raises(ValidationFailed, match="larger than 20 MB"):
        _import(tenant, b"x" * (services.MAX_IMPORT_BYTES + 1))


# --- One person ------------------------------------------------------------------------------


def test_create_person_validates_and_creates_a_login(tenant, events):
    boss = PersonFactory(tenant=tenant)
    person = services.create_person(
        actor=ACTOR,
        tenant_id=tenant.pk,
        employee_id="N1",
        email="New@Example.com",
        first_name="New",
        last_name="Hire",
        hire_date=dt.date(2025, 1, 6),
        manager_id=boss.pk,
        custom={"shift": "day"},
    )
    assert person.manager == boss
    assert person.user.username == "new@example.com"
    assert person.user.has_usable_password() is False
    assert person.time_zone == "UTC"
    assert [type(e) for e in events] == [PersonCreated]
    assert events[0].attributes["hire_date"] == "2025-01-06"


def test_create_person_reports_every_bad_attribute(tenant):
    with pytest.raises(ValidationFailed) as caught:
        services.create_person(
            actor=ACTOR, tenant_id=tenant.pk, employee_id="", email="x", time_zone="Nowhere"
        )
    assert {(p.field, p.message) for p in caught.value.errors} == {
        ("employee_id", "is required"),
        ("email", "'x' is not a valid email address"),
        ("time_zone", "'Nowhere' is not a known IANA time zone (e.g. Europe/Paris)"),
        ("last_name", "is required"),
    }


def test_create_person_refuses_a_taken_employee_id(tenant):
    PersonFactory(tenant=tenant, employee_id="E1")
    with pytest.raises(Conflict):
        services.create_person(
            actor=ACTOR, tenant_id=tenant.pk, employee_id="E1", email="e@example.com", last_name="E"
        )


def test_a_manager_from_another_tenant_is_not_found(tenant, other_tenant):
    stranger = PersonFactory(tenant=other_tenant)
    with pytest.raises(NotFound):
        services.create_person(
            actor=ACTOR,
            tenant_id=tenant.pk,
            employee_id="E1",
            email="e@example.com",
            last_name="E",
            manager_id=stranger.pk,
        )
    assert not Person.objects.filter(tenant=tenant, employee_id="E1").exists()


def test_update_person_publishes_what_changed(tenant, events):
    boss = PersonFactory(tenant=tenant, employee_id="B1")
    person = PersonFactory(tenant=tenant, department="Sales", hire_date=dt.date(2020, 1, 1))
    services.update_person(
        actor=ACTOR, person=person, department="Ops", hire_date="2021-02-03", manager=boss
    )
    assert events == [
        PersonChanged(
            tenant_id=tenant.pk,
            person_id=person.pk,
            changes={
                "department": ("Sales", "Ops"),
                "hire_date": ("2020-01-01", "2021-02-03"),
                "manager": (None, "B1"),
            },
        )
    ]
    assert person.department == "Ops"


def test_update_person_with_no_change_publishes_nothing(tenant, events):
    person = PersonFactory(tenant=tenant, department="Sales")
    services.update_person(actor=ACTOR, person=person, department="Sales")
    assert events == []


def test_deactivating_a_person_makes_them_a_leaver_without_login(tenant, events):
    person = PersonFactory(tenant=tenant)
    services.update_person(actor=ACTOR, person=person, is_active=False)
    person.refresh_from_db()
    assert person.deactivated_at is not None
    assert User.objects.get(pk=person.user_id).is_active is False
    assert [type(e) for e in events] == [PersonChanged, PersonDeactivated]


def test_update_person_refuses_a_manager_cycle(tenant):
    top = PersonFactory(tenant=tenant, employee_id="T")
    middle = PersonFactory(tenant=tenant, employee_id="M", manager=top)
    bottom = PersonFactory(tenant=tenant, employee_id="B", manager=middle)
    with pytest.raises(ValidationFailed, match="T → B → M → T"):
        services.update_person(actor=ACTOR, person=top, manager=bottom)
    with pytest.raises(ValidationFailed, match="own manager"):
        services.update_person(actor=ACTOR, person=top, manager_id=top.pk)


def test_roles_are_granted_and_revoked_but_not_the_last_admin(tenant):
    admin = grant(PersonFactory(tenant=tenant), rules.PLATFORM_ADMIN)
    other = PersonFactory(tenant=tenant)
    services.grant_role(actor=ACTOR, person=other, role=rules.DATA_STEWARD)
    services.grant_role(actor=ACTOR, person=other, role=rules.DATA_STEWARD)
    assert list(other.role_grants.values_list("role", flat=True)) == [rules.DATA_STEWARD]
    services.revoke_role(actor=ACTOR, person=other, role=rules.DATA_STEWARD)
    assert not other.role_grants.exists()
    with pytest.raises(Conflict):
        services.revoke_role(actor=ACTOR, person=admin, role=rules.PLATFORM_ADMIN)
    with pytest.raises(ValidationFailed):
        services.grant_role(actor=ACTOR, person=other, role="manager")


def _planner_rows(table: str) -> float | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


def test_a_large_import_refreshes_the_planners_statistics(
    tenant, monkeypatch, django_capture_on_commit_callbacks
):
    """ADR 0038: PostgreSQL plans the next large operation (a recompute) for the table as it now
    is, not as it was before the import; small imports leave it to autovacuum."""
    from uptake.core import bulk

    monkeypatch.setattr(bulk, "ANALYZE_FROM", 3)
    with django_capture_on_commit_callbacks(execute=True):
        _import(tenant, _csv("E1,e1@example.com,Ann,One,Sales,,true"))
    before = _planner_rows("people_person")
    with django_capture_on_commit_callbacks(execute=True):
        _import(tenant, _csv(*(f"F{i},f{i}@example.com,F,{i},Sales,,true" for i in range(4))))
    after = _planner_rows("people_person")
    if before is None:  # SQLite: no statistics kept, nothing to refresh
        assert after is None
        return
    assert before != 5
    assert after == Person.objects.count() == 5
