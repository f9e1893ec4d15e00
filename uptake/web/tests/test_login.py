"""The login page, logout, and login throttling."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests.factories import PASSWORD
from uptake.web.tests.builders import make_person

pytestmark = pytest.mark.django_db

WINDOW = 900


@pytest.fixture(autouse=True)
def _throttle_settings(settings):  # type: ignore[no-untyped-def]
    settings.UPTAKE_LOGIN_MAX_FAILURES = 3
    settings.UPTAKE_LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    settings.UPTAKE_LOGIN_WINDOW_SECONDS = WINDOW


def _login(client, username, password, **extra):  # type: ignore[no-untyped-def]
    return client.post(reverse("web:login"), {"username": username, "password": password}, **extra)


def test_login_page_has_labelled_username_and_password_fields(client):
    response = client.get(reverse("web:login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'name="username"' in html and 'name="password"' in html


def test_right_password_signs_in_and_goes_to_my_learning(client, tenant):
    person = make_person(tenant)
    response = _login(client, person.user.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    assert client.get(reverse("web:home")).status_code == 200


def test_login_sets_the_ui_language_to_the_persons_language(client, tenant):
    person = make_person(tenant, language="fr")
    response = _login(client, person.user.username, PASSWORD)
    assert response.cookies["django_language"].value == "fr"


def test_wrong_password_and_unknown_user_get_the_same_message(client, tenant):
    person = make_person(tenant)
    wrong_password = _login(client, person.user.username, "nope")
    unknown_user = _login(client, "nobody-here", "nope")
    for response in (wrong_password, unknown_user):
        assert response.status_code == 200
        assert "Wrong username or password." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_up_to_the_limit_are_refused_with_429_and_minutes_to_wait(client, tenant):
    person = make_person(tenant)
    for _ in range(3):
        assert _login(client, person.user.username, "nope").status_code == 200
    response = _login(client, person.user.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts; try again in 15 minutes." in response.content.decode()
    assert WINDOW - 5 <= int(response["Retry-After"]) <= WINDOW
    assert "_auth_user_id" not in client.session


def test_a_locked_username_is_locked_from_every_address(client, tenant):
    person = make_person(tenant)
    for i in range(3):
        _login(client, person.user.username, "nope", REMOTE_ADDR=f"10.0.0.{i}")
    response = _login(client, person.user.username, PASSWORD, REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 429


def test_an_address_may_fail_more_often_than_one_username_before_it_is_locked(
    client, tenant, settings
):
    settings.UPTAKE_LOGIN_MAX_FAILURES_PER_ADDRESS = 6
    person = make_person(tenant)
    for i in range(4):
        _login(client, f"guess{i}", "nope", REMOTE_ADDR="192.0.2.9")
    assert (
        _login(client, person.user.username, PASSWORD, REMOTE_ADDR="192.0.2.9").status_code == 302
    )


def test_one_address_failing_on_many_usernames_is_locked_out(client, tenant):
    person = make_person(tenant)
    for i in range(3):
        _login(client, f"guess{i}", "nope", REMOTE_ADDR="192.0.2.7")
    locked = _login(client, person.user.username, PASSWORD, REMOTE_ADDR="192.0.2.7")
    elsewhere = _login(client, person.user.username, PASSWORD, REMOTE_ADDR="192.0.2.8")
    assert locked.status_code == 429
    assert elsewhere.status_code == 302


def test_minutes_to_wait_count_down_and_the_lock_lifts_after_the_window(client, tenant):
    person = make_person(tenant)
    start = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(3):
            _login(client, person.user.username, "nope")
        clock.shift(dt.timedelta(minutes=10, seconds=30))
        response = _login(client, person.user.username, PASSWORD)
        assert response.status_code == 429
        assert "try again in 5 minutes." in response.content.decode()
        clock.shift(dt.timedelta(minutes=4, seconds=31))
        assert _login(client, person.user.username, PASSWORD).status_code == 302


def test_a_successful_login_clears_the_usernames_failures(client, tenant):
    person = make_person(tenant)
    username = person.user.username
    for _ in range(2):
        _login(client, username, "nope", REMOTE_ADDR="10.1.0.1")
    assert _login(client, username, PASSWORD, REMOTE_ADDR="10.1.0.2").status_code == 302
    client.logout()
    # Two more failures would have locked it had the first two still counted.
    for _ in range(2):
        _login(client, username, "nope", REMOTE_ADDR="10.1.0.3")
    assert _login(client, username, PASSWORD, REMOTE_ADDR="10.1.0.4").status_code == 302


def test_usernames_are_throttled_regardless_of_case(client, tenant):
    person = make_person(tenant)
    for i in range(3):
        _login(client, person.user.username.upper(), "nope", REMOTE_ADDR=f"10.2.0.{i}")
    response = _login(client, person.user.username, PASSWORD, REMOTE_ADDR="10.2.0.9")
    assert response.status_code == 429


def test_logout_is_a_post_and_ends_the_session(client, tenant):
    person = make_person(tenant)
    client.force_login(person.user)
    assert client.get(reverse("web:logout")).status_code == 405
    response = client.post(reverse("web:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:login")
    assert "_auth_user_id" not in client.session


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('web:login')}?next=/"


def test_lockout_holds_across_web_processes_sharing_redis(client, tenant, settings, redis_server):
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server,
        }
    }
    assert type(caches["default"]).__name__ == "RedisCache"
    caches["default"].clear()
    person = make_person(tenant)
    try:
        for _ in range(3):
            _login(client, person.user.username, "nope", REMOTE_ADDR="10.9.0.1")
        # Another process (a fresh connection to the same Redis) refuses the next attempt.
        caches["default"].close()
        response = _login(client, person.user.username, PASSWORD, REMOTE_ADDR="10.9.0.2")
        assert response.status_code == 429
    finally:
        caches["default"].clear()
