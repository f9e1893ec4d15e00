from __future__ import annotations

from typing import Any

import pytest

from uptake.enrollment.tests import builders


@pytest.fixture
def kit(tenant: Any) -> builders.CourseKit:
    return builders.make_course(tenant)


@pytest.fixture
def learner(tenant: Any) -> Any:
    return builders.person(tenant, first_name="Lea", last_name="Learner")


@pytest.fixture
def admin(tenant: Any) -> Any:
    return builders.admin(tenant)


@pytest.fixture
def manager(tenant: Any) -> Any:
    return builders.person(tenant, first_name="Max", last_name="Manager")
