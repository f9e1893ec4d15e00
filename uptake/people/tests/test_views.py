"""The people screens: list, person, roles and the import preview -> apply flow."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import PersonFactory, grant
from uptake.people import rules
from uptake.people.models import Person, PersonRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tenant, client):
    person = grant(
        PersonFactory(tenant=tenant, first_name="Ada", last_name="Admin"), rules.PLATFORM_ADMIN
    )
    client.force_login(person.user)
    return person


def _upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("hr.csv", text.encode("utf-8"), content_type="text/csv")


def test_the_list_searches_filters_and_shows_only_this_tenant(client, tenant, other_tenant, admin):
    PersonFactory(tenant=tenant, first_name="Zed", last_name="Sales", department="Sales")
    PersonFactory(tenant=tenant, first_name="Olga", last_name="Ops", department="Ops")
    PersonFactory(tenant=other_tenant, first_name="Zed", last_name="Elsewhere", department="Sales")
    response = client.get(reverse("people:list"), {"q": "zed", "department": "Sales"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Zed Sales" in html
    assert "Olga Ops" not in html
    assert "Elsewhere" not in html
    assert '<option value="Ops">Ops</option>' in html


def test_the_list_paginates(client, tenant, admin):
    PersonFactory.create_batch(55, tenant=tenant, department="Bulk")
    response = client.get(reverse("people:list"), {"department": "Bulk", "page": 2})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 5
    assert "Page 2 of 2" in response.content.decode()


def test_learners_cannot_see_people(client, tenant):
    learner = PersonFactory(tenant=tenant)
    client.force_login(learner.user)
    assert client.get(reverse("people:list")).status_code == 403


def test_a_person_shows_their_record_manager_reports_and_roles(client, tenant, admin):
    person = PersonFactory(
        tenant=tenant,
        first_name="Mia",
        last_name="Middle",
        manager=admin,
        custom={"shift": "night"},
    )
    PersonFactory(tenant=tenant, first_name="Rex", last_name="Report", manager=person)
    grant(person, rules.DATA_STEWARD)
    html = client.get(reverse("people:detail", args=[person.pk])).content.decode()
    assert "Ada Admin" in html
    assert "Rex Report" in html
    assert "Data steward" in html
    assert "night" in html


def test_another_tenants_person_is_not_found(client, tenant, other_tenant, admin):
    stranger = PersonFactory(tenant=other_tenant)
    assert client.get(reverse("people:detail", args=[stranger.pk])).status_code == 404


def test_admin_grants_and_revokes_a_role(client, tenant, admin):
    person = PersonFactory(tenant=tenant)
    url = reverse("people:change_role", args=[person.pk])
    client.post(url, {"role": rules.CONTENT_OWNER, "action": "grant"})
    assert list(PersonRole.objects.filter(person=person).values_list("role", flat=True)) == [
        rules.CONTENT_OWNER
    ]
    client.post(url, {"role": rules.CONTENT_OWNER, "action": "revoke"})
    assert not PersonRole.objects.filter(person=person).exists()


def test_a_data_steward_cannot_grant_roles(client, tenant):
    steward = grant(PersonFactory(tenant=tenant), rules.DATA_STEWARD)
    client.force_login(steward.user)
    response = client.post(
        reverse("people:change_role", args=[steward.pk]), {"role": rules.PLATFORM_ADMIN}
    )
    assert response.status_code == 403
    assert not PersonRole.objects.filter(person=steward, role=rules.PLATFORM_ADMIN).exists()


def test_import_previews_then_applies(client, tenant, admin):
    PersonFactory(tenant=tenant, employee_id="OLD", first_name="Olive", last_name="Leaver")
    mover = PersonFactory(
        tenant=tenant, employee_id="MOV", first_name="Max", last_name="Mover", department="Sales"
    )
    text = (
        "employee_id,email,first_name,last_name,department\n"
        f"{admin.employee_id},{admin.email},Ada,Admin,{admin.department}\n"
        f"MOV,{mover.email},Max,Mover,Ops\n"
        "NEW,new@example.com,Nina,Newhire,Sales\n"
    )
    response = client.post(
        reverse("people:import"),
        {"action": "preview", "file": _upload(text), "deactivate_missing": "on"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 new hire" in html and "Nina Newhire" in html
    assert "1 leaver" in html and "Olive Leaver" in html
    assert "department: Sales → Ops" in html
    assert "Apply import" in html
    assert not Person.objects.filter(employee_id="NEW").exists()

    token = response.context["token"]
    response = client.post(reverse("people:import"), {"action": "apply", "token": token})
    assert response.status_code == 302
    assert Person.objects.filter(tenant=tenant, employee_id="NEW").exists()
    assert Person.objects.get(tenant=tenant, employee_id="OLD").is_active is False
    assert Person.objects.get(tenant=tenant, employee_id="MOV").department == "Ops"
    # The stored file is used once.
    response = client.post(reverse("people:import"), {"action": "apply", "token": token})
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_a_file_with_errors_shows_each_row_and_says_nothing_changed(client, tenant, admin):
    text = "employee_id,email,last_name\nE1,e1@example.com,One\nE2,nope,Two\n"
    response = client.post(reverse("people:import"), {"action": "preview", "file": _upload(text)})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was changed" in html
    assert "<td>3</td><td>email</td><td>&#x27;nope&#x27; is not a valid email address</td>" in html
    assert "Apply import" not in html
    assert not Person.objects.filter(employee_id="E1").exists()


def test_import_is_for_platform_admins(client, tenant):
    steward = grant(PersonFactory(tenant=tenant), rules.DATA_STEWARD)
    client.force_login(steward.user)
    assert client.get(reverse("people:import")).status_code == 403
