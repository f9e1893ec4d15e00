"""Test set-up shared by every app: real local services and factories."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# pytest-django may read settings before this file runs: the fixture below is what counts.
os.environ.setdefault("UPTAKE_TESTING", "1")

pytest_plugins = ["tests.plugins.services"]

# Property tests check results, not speed: on a busy CI machine (or beside benchmarks) input
# generation and examples can be slow without anything being wrong.
hypothesis_settings.register_profile(
    "uptake", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("uptake")


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "email"],
        }
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def tenant(db):  # type: ignore[no-untyped-def]
    from tests.factories import TenantFactory

    return TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def other_tenant(db):  # type: ignore[no-untyped-def]
    from tests.factories import TenantFactory

    return TenantFactory(name="Globex", slug="globex")
