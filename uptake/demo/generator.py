"""A deterministic generator of realistic organisations, from a 200-person demo to a 100,000-person,
1,000,000-enrolment benchmark.

Contract:
- Same arguments (seed, size, tenant slug) and the same `now` give the same rows, field for field
  (ids aside): every random choice comes from `random.Random` instances seeded from `seed`.
- It writes rows directly in batches of 5,000 (small catalogue tables with `bulk_create`, the big
  ones with batched INSERTs of ready-made tuples, ~10x cheaper per row than model instances), with
  no per-row services, no domain events and no per-user password hashing (every generated login
  shares one precomputed hash), inside one transaction: a failure leaves nothing behind.
- The organisation is one tree: CEO -> department heads -> directors -> managers -> individual
  contributors, span of control 6-10, reports in their manager's department.
- Enrolments are consistent: status, dates, `progress_percent`, ActivityCompletion rows, attempts
  and LearningEvent rows agree. Beyond `detail_limit` enrolments (bench scale) per-activity rows
  (completions, attempts, activity events) are skipped; status, dates, progress_percent and the
  course-level events stay consistent.

Usage:
    gen = OrgGenerator(tenant_slug="demo", people=200, seed=1)
    summary = gen.build()
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import random
import time
import unicodedata
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from uptake.analytics import rollups
from uptake.analytics.models import LearningEvent, Verb
from uptake.catalog.models import Activity, Choice, Course, Module, Question
from uptake.core import bulk, clock
from uptake.core.actor import Actor
from uptake.demo.content import COURSES, CourseSpec
from uptake.demo.org import (
    DEPARTMENTS,
    EMPLOYMENT_TYPES,
    FIRST_NAMES,
    LAST_NAMES,
    LOCATIONS,
    Department,
    Location,
)
from uptake.enrollment.models import Enrollment
from uptake.people.models import Person, PersonRole, Role
from uptake.progress.models import ActivityCompletion, Attempt
from uptake.progress.rules import course_percent
from uptake.tenancy.models import Tenant
from uptake.tenancy.services import create_tenant

T = TypeVar("T")

DEFAULT_PASSWORD = "uptake-demo"
BATCH_SIZE = 5_000
HISTORY_DAYS = 8 * 365  # hire dates spread over about eight years
ASSIGNMENT_DAYS = 180  # enrolments assigned over the last six months

# Status shares of generated enrolments.
STATUS_SHARES: tuple[tuple[str, float], ...] = (
    (Enrollment.Status.ASSIGNED, 0.25),
    (Enrollment.Status.IN_PROGRESS, 0.35),
    (Enrollment.Status.COMPLETED, 0.35),
    (Enrollment.Status.WITHDRAWN, 0.05),
)
SOURCE_SHARES: tuple[tuple[str, float], ...] = (
    (Enrollment.Source.RULE, 0.50),
    (Enrollment.Source.MANUAL, 0.35),
    (Enrollment.Source.SELF, 0.15),
)


# --- Plans: pure data decided before anything is written -----------------------------------


@dataclass
class PersonPlan:
    rank: int  # insertion order: managers always come before their reports
    employee_id: str
    first_name: str
    last_name: str
    email: str
    username: str
    job_title: str
    role_family: str
    department: str
    location: Location
    hire_date: dt.date
    manager_rank: int | None
    depth: int  # 0 = CEO
    employment_type: str
    custom: dict[str, str]
    reports: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ForcedEnrollment:
    """An enrolment the caller wants exactly (the demo's scripted learner and team).

    `due_in_days` is relative to now (negative: already past); `steps_done` counts activities
    completed in course order (None: all for completed, none otherwise).
    """

    course_slug: str
    status: str
    assigned_days_ago: int
    due_in_days: int | None = None
    steps_done: int | None = None
    source: str = Enrollment.Source.MANUAL


@dataclass(frozen=True)
class EnrollmentPlan:
    course_index: int
    status: str
    source: str
    assigned_at: dt.datetime
    due_at: dt.datetime | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    steps_done: int
    # Time of the last touch (in progress): the learner stopped here.
    last_touch_at: dt.datetime | None


@dataclass
class _QuestionInfo:
    id: int
    kind: str
    correct_choice_ids: list[int]
    wrong_choice_ids: list[int]
    accepted: list[str]
    correct_feedback: str
    incorrect_feedback: str


@dataclass
class _ActivityInfo:
    id: int
    kind: str
    required: bool
    questions: list[_QuestionInfo] = field(default_factory=list)


@dataclass
class _CourseInfo:
    id: int
    slug: str
    activities: list[_ActivityInfo]

    @property
    def required_total(self) -> int:
        return sum(1 for a in self.activities if a.required)


@dataclass
class GenerationSummary:
    """What a run wrote, and how long each phase took (seconds)."""

    tenant_id: int
    tenant_slug: str
    people: int = 0
    users: int = 0
    managers: int = 0
    max_depth: int = 0
    courses: int = 0
    modules: int = 0
    activities: int = 0
    questions: int = 0
    enrollments: int = 0
    enrollments_by_status: dict[str, int] = field(default_factory=dict)
    completions: int = 0
    attempts: int = 0
    events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    person_ids: dict[str, int] = field(default_factory=dict)  # named people: "content_owner"...

    def describe(self) -> str:
        statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(self.enrollments_by_status.items()))
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        return (
            f"tenant {self.tenant_slug}: {self.people:,} people ({self.managers:,} managers, "
            f"depth {self.max_depth}), {self.courses} courses / {self.activities} activities / "
            f"{self.questions} questions, {self.enrollments:,} enrolments ({statuses}), "
            f"{self.completions:,} completions, {self.attempts:,} attempts, "
            f"{self.events:,} events; {timings}"
        )


def _render_markdown(text: str) -> str:
    # The catalogue's renderer sanitises Markdown into HTML; until it exists, escape and wrap.
    try:
        from uptake.catalog.rendering import render_markdown
    except ImportError:
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return str(render_markdown(text))


class _Weighted:
    """A weighted choice with the cumulative weights summed once (it runs millions of times)."""

    def __init__(self, options: Sequence[tuple[Any, float]]) -> None:
        self.values = [o for o, _ in options]
        self.cumulative = list(itertools.accumulate(w for _, w in options))

    def pick(self, rng: random.Random) -> Any:
        return rng.choices(self.values, cum_weights=self.cumulative)[0]


_STATUS = _Weighted(STATUS_SHARES)
_SOURCE = _Weighted(SOURCE_SHARES)
_EMPLOYMENT = _Weighted(EMPLOYMENT_TYPES)
_LOCATION = _Weighted([(loc, loc.weight) for loc in LOCATIONS])


class OrgGenerator:
    """Plans an organisation in memory at construction, writes it with `build()`."""

    def __init__(
        self,
        *,
        tenant_slug: str,
        people: int,
        seed: int = 1,
        tenant_name: str | None = None,
        courses: int | None = None,
        enrollments_per_person: tuple[int, int] = (2, 5),
        detail_limit: int | None = None,
        password: str = DEFAULT_PASSWORD,
        now: dt.datetime | None = None,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if people < 1:
            raise ValueError("An organisation needs at least one person.")
        self.tenant_slug = tenant_slug
        self.tenant_name = tenant_name or f"{tenant_slug.replace('-', ' ').title()} Corp"
        self.seed = seed
        self.now = (now or clock.now()).astimezone(dt.UTC)
        self.today = self.now.date()
        self.enrollments_per_person = enrollments_per_person
        self.detail_limit = detail_limit
        self.password = password
        self.batch_size = batch_size
        self._progress = progress or (lambda _msg: None)
        self.domain = f"{tenant_slug}.example.com"
        self.people: list[PersonPlan] = self._plan_people(people, random.Random(f"{seed}:people"))
        self.course_specs: list[tuple[CourseSpec, str, str]] = self._plan_courses(
            courses if courses is not None else len(COURSES)
        )
        self._steps = [sum(len(m.activities) for m in c[0].modules) for c in self.course_specs]
        self.owner_rank = self._pick_content_owner()
        self.forced: dict[int, list[ForcedEnrollment]] = {}

    # --- planning ------------------------------------------------------------------------

    def _plan_people(self, n: int, rng: random.Random) -> list[PersonPlan]:
        # Build the tree with provisional ids, then order by depth so every manager is inserted
        # (and has a primary key) before any of their reports.
        heads = list(DEPARTMENTS[: min(len(DEPARTMENTS), n - 1)])
        dept_of: list[Department | None] = [None]  # provisional id 0 = CEO
        parent: list[int | None] = [None]
        depth: list[int] = [0]
        for dept in heads:
            dept_of.append(dept)
            parent.append(0)
            depth.append(1)
        members: dict[str, list[int]] = {d.name: [] for d in heads}
        weights = _Weighted([(d, d.weight) for d in heads])
        for _ in range(n - 1 - len(heads)):
            dept = weights.pick(rng)
            members[dept.name].append(len(dept_of))
            dept_of.append(dept)
            parent.append(None)
            depth.append(0)
        for head_id, dept in enumerate(heads, start=1):
            queue: deque[int] = deque([head_id])
            pool = members[dept.name]
            taken = 0
            while taken < len(pool):
                boss = queue.popleft()
                span = rng.randint(6, 10)
                for child in pool[taken : taken + span]:
                    parent[child] = boss
                    depth[child] = depth[boss] + 1
                    queue.append(child)
                taken += span

        order = sorted(range(n), key=lambda i: depth[i])
        rank_of = {pid: rank for rank, pid in enumerate(order)}
        has_reports = Counter(p for p in parent if p is not None)
        grand_reports = {p for i, p in enumerate(parent) if p is not None and has_reports[i]}

        plans: list[PersonPlan] = []
        email_seen: Counter[str] = Counter()
        family_of: dict[int, tuple[str, tuple[str, ...]]] = {}
        for rank, pid in enumerate(order):
            unit = dept_of[pid]
            boss_id = parent[pid]
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            local = f"{_ascii(first)}.{_ascii(last)}"
            email_seen[local] += 1
            if email_seen[local] > 1:
                local = f"{local}{email_seen[local]}"
            email = f"{local}@{self.domain}"
            if boss_id is not None and depth[pid] > 1 and rng.random() < 0.6:
                location = plans[rank_of[boss_id]].location
            else:
                location = _LOCATION.pick(rng)
            if depth[pid] <= 1:
                days_ago = rng.randint(HISTORY_DAYS // 2, HISTORY_DAYS)
            else:
                # More recent hires than old ones: the organisation grows.
                days_ago = int(HISTORY_DAYS * rng.random() ** 1.7)
            hire = self.today - dt.timedelta(days=days_ago)
            if unit is None:
                family, title, department, level = (
                    "Executive",
                    "Chief Executive Officer",
                    "Operations",
                    "E2",
                )
            elif depth[pid] == 1:
                family, title, department, level = "Leadership", unit.head_title, unit.name, "E1"
            else:
                inherited = family_of.get(boss_id) if boss_id is not None else None
                fam = inherited if inherited and rng.random() < 0.8 else rng.choice(unit.families)
                family_of[pid] = fam
                family, department = fam[0], unit.name
                if has_reports[pid] and depth[pid] == 2:
                    title, level = f"Director, {family}", "M3"
                elif pid in grand_reports:
                    title, level = f"Senior {family} Manager", "M2"
                elif has_reports[pid]:
                    title, level = f"{family} Manager", "M1"
                else:
                    title = rng.choice(fam[1])
                    years = days_ago / 365
                    level = (
                        "L1"
                        if years < 1
                        else "L2"
                        if years < 2.5
                        else "L3"
                        if years < 4.5
                        else "L4"
                    )
                    if title.startswith(("Senior", "Staff")):
                        level = "L5" if level == "L4" else "L4"
            employment = (
                "full_time" if has_reports[pid] or depth[pid] <= 1 else _EMPLOYMENT.pick(rng)
            )
            code = unit.code if unit is not None else "EXE"
            plans.append(
                PersonPlan(
                    rank=rank,
                    employee_id=f"E{rank + 1:06d}",
                    first_name=first,
                    last_name=last,
                    email=email,
                    username=email.lower(),
                    job_title=title,
                    role_family=family,
                    department=department,
                    location=location,
                    hire_date=hire,
                    manager_rank=rank_of[boss_id] if boss_id is not None else None,
                    depth=depth[pid],
                    employment_type=employment,
                    custom={"cost_centre": f"CC-{code}-{location.code}", "level": level},
                )
            )
        for plan in plans:
            if plan.manager_rank is not None:
                plans[plan.manager_rank].reports.append(plan.rank)
        return plans

    def _plan_courses(self, count: int) -> list[tuple[CourseSpec, str, str]]:
        planned = []
        for i in range(count):
            spec = COURSES[i % len(COURSES)]
            edition = i // len(COURSES)
            if edition == 0:
                planned.append((spec, spec.title, spec.slug))
            else:
                planned.append(
                    (spec, f"{spec.title} ({edition + 1})", f"{spec.slug}-{edition + 1}")
                )
        return planned

    def _pick_content_owner(self) -> int:
        """A learning-and-development specialist in HR (made one if the org has none)."""
        candidates = [p for p in self.people if p.department == "HR" and not p.reports]
        candidates = candidates or [p for p in self.people if not p.reports] or self.people
        chosen = next(
            (p for p in candidates if p.role_family == "Learning and Development"), candidates[0]
        )
        if chosen.depth > 1:
            chosen.role_family = "Learning and Development"
            chosen.job_title = "Learning Experience Designer"
        return chosen.rank

    def force(self, rank: int, enrollments: list[ForcedEnrollment]) -> None:
        """Give the person at `rank` exactly these enrolments instead of random ones."""
        self.forced[rank] = enrollments

    def _plan_enrollments(self, person: PersonPlan, rng: random.Random) -> list[EnrollmentPlan]:
        # Always draw from the generator, even for forced people, so forcing one person never
        # changes anybody else's enrolments.
        low, high = self.enrollments_per_person
        count = min(len(self.course_specs), rng.randint(low, high))
        picks = rng.sample(range(len(self.course_specs)), count)
        hired_at = dt.datetime.combine(person.hire_date, dt.time(9), tzinfo=dt.UTC)
        plans = [self._random_enrollment(rng, idx, hired_at) for idx in picks]
        if person.rank in self.forced:
            return [self._forced_enrollment(f) for f in self.forced[person.rank]]
        return plans

    def _random_enrollment(
        self, rng: random.Random, course_index: int, hired_at: dt.datetime
    ) -> EnrollmentPlan:
        now = self.now
        earliest = max(now - dt.timedelta(days=ASSIGNMENT_DAYS), min(hired_at, now))
        window = (now - earliest).total_seconds()
        # Skewed towards recent assignments.
        assigned_at = now - dt.timedelta(seconds=window * rng.random() ** 1.5)
        source = _SOURCE.pick(rng)
        due_at = None
        if source != Enrollment.Source.SELF and rng.random() < 0.85:
            due_at = assigned_at + dt.timedelta(days=rng.choice((14, 21, 30, 45, 60)))
        status = _STATUS.pick(rng)
        n_steps = self._step_count(course_index)
        started = completed = withdrawn = last_touch = None
        steps = 0
        elapsed = (now - assigned_at).total_seconds()
        if status in (Enrollment.Status.IN_PROGRESS, Enrollment.Status.COMPLETED):
            started = assigned_at + dt.timedelta(seconds=elapsed * rng.random() * 0.5)
            remaining = (now - started).total_seconds()
            if status == Enrollment.Status.COMPLETED:
                steps = n_steps
                limit = remaining
                if due_at is not None and due_at > started and rng.random() < 0.8:
                    limit = min(limit, (due_at - started).total_seconds())
                completed = started + dt.timedelta(seconds=max(60.0, limit * rng.random()))
                completed = min(completed, now)
            else:
                steps = rng.randint(1, max(1, n_steps - 1))
                last_touch = started + dt.timedelta(seconds=remaining * rng.random())
        elif status == Enrollment.Status.WITHDRAWN:
            withdrawn = assigned_at + dt.timedelta(seconds=elapsed * rng.random())
        return EnrollmentPlan(
            course_index=course_index,
            status=status,
            source=source,
            assigned_at=assigned_at,
            due_at=due_at,
            started_at=started,
            completed_at=completed,
            withdrawn_at=withdrawn,
            steps_done=steps,
            last_touch_at=last_touch,
        )

    def _step_count(self, course_index: int) -> int:
        return self._steps[course_index]

    def _forced_enrollment(self, forced: ForcedEnrollment) -> EnrollmentPlan:
        index = next(i for i, c in enumerate(self.course_specs) if c[2] == forced.course_slug)
        n_steps = self._step_count(index)
        assigned_at = self.now - dt.timedelta(days=forced.assigned_days_ago)
        due_at = (
            self.now + dt.timedelta(days=forced.due_in_days)
            if forced.due_in_days is not None
            else None
        )
        started = completed = withdrawn = last_touch = None
        steps = 0
        span = self.now - assigned_at
        if forced.status == Enrollment.Status.COMPLETED:
            steps = n_steps
            started = assigned_at + span / 4
            completed = assigned_at + span / 2
        elif forced.status == Enrollment.Status.IN_PROGRESS:
            steps = forced.steps_done if forced.steps_done is not None else 1
            steps = max(1, min(steps, n_steps - 1))
            started = assigned_at + span / 4
            last_touch = assigned_at + span * 3 / 4
        elif forced.status == Enrollment.Status.WITHDRAWN:
            withdrawn = assigned_at + span / 2
        return EnrollmentPlan(
            course_index=index,
            status=forced.status,
            source=forced.source,
            assigned_at=assigned_at,
            due_at=due_at,
            started_at=started,
            completed_at=completed,
            withdrawn_at=withdrawn,
            steps_done=steps,
            last_touch_at=last_touch,
        )

    # --- writing -------------------------------------------------------------------------

    def build(self) -> GenerationSummary:
        """Write the planned organisation in one transaction; returns counts and timings."""
        started = time.perf_counter()
        self._ts_fn = _datetime_adapter()
        with transaction.atomic(), bulk.page_cache(512 * 1024):
            tenant = create_tenant(
                actor=Actor.system("demo generator"),
                name=self.tenant_name,
                slug=self.tenant_slug,
                time_zone="Europe/London",
                language="en",
            )
            summary = GenerationSummary(tenant_id=tenant.pk, tenant_slug=tenant.slug)
            self._timed(summary, "people", lambda: self._write_people(tenant, summary))
            self._timed(summary, "courses", lambda: self._write_courses(tenant, summary))
            self._timed(summary, "enrollments", lambda: self._write_enrollments(tenant, summary))
            # The events were inserted directly: bring the analytics rollups in step with them.
            self._timed(summary, "analytics", lambda: self._rebuild_rollups(tenant))
        summary.seconds["total"] = time.perf_counter() - started
        return summary

    def _rebuild_rollups(self, tenant: Tenant) -> None:
        rollups.rebuild(tenant_id=tenant.pk)

    def _timed(self, summary: GenerationSummary, name: str, step: Callable[[], None]) -> None:
        t0 = time.perf_counter()
        step()
        summary.seconds[name] = time.perf_counter() - t0
        self._progress(f"{name}: {summary.seconds[name]:.1f}s")

    def _write_people(self, tenant: Tenant, summary: GenerationSummary) -> None:
        user_model = get_user_model()
        password_hash = make_password(self.password)  # once: hashing per user would take hours
        ts = self._ts_fn(self.now)
        users = _Table(
            user_model,
            "username email first_name last_name password is_active is_staff is_superuser "
            "date_joined",
        )
        for chunk in _chunks(self.people, self.batch_size):
            users.insert(
                [
                    (
                        p.username,
                        p.email,
                        p.first_name,
                        p.last_name,
                        password_hash,
                        True,
                        False,
                        False,
                        ts,
                    )
                    for p in chunk
                ]
            )
        user_ids: dict[str, int] = {}
        for names in _chunks([p.username for p in self.people], _ID_LOOKUP):
            user_ids.update(
                user_model.objects.filter(username__in=names).values_list("username", "pk")
            )
        self.user_ids = [user_ids[p.username] for p in self.people]

        people = _Table(
            Person,
            "tenant user employee_id email first_name last_name job_title role_family department "
            "location country time_zone language hire_date manager employment_type is_active "
            "custom created_at updated_at",
        )
        adapt_date = connection.ops.adapt_datefield_value
        self.person_ids: list[int] = []
        # Level by level, so each manager's primary key exists before the reports are written.
        for level in _chunks_by(self.people, lambda p: p.depth, self.batch_size):
            people.insert(
                [
                    (
                        tenant.pk,
                        self.user_ids[p.rank],
                        p.employee_id,
                        p.email,
                        p.first_name,
                        p.last_name,
                        p.job_title,
                        p.role_family,
                        p.department,
                        p.location.name,
                        p.location.country,
                        p.location.time_zone,
                        p.location.language,
                        adapt_date(p.hire_date),
                        self.person_ids[p.manager_rank] if p.manager_rank is not None else None,
                        p.employment_type,
                        True,
                        json.dumps(p.custom),
                        ts,
                        ts,
                    )
                    for p in level
                ]
            )
            # Employee ids follow the insertion order, so one range query finds the new keys.
            ids = dict(
                Person.objects.filter(
                    tenant=tenant,
                    employee_id__gte=level[0].employee_id,
                    employee_id__lte=level[-1].employee_id,
                ).values_list("employee_id", "pk")
            )
            self.person_ids.extend(ids[p.employee_id] for p in level)
        PersonRole.objects.create(
            tenant=tenant, person_id=self.person_ids[self.owner_rank], role=Role.CONTENT_OWNER
        )
        summary.people = summary.users = len(self.people)
        summary.managers = sum(1 for p in self.people if p.reports)
        summary.max_depth = max(p.depth for p in self.people)
        summary.person_ids["content_owner"] = self.person_ids[self.owner_rank]

    def _write_courses(self, tenant: Tenant, summary: GenerationSummary) -> None:
        owner_id = self.person_ids[self.owner_rank]
        published_at = self.now - dt.timedelta(days=ASSIGNMENT_DAYS + 30)
        courses = [
            Course(
                tenant=tenant,
                title=title,
                slug=slug,
                summary=spec.summary,
                description=spec.description,
                status=Course.Status.PUBLISHED,
                owner_id=owner_id,
                estimated_minutes=spec.minutes,
                language="en",
                tags=list(spec.tags),
                is_open=True,
                published_at=published_at,
            )
            for spec, title, slug in self.course_specs
        ]
        Course.objects.bulk_create(courses, batch_size=self.batch_size)
        modules: list[Module] = []
        for course, (spec, _t, _s) in zip(courses, self.course_specs, strict=True):
            for pos, module_spec in enumerate(spec.modules, start=1):
                modules.append(
                    Module(tenant=tenant, course=course, title=module_spec.title, position=pos)
                )
        Module.objects.bulk_create(modules, batch_size=self.batch_size)
        activities: list[Activity] = []
        rendered: dict[str, str] = {}
        module_iter = iter(modules)
        for course, (spec, _t, _s) in zip(courses, self.course_specs, strict=True):
            pos = 0
            for module_spec in spec.modules:
                module = next(module_iter)
                for a in module_spec.activities:
                    pos += 1
                    if a.body and a.body not in rendered:
                        rendered[a.body] = _render_markdown(a.body)
                    activities.append(
                        Activity(
                            tenant=tenant,
                            module=module,
                            course=course,
                            kind=a.kind,
                            title=a.title,
                            position=pos,
                            required=a.required,
                            estimated_minutes=a.minutes,
                            body=a.body,
                            body_html=rendered.get(a.body, ""),
                            url=a.url,
                            pass_mark=80,
                            attempts_allowed=3 if a.kind == Activity.Kind.QUIZ else 0,
                        )
                    )
        Activity.objects.bulk_create(activities, batch_size=self.batch_size)
        questions: list[tuple[Question, Any]] = []
        act_iter = iter(activities)
        for spec, _t, _s in self.course_specs:
            for module_spec in spec.modules:
                for a in module_spec.activities:
                    activity = next(act_iter)
                    for qpos, q in enumerate(a.questions, start=1):
                        questions.append(
                            (
                                Question(
                                    tenant=tenant,
                                    activity=activity,
                                    kind=q.kind,
                                    prompt=q.prompt,
                                    position=qpos,
                                    points=1,
                                    accepted_answers=list(q.accepted),
                                    correct_feedback=q.correct_feedback,
                                    incorrect_feedback=q.incorrect_feedback,
                                ),
                                q,
                            )
                        )
        Question.objects.bulk_create([q for q, _ in questions], batch_size=self.batch_size)
        choices: list[Choice] = []
        for question, q in questions:
            for cpos, c in enumerate(q.choices, start=1):
                choices.append(
                    Choice(
                        tenant=tenant,
                        question=question,
                        text=c.text,
                        is_correct=c.correct,
                        feedback=c.feedback,
                        position=cpos,
                    )
                )
        Choice.objects.bulk_create(choices, batch_size=self.batch_size)

        # What enrolments need to know about each course, without touching the database again.
        q_by_activity: dict[int, list[_QuestionInfo]] = {}
        choices_by_question: dict[int, list[Choice]] = {}
        for choice in choices:
            choices_by_question.setdefault(choice.question_id, []).append(choice)
        for question, q in questions:
            cs = choices_by_question.get(question.pk, [])
            q_by_activity.setdefault(question.activity_id, []).append(
                _QuestionInfo(
                    id=question.pk,
                    kind=q.kind,
                    correct_choice_ids=[c.pk for c in cs if c.is_correct],
                    wrong_choice_ids=[c.pk for c in cs if not c.is_correct],
                    accepted=list(q.accepted),
                    correct_feedback=q.correct_feedback,
                    incorrect_feedback=q.incorrect_feedback,
                )
            )
        by_course: dict[int, list[_ActivityInfo]] = {}
        for activity in activities:
            by_course.setdefault(activity.course_id, []).append(
                _ActivityInfo(
                    id=activity.pk,
                    kind=activity.kind,
                    required=activity.required,
                    questions=q_by_activity.get(activity.pk, []),
                )
            )
        self.course_info = [
            _CourseInfo(id=c.pk, slug=c.slug, activities=by_course.get(c.pk, [])) for c in courses
        ]
        summary.courses = len(courses)
        summary.modules = len(modules)
        summary.activities = len(activities)
        summary.questions = len(questions)

    def _write_enrollments(self, tenant: Tenant, summary: GenerationSummary) -> None:
        rng = random.Random(f"{self.seed}:enrollments")
        detail_rng = random.Random(f"{self.seed}:details")
        by_status: Counter[str] = Counter()
        ts = self._ts_fn(self.now)
        enrollments = _Table(
            Enrollment,
            "tenant person course source status assigned_at assigned_by due_at started_at "
            "completed_at withdrawn_at last_activity_at last_activity progress_percent "
            "created_at updated_at",
        )
        self._completion_table = _Table(
            ActivityCompletion, "tenant enrollment activity completed_at created_at updated_at"
        )
        self._attempt_table = _Table(
            Attempt,
            "tenant enrollment activity number answers results score_percent passed "
            "submitted_at created_at updated_at",
        )
        self._event_table = _Table(
            LearningEvent,
            "tenant person verb object_type object_id course_id occurred_at value data",
        )
        self._completions: list[tuple[Any, ...]] = []
        self._attempts: list[tuple[Any, ...]] = []
        self._events: list[tuple[Any, ...]] = []
        pending_rows: list[tuple[Any, ...]] = []
        pending: list[tuple[EnrollmentPlan, int]] = []
        detailed = 0
        tid = tenant.pk
        adapt = self._ts_fn

        def flush() -> None:
            nonlocal detailed
            enrollments.insert(pending_rows)
            full_count = (
                len(pending)
                if self.detail_limit is None
                else max(0, min(len(pending), self.detail_limit - detailed))
            )
            ids: dict[tuple[int, int], int] = {}
            if full_count:
                # Per-activity rows need the enrolments' keys: read them back, by person.
                people = sorted({person_id for _, person_id in pending[:full_count]})
                for chunk in _chunks(people, _ID_LOOKUP):
                    for pk, person_id, course_id in Enrollment.objects.filter(
                        tenant_id=tid, person_id__in=chunk
                    ).values_list("pk", "person_id", "course_id"):
                        ids[(person_id, course_id)] = pk
            for i, (plan, person_id) in enumerate(pending):
                course = self.course_info[plan.course_index]
                enrollment_id = ids.get((person_id, course.id)) if i < full_count else None
                self._details(tid, enrollment_id, plan, person_id, detail_rng)
            detailed += full_count
            summary.enrollments += len(pending)
            pending.clear()
            pending_rows.clear()
            self._flush_details(summary, force=False)
            if summary.enrollments % (self.batch_size * 20) < self.batch_size:
                self._progress(f"  {summary.enrollments:,} enrolments")

        for person in self.people:
            person_id = self.person_ids[person.rank]
            manager_id = (
                self.person_ids[person.manager_rank] if person.manager_rank is not None else None
            )
            for plan in self._plan_enrollments(person, rng):
                course = self.course_info[plan.course_index]
                last_activity_id = None
                last_activity_at = None
                if plan.status == Enrollment.Status.IN_PROGRESS:
                    # The learner opened the next activity and left: "continue where I left off".
                    last_activity_id = course.activities[plan.steps_done].id
                    last_activity_at = plan.last_touch_at
                    done_required = sum(
                        1 for a in course.activities[: plan.steps_done] if a.required
                    )
                    progress = course_percent(done_required, course.required_total)
                elif plan.status == Enrollment.Status.COMPLETED:
                    last_activity_id = course.activities[-1].id
                    last_activity_at = plan.completed_at
                    progress = 100
                else:
                    progress = 0
                pending_rows.append(
                    (
                        tid,
                        person_id,
                        course.id,
                        plan.source,
                        plan.status,
                        adapt(plan.assigned_at),
                        manager_id if plan.source == Enrollment.Source.MANUAL else None,
                        adapt(plan.due_at),
                        adapt(plan.started_at),
                        adapt(plan.completed_at),
                        adapt(plan.withdrawn_at),
                        adapt(last_activity_at),
                        last_activity_id,
                        progress,
                        ts,
                        ts,
                    )
                )
                pending.append((plan, person_id))
                by_status[plan.status] += 1
            if len(pending) >= self.batch_size:
                flush()
        if pending:
            flush()
        self._flush_details(summary, force=True)
        summary.enrollments_by_status = dict(by_status)

    def _details(
        self,
        tenant_id: int,
        enrollment_id: int | None,
        plan: EnrollmentPlan,
        person_id: int,
        rng: random.Random,
    ) -> None:
        """Events for one enrolment; with its key, also completions and attempts."""
        course = self.course_info[plan.course_index]
        adapt = self._ts_fn
        events = self._events

        def event(
            verb: str,
            at: dt.datetime,
            object_type: str = "course",
            object_id: int | None = None,
            value: float | None = None,
            data: str = "{}",
        ) -> None:
            events.append(
                (
                    tenant_id,
                    person_id,
                    verb,
                    object_type,
                    course.id if object_id is None else object_id,
                    course.id,
                    adapt(at),
                    value,
                    data,
                )
            )

        event(Verb.ASSIGNED, plan.assigned_at, data=_SOURCE_DATA[plan.source])
        if plan.withdrawn_at is not None:
            event(Verb.WITHDRAWN, plan.withdrawn_at)
            return
        if plan.started_at is None:
            return
        if enrollment_id is None:
            event(Verb.LAUNCHED, plan.started_at, "activity", course.activities[0].id)
            if plan.completed_at is not None:
                event(Verb.COURSE_COMPLETED, plan.completed_at, value=100.0)
            return
        end = plan.completed_at or plan.last_touch_at or plan.started_at
        steps = max(1, plan.steps_done)
        span = end - plan.started_at
        ts = adapt(self.now)
        for i, activity in enumerate(course.activities[: plan.steps_done]):
            done_at = plan.started_at + span * (i + 1) / (steps + 1)
            event(Verb.LAUNCHED, done_at - dt.timedelta(minutes=3), "activity", activity.id)
            if activity.kind == Activity.Kind.QUIZ:
                failed_first = rng.random() < 0.2
                if failed_first:
                    self._attempt(tenant_id, enrollment_id, activity, 1, False, done_at, event)
                number = 2 if failed_first else 1
                self._attempt(tenant_id, enrollment_id, activity, number, True, done_at, event)
            else:
                event(Verb.ACTIVITY_COMPLETED, done_at, "activity", activity.id)
            self._completions.append(
                (tenant_id, enrollment_id, activity.id, adapt(done_at), ts, ts)
            )
        if plan.status == Enrollment.Status.IN_PROGRESS and plan.last_touch_at is not None:
            nxt = course.activities[plan.steps_done]
            event(Verb.LAUNCHED, plan.last_touch_at, "activity", nxt.id)
        if plan.completed_at is not None:
            event(Verb.COURSE_COMPLETED, plan.completed_at, value=100.0)

    def _attempt(
        self,
        tenant_id: int,
        enrollment_id: int,
        activity: _ActivityInfo,
        number: int,
        passed: bool,
        at: dt.datetime,
        event: Callable[..., None],
    ) -> None:
        answers: dict[str, Any] = {}
        results: dict[str, Any] = {}
        for i, q in enumerate(activity.questions):
            right = passed or i > 0  # a failed attempt gets the first question wrong
            answers[str(q.id)] = _answer(q, right)
            results[str(q.id)] = {
                "correct": right,
                "feedback": q.correct_feedback if right else q.incorrect_feedback,
            }
        total = len(activity.questions) or 1
        score = round(100 * sum(1 for r in results.values() if r["correct"]) / total)
        submitted = at - dt.timedelta(minutes=0 if passed else 5)
        ts = self._ts_fn(self.now)
        self._attempts.append(
            (
                tenant_id,
                enrollment_id,
                activity.id,
                number,
                json.dumps(answers),
                json.dumps(results),
                score,
                passed,
                self._ts_fn(submitted),
                ts,
                ts,
            )
        )
        event(Verb.ATTEMPT_SUBMITTED, submitted, "activity", activity.id, float(score))
        event(
            Verb.PASSED if passed else Verb.FAILED, submitted, "activity", activity.id, float(score)
        )

    def _flush_details(self, summary: GenerationSummary, *, force: bool) -> None:
        if self._completions and (force or len(self._completions) >= self.batch_size):
            self._completion_table.insert(self._completions)
            summary.completions += len(self._completions)
            self._completions = []
        if self._attempts and (force or len(self._attempts) >= self.batch_size):
            self._attempt_table.insert(self._attempts)
            summary.attempts += len(self._attempts)
            self._attempts = []
        if self._events and (force or len(self._events) >= self.batch_size):
            self._event_table.insert(self._events)
            summary.events += len(self._events)
            self._events = []


def _datetime_adapter() -> Callable[[dt.datetime | None], Any]:
    """Datetimes as the database takes them (Django's adapter costs 10x more per call)."""
    if connection.vendor != "sqlite":
        return lambda value: value

    def to_sqlite(value: dt.datetime | None) -> str | None:
        # Django stores aware datetimes in SQLite as naive UTC text. Every datetime here derives
        # from `now` in UTC, so dropping the "+00:00" suffix is enough.
        if value is None:
            return None
        return value.isoformat(" ")[:-6]

    return to_sqlite


_SOURCE_DATA = {source: json.dumps({"source": source}) for source in Enrollment.Source.values}
# Keys read back per query: well under every database's limit on query parameters.
_ID_LOOKUP = 900


class _Table:
    """Batched multi-row INSERTs of values already adapted for the database.

    Bulk inserts through model instances cost ~10x more per row (instantiation, per-field
    preparation); at a million enrolments that is the difference between minutes and an hour.
    Rows are tuples in the order of `fields` (model field names; foreign keys by name).
    """

    def __init__(self, model: Any, fields: str, batch_size: int = BATCH_SIZE) -> None:
        qn = connection.ops.quote_name
        columns = [model._meta.get_field(name).column for name in fields.split()]
        placeholders = ", ".join(["%s"] * len(columns))
        # Identifiers come from model metadata and are quoted; values are parameters.
        table = qn(model._meta.db_table)
        names = ", ".join(qn(c) for c in columns)
        self.sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
        self.batch_size = batch_size

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        with connection.cursor() as cursor:
            for i in range(0, len(rows), self.batch_size):
                cursor.executemany(self.sql, rows[i : i + self.batch_size])


def _answer(q: _QuestionInfo, right: bool) -> Any:
    if q.kind == "true_false":
        truth = q.accepted[0] if q.accepted else "true"
        return truth if right else ("false" if truth == "true" else "true")
    if q.kind == "short":
        return q.accepted[0] if right and q.accepted else "not sure"
    if right:
        return sorted(q.correct_choice_ids)
    return q.wrong_choice_ids[:1] or []


def _ascii(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _chunks_by(
    items: Sequence[PersonPlan], key: Callable[[PersonPlan], int], size: int
) -> list[list[PersonPlan]]:
    """Consecutive chunks of at most `size` items that never mix two values of `key`."""
    out: list[list[PersonPlan]] = []
    current: list[PersonPlan] = []
    for item in items:
        if current and (len(current) >= size or key(current[-1]) != key(item)):
            out.append(current)
            current = []
        current.append(item)
    if current:
        out.append(current)
    return out
