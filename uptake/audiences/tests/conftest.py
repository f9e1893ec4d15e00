"""People with roles in a tenant, for the audiences' tests."""

from __future__ import annotations

import pytest

from tests.factories import PersonFactory, grant
from uptake.people.rules import DATA_STEWARD, PLATFORM_ADMIN


@pytest.fixture
def admin(tenant):  # type: ignore[no-untyped-def]
    return grant(
        PersonFactory(tenant=tenant, first_name="Ada", last_name="Admin", department="HR"),
        PLATFORM_ADMIN,
    )


@pytest.fixture
def steward(tenant):  # type: ignore[no-untyped-def]
    return grant(
        PersonFactory(tenant=tenant, first_name="Sam", last_name="Steward", department="HR"),
        DATA_STEWARD,
    )
