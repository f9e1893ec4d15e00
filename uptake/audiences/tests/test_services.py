"""Audiences: creation, edits with history, live maintenance equal to a full recompute."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from tests.factories import PersonFactory, grant
from uptake.audiences import services
from uptake.audiences.events import AudienceMembershipChanged
from uptake.audiences.models import AudienceMembership, AudienceVersion, MembershipChange
from uptake.core import bus
from uptake.core.actor import Actor
from uptake.core.errors import Conflict, ValidationFailed
from uptake.people import services as people

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")
NOW = dt.datetime(2025, 6, 15, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def published(monkeypatch):
    """Audience events published, in order (the bus still dispatches them on commit)."""
    seen: list[AudienceMembershipChanged] = []
    real = bus.publish

    def spy(event):
        if isinstance(event, AudienceMembershipChanged):
            seen.append(event)
        real(event)

    monkeypatch.setattr(services, "publish", spy)
    return seen


def _members(audience) -> set[int]:
    return set(
        AudienceMembership.objects.filter(audience=audience).values_list("person_id", flat=True)
    )


def _history(person):
    return list(
        MembershipChange.objects.filter(person=person)
        .order_by("pk")
        .values_list("audience__name", "change", "rule_version", "reason")
    )


def test_creating_an_audience_fills_it_and_records_who_joined(tenant, other_tenant, published):
    seller = PersonFactory(tenant=tenant, department="Sales")
    PersonFactory(tenant=tenant, department="Ops")
    PersonFactory(tenant=other_tenant, department="Sales")
    audience = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Sales", rule_text='department = "Sales"'
    )
    assert audience.rule == {"attr": "department", "op": "eq", "value": "Sales"}
    assert audience.rule_text == 'department = "Sales"'
    assert _members(audience) == {seller.pk}
    assert _history(seller) == [("Sales", "joined", 1, "created")]
    assert published == [
        AudienceMembershipChanged(
            tenant_id=tenant.pk,
            audience_id=audience.pk,
            rule_version=1,
            joined=(seller.pk,),
            left=(),
            reason="created",
        )
    ]


def test_a_bad_rule_is_rejected_with_its_place(tenant):
    with pytest.raises(ValidationFailed) as caught:
        services.create_audience(
            actor=ACTOR,
            tenant_id=tenant.pk,
            name="X",
            rule_text='department = "Sales" and departmnt = "x"',
        )
    assert caught.value.errors[0].field == "rule"
    assert caught.value.errors[0].message == (
        "line 1, column 26: unknown attribute 'departmnt' (did you mean 'department'?)"
    )


def test_names_are_unique_per_tenant(tenant, other_tenant):
    services.create_audience(actor=ACTOR, tenant_id=tenant.pk, name="Sales", rule_text="everyone")
    services.create_audience(
        actor=ACTOR, tenant_id=other_tenant.pk, name="Sales", rule_text="everyone"
    )
    with pytest.raises(Conflict):
        services.create_audience(actor=ACTOR, tenant_id=tenant.pk, name="Sales", rule_text="nobody")


def test_editing_the_rule_makes_a_version_and_applies_the_difference(tenant, published):
    seller = PersonFactory(tenant=tenant, department="Sales", location="London")
    paris = PersonFactory(tenant=tenant, department="Sales", location="Paris")
    marketer = PersonFactory(tenant=tenant, department="Marketing", location="London")
    audience = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="A", rule_text='department = "Sales"'
    )
    published.clear()
    services.update_audience(actor=ACTOR, audience=audience, rule_text='location = "London"')
    assert audience.version == 2
    assert _members(audience) == {seller.pk, marketer.pk}
    assert list(
        AudienceVersion.objects.filter(audience=audience).values_list("version", "rule_text")
    ) == [
        (2, 'location = "London"'),
        (1, 'department = "Sales"'),
    ]
    assert _history(paris) == [("A", "joined", 1, "created"), ("A", "left", 2, "rule_edit")]
    assert _history(marketer) == [("A", "joined", 2, "rule_edit")]
    assert _history(seller) == [("A", "joined", 1, "created")]
    assert [(e.joined, e.left, e.rule_version, e.reason) for e in published] == [
        ((marketer.pk,), (paris.pk,), 2, "rule_edit")
    ]


def test_the_same_rule_again_is_not_a_new_version(tenant):
    audience = services.create_audience(
        actor=ACTOR,
        tenant_id=tenant.pk,
        name="A",
        rule={"all": [{"attr": "department", "op": "eq", "value": "Sales"}]},
    )
    services.update_audience(actor=ACTOR, audience=audience, rule_text='department = "Sales"')
    assert audience.version == 1


def test_deactivating_an_audience_makes_everyone_leave(tenant, published):
    person = PersonFactory(tenant=tenant)
    audience = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="All", rule_text="everyone"
    )
    services.deactivate_audience(actor=ACTOR, audience=audience)
    assert _members(audience) == set()
    assert _history(person)[-1] == ("All", "left", 1, "deactivated")
    assert published[-1].left == (person.pk,)


def test_an_hr_change_moves_a_person_between_audiences_at_once(
    tenant, published, django_capture_on_commit_callbacks
):
    person = PersonFactory(tenant=tenant, department="Sales")
    sales = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Sales", rule_text='department = "Sales"'
    )
    marketing = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Marketing", rule_text='department = "Marketing"'
    )
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        people.update_person(actor=ACTOR, person=person, department="Marketing")
    assert _members(sales) == set()
    assert _members(marketing) == {person.pk}
    assert _history(person)[-2:] == [
        ("Sales", "left", 1, "hr_change"),
        ("Marketing", "joined", 1, "hr_change"),
    ]
    assert {(e.audience_id, e.joined, e.left) for e in published} == {
        (sales.pk, (), (person.pk,)),
        (marketing.pk, (person.pk,), ()),
    }


def _org(tenant):
    ceo = PersonFactory(tenant=tenant, employee_id="CEO", department="Exec")
    vp = PersonFactory(tenant=tenant, employee_id="VP", manager=ceo, department="Sales")
    lead = PersonFactory(tenant=tenant, employee_id="LEAD", manager=vp, department="Sales")
    dev = PersonFactory(
        tenant=tenant, employee_id="DEV", manager=lead, department="Sales", custom={"level": "3"}
    )
    other = PersonFactory(tenant=tenant, employee_id="OTHER", manager=ceo, department="Ops")
    grant(other, "data_steward")
    return ceo, vp, lead, dev, other


RULES = [
    'reports_to_any "VP"',
    'reports_to "LEAD"',
    'role = "manager"',
    'role = "data_steward" or department = "Ops"',
    "tenure_days <= 30 and is_active = true",
    "custom.level >= 3",
    "manager is empty",
    'not (department in ("Sales", "Exec"))',
]


@pytest.mark.parametrize("python_limit", [0, 10_000], ids=["sql-path", "python-path"])
def test_live_maintenance_yields_the_same_membership_as_a_full_recompute(
    tenant, monkeypatch, python_limit, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "PYTHON_LIMIT", python_limit)
    with time_machine.travel(NOW, tick=False):
        _ceo, vp, lead, dev, other = _org(tenant)
        for i, text in enumerate(RULES):
            services.create_audience(actor=ACTOR, tenant_id=tenant.pk, name=f"R{i}", rule_text=text)
        # A series of HR changes, each maintained live by the handlers.
        with django_capture_on_commit_callbacks(execute=True):
            people.update_person(actor=ACTOR, person=lead, manager_id=other.pk)  # the team moves
        with django_capture_on_commit_callbacks(execute=True):
            people.update_person(actor=ACTOR, person=dev, custom={"level": "2"})
        with django_capture_on_commit_callbacks(execute=True):
            people.update_person(actor=ACTOR, person=vp, hire_date=dt.date(2025, 6, 1))
        with django_capture_on_commit_callbacks(execute=True):
            people.update_person(actor=ACTOR, person=other, is_active=False)
        with django_capture_on_commit_callbacks(execute=True):
            new = people.create_person(
                actor=ACTOR,
                tenant_id=tenant.pk,
                employee_id="NEW",
                email="new@example.com",
                last_name="New",
                department="Ops",
                manager_id=vp.pk,
                hire_date=dt.date(2025, 6, 10),
            )
        with django_capture_on_commit_callbacks(execute=True):
            people.import_people_csv(
                actor=ACTOR,
                tenant_id=tenant.pk,
                data="employee_id,email,last_name,manager_employee_id\nDEV,dev@example.com,Dev,CEO\n",
            )
        live = services.membership_snapshot(tenant_id=tenant.pk)
        diffs = services.recompute_audiences(tenant_id=tenant.pk)
        assert [d for d in diffs if d.joined or d.left] == []
        assert services.membership_snapshot(tenant_id=tenant.pk) == live
        # And the facts were really maintained: spot checks.
        below_vp = services.membership_snapshot(tenant_id=tenant.pk)
        assert new.pk in below_vp[_audience_id(tenant, "R0")]


def _audience_id(tenant, name):
    from uptake.audiences.models import Audience

    return Audience.objects.get(tenant=tenant, name=name).pk


def test_a_manager_who_loses_their_last_report_leaves_a_managers_audience(
    tenant, django_capture_on_commit_callbacks
):
    boss = PersonFactory(tenant=tenant, employee_id="BOSS")
    report = PersonFactory(tenant=tenant, employee_id="R1", manager=boss)
    managers = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Managers", rule_text='role = "manager"'
    )
    assert _members(managers) == {boss.pk}
    with django_capture_on_commit_callbacks(execute=True):
        people.update_person(actor=ACTOR, person=report, manager_id=None)
    assert _members(managers) == set()


def test_a_nightly_recompute_drops_people_as_their_tenure_grows(tenant, published):
    with time_machine.travel(NOW, tick=False):
        hire = PersonFactory(tenant=tenant, hire_date=dt.date(2025, 6, 1))
        audience = services.create_audience(
            actor=ACTOR, tenant_id=tenant.pk, name="New hires", rule_text="tenure_days <= 30"
        )
        assert _members(audience) == {hire.pk}
    with time_machine.travel(NOW + dt.timedelta(days=17), tick=False):
        call_command("recompute_audiences", "--tenant", tenant.slug)
        assert _members(audience) == set()
        assert _history(hire)[-1] == ("New hires", "left", 1, "recompute")
        # Idempotent: the second run changes nothing.
        assert services.recompute_audiences(tenant_id=tenant.pk)[0].left == []


def test_the_nightly_task_recomputes_every_tenant(tenant, other_tenant):
    from uptake.audiences.tasks import recompute_all_audiences

    with time_machine.travel(NOW, tick=False):
        PersonFactory(tenant=tenant, hire_date=dt.date(2025, 6, 1))
        PersonFactory(tenant=other_tenant, hire_date=dt.date(2025, 6, 1))
        services.create_audience(
            actor=ACTOR, tenant_id=tenant.pk, name="N", rule_text="tenure_days <= 30"
        )
        services.create_audience(
            actor=ACTOR, tenant_id=other_tenant.pk, name="N", rule_text="tenure_days <= 30"
        )
    with time_machine.travel(NOW + dt.timedelta(days=40), tick=False):
        assert recompute_all_audiences.enqueue().return_value == 2
        assert AudienceMembership.objects.count() == 0


def test_an_hr_import_moves_a_person_between_audiences_in_one_batch(
    tenant, published, django_capture_on_commit_callbacks
):
    header = "employee_id,email,last_name,department\n"
    people.import_people_csv(
        actor=ACTOR,
        tenant_id=tenant.pk,
        data=header + "E1,e1@example.com,One,Sales\nE2,e2@example.com,Two,Sales\n",
    )
    sales = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Sales", rule_text='department = "Sales"'
    )
    marketing = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Marketing", rule_text='department = "Marketing"'
    )
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        people.import_people_csv(
            actor=ACTOR,
            tenant_id=tenant.pk,
            data=header + "E1,e1@example.com,One,Marketing\nE2,e2@example.com,Two,Sales\n",
        )
    e1 = people_id(tenant, "E1")
    assert _members(marketing) == {e1}
    assert _members(sales) == {people_id(tenant, "E2")}
    assert [(e.audience_id, e.joined, e.left, e.reason) for e in published] == [
        (sales.pk, (), (e1,), "hr_change"),
        (marketing.pk, (e1,), (), "hr_change"),
    ]


def people_id(tenant, employee_id):
    from uptake.people.models import Person

    return Person.objects.get(tenant=tenant, employee_id=employee_id).pk
