"""The demo organisation: a generated company plus four known logins, each with a story to show.

- `admin`: platform admin, also Django superuser so /admin works;
- `author`: content owner of every course;
- `manager`: a team lead whose reports have assignments overdue, not started, in progress, done;
- `learner`: one of those reports, with an overdue, an in-progress and a completed assignment
  (each course ends with a knowledge check).
Every generated person can also sign in (username = email) with the same password.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from uptake.demo.generator import (
    DEFAULT_PASSWORD,
    ForcedEnrollment,
    GenerationSummary,
    OrgGenerator,
    PersonPlan,
)
from uptake.enrollment.models import Enrollment
from uptake.people.models import Person, PersonRole, Role
from uptake.tenancy.models import Tenant

DEMO_PASSWORD = DEFAULT_PASSWORD
MIN_PEOPLE = 25

Status = Enrollment.Status

# Login name -> what it shows, in the order they are printed.
LOGINS: dict[str, str] = {
    "admin": "platform admin (Django superuser: /admin works)",
    "author": "content owner: writes and publishes courses",
    "manager": "manager: a team with overdue, not started, in-progress and completed work",
    "learner": "learner: one overdue, one in-progress and one completed assignment",
}

# The learner's story: overdue and not started; half-way through; done.
LEARNER_ENROLLMENTS = [
    ForcedEnrollment("security-essentials", Status.ASSIGNED, assigned_days_ago=30, due_in_days=-5),
    ForcedEnrollment(
        "data-protection", Status.IN_PROGRESS, assigned_days_ago=10, due_in_days=9, steps_done=2
    ),
    ForcedEnrollment("welcome", Status.COMPLETED, assigned_days_ago=45, due_in_days=-31),
]
# The rest of the team, so the manager's screen shows every state.
TEAM_ENROLLMENTS = [
    [
        ForcedEnrollment(
            "security-essentials", Status.ASSIGNED, assigned_days_ago=40, due_in_days=-10
        ),
        ForcedEnrollment("feedback-that-helps", Status.COMPLETED, assigned_days_ago=60),
    ],
    [
        ForcedEnrollment(
            "security-essentials",
            Status.IN_PROGRESS,
            assigned_days_ago=20,
            due_in_days=3,
            steps_done=1,
        ),
        ForcedEnrollment("welcome", Status.COMPLETED, assigned_days_ago=90, due_in_days=-76),
    ],
    [
        ForcedEnrollment("security-essentials", Status.COMPLETED, assigned_days_ago=25),
        ForcedEnrollment("data-protection", Status.ASSIGNED, assigned_days_ago=2, due_in_days=20),
    ],
]
MANAGER_ENROLLMENTS = [
    ForcedEnrollment(
        "one-to-ones", Status.IN_PROGRESS, assigned_days_ago=12, due_in_days=7, steps_done=1
    ),
    ForcedEnrollment("security-essentials", Status.COMPLETED, assigned_days_ago=30),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    name: str
    job_title: str
    shows: str


@dataclass
class DemoResult:
    tenant_slug: str
    created: bool
    password: str
    logins: list[DemoLogin] = field(default_factory=list)
    summary: GenerationSummary | None = None


def seed_demo(
    *,
    people: int = 200,
    seed: int = 1,
    tenant_slug: str = "demo",
    now: dt.datetime | None = None,
) -> DemoResult:
    """Build the demo organisation once; when `tenant_slug` exists, only report its logins.

    Same seed and size give the same people. Raises ValueError for fewer than MIN_PEOPLE people.
    """
    tenant = Tenant.objects.filter(slug=tenant_slug).first()
    if tenant is not None:
        return DemoResult(
            tenant_slug=tenant_slug,
            created=False,
            password=DEMO_PASSWORD,
            logins=_existing_logins(tenant),
        )
    if people < MIN_PEOPLE:
        raise ValueError(f"The demo needs at least {MIN_PEOPLE} people to tell its stories.")
    generator = OrgGenerator(
        tenant_slug=tenant_slug,
        tenant_name="Northwind Trading" if tenant_slug == "demo" else None,
        people=people,
        seed=seed,
        password=DEMO_PASSWORD,
        now=now,
    )
    cast = _cast(generator)
    with transaction.atomic():
        summary = generator.build()
        ids = {name: generator.person_ids[plan.rank] for name, plan in cast.items()}
        PersonRole.objects.create(
            tenant_id=summary.tenant_id, person_id=ids["admin"], role=Role.PLATFORM_ADMIN
        )
        PersonRole.objects.get_or_create(
            tenant_id=summary.tenant_id, person_id=ids["author"], role=Role.CONTENT_OWNER
        )
        get_user_model().objects.filter(person__id=ids["admin"]).update(
            is_staff=True, is_superuser=True
        )
    summary.person_ids.update(ids)
    return DemoResult(
        tenant_slug=tenant_slug,
        created=True,
        password=DEMO_PASSWORD,
        logins=[
            DemoLogin(
                plan.username, f"{plan.first_name} {plan.last_name}", plan.job_title, LOGINS[n]
            )
            for n, plan in cast.items()
        ],
        summary=summary,
    )


def _cast(generator: OrgGenerator) -> dict[str, PersonPlan]:
    """Choose who plays each demo login, name their logins and script their enrolments."""
    people = generator.people
    author = people[generator.owner_rank]

    def is_team_lead(p: PersonPlan) -> bool:
        # A first-line manager: at least four reports, none of whom manage anyone.
        return len(p.reports) >= 4 and all(not people[r].reports for r in p.reports)

    leads = [p for p in people if is_team_lead(p) and author.rank not in p.reports]
    if not leads:
        raise ValueError("This organisation has no team lead with four reports; add people.")
    manager = next((p for p in leads if p.department in ("Sales", "Support")), leads[0])
    learner = people[manager.reports[0]]
    team = [people[r] for r in manager.reports[1:]]
    taken = {author.rank, manager.rank, learner.rank, *manager.reports}
    hr = [p for p in people if p.department == "HR" and p.rank not in taken and p.depth > 0]
    admin = next(
        (p for p in hr if p.role_family == "People Operations"),
        hr[0] if hr else next(p for p in people if p.rank not in taken),
    )

    generator.force(learner.rank, LEARNER_ENROLLMENTS)
    generator.force(manager.rank, MANAGER_ENROLLMENTS)
    for plan, enrollments in zip(team, TEAM_ENROLLMENTS, strict=False):
        generator.force(plan.rank, enrollments)

    cast = {"admin": admin, "author": author, "manager": manager, "learner": learner}
    user_model = get_user_model()
    for name, plan in cast.items():
        # Another demo tenant may already own the short name: fall back to a prefixed one.
        taken_name = user_model.objects.filter(username=name).exists()
        plan.username = f"{generator.tenant_slug}-{name}" if taken_name else name
    return cast


def _existing_logins(tenant: Tenant) -> list[DemoLogin]:
    names = {n: n for n in LOGINS} | {f"{tenant.slug}-{n}": n for n in LOGINS}
    found = {
        p.user.username: p
        for p in Person.objects.filter(
            tenant=tenant, user__username__in=list(names)
        ).select_related("user")
        if p.user is not None
    }
    return [
        DemoLogin(username, p.full_name, p.job_title, LOGINS[names[username]])
        for username, p in sorted(found.items(), key=lambda kv: list(LOGINS).index(names[kv[0]]))
    ]
