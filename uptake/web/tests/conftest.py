"""Fixtures of the web tests: a clean cache (login throttle counters) and signed-in people."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from uptake.web.tests.builders import make_person


@pytest.fixture(autouse=True)
def _clean_cache() -> Any:
    # The throttle's counters live in the (process-wide) cache: no test sees another's.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def learner(tenant: Any) -> Any:

    return make_person(tenant, first_name="Lea", last_name="Learner", time_zone="UTC")


@pytest.fixture
def learner_client(client: Any, learner: Any) -> Any:
    client.force_login(learner.user)
    return client
