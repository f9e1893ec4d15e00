"""The event fact table: every learning event, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from django.db import models

from uptake.core.models import unchecked_tenant


class Verb(models.TextChoices):
    ASSIGNED = "assigned", "assigned"
    WITHDRAWN = "withdrawn", "withdrawn"
    LAUNCHED = "launched", "launched"
    ACTIVITY_COMPLETED = "activity_completed", "activity completed"
    ATTEMPT_SUBMITTED = "attempt_submitted", "attempt submitted"
    PASSED = "passed", "passed"
    FAILED = "failed", "failed"
    COURSE_COMPLETED = "course_completed", "course completed"
    ACTIVE_SESSION = "active_session", "active session"


class LearningEvent(models.Model):
    """One row per learning event. Append-only; `value` holds a score, percent or duration."""

    # Written by the hundred thousand (rule enrolments, imports): no single-column index of
    # their own for the keys, every read filters on the tenant and the declared (tenant, ...)
    # indexes cover them (people and tenants are deactivated, not deleted). Not checked by a
    # PostgreSQL constraint either (ADR 0032): the writers check a batch's people in one query
    # (`services`), where the constraint checked each row at commit. Django still deletes the
    # events with their person or tenant (on_delete is carried out by the ORM).
    tenant = unchecked_tenant()
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    verb = models.CharField(max_length=24, choices=Verb.choices)
    object_type = models.CharField(max_length=20)  # "course" | "activity" | "session" ...
    object_id = models.BigIntegerField(null=True, blank=True)
    course_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        # One secondary index (ADR 0029): every report reads the rollups, never this table;
        # it is read by primary key (forwarding, `rebuild_analytics`) and by person (whether
        # someone did something since a moment). Each further index cost every bulk insert a
        # random B-tree write per event.
        indexes = [
            models.Index(fields=["tenant", "person", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.verb} {self.object_type}:{self.object_id}"


# --- Rollups ------------------------------------------------------------------------------------
# Maintained from the events in the same transaction as record_event / record_events
# (uptake.analytics.rollups), always equal to a recomputation from LearningEvent
# (`manage.py rebuild_analytics`). Every column is an order-independent fold (min, max, count)
# so late and backdated events land in the same place as on-time ones. See docs/metrics.md.


# A rollup row's tenant key (`unchecked_tenant`): rollups are derived data, rebuilt from
# LearningEvent by `rebuild_analytics`, so no database constraint (ADR 0028; PostgreSQL checked
# each of the hundreds of thousands of rows a recompute writes, at commit), and no index of its
# own (every rollup table's unique key starts with the tenant).


def _person() -> Any:
    """A rollup row's person: no database constraint (see `_tenant`). Indexed, for the
    deletion of a person's rows with them (their erasure)."""
    return models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )


class CourseFact(models.Model):
    """One row per person and course that has any course event: when it was first and last
    assigned, first started, first completed, last withdrawn."""

    tenant = unchecked_tenant()
    person = _person()
    course_id = models.BigIntegerField()
    first_assigned_at = models.DateTimeField(null=True)
    last_assigned_at = models.DateTimeField(null=True)
    started_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    last_withdrawn_at = models.DateTimeField(null=True)
    # first_assigned_at + 7 days: "activated" is started_at <= activation_deadline.
    activation_deadline = models.DateTimeField(null=True)
    # The enrolment's due date (Enrollment.due_at, not an event): read from the enrolment when
    # the row is assigned, and again on EnrollmentCreated / EnrollmentDueDateChanged (ADR 0014).
    due_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "person", "course_id"], name="coursefact_unique"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "course_id"]),
            # The partial day at either end of "now" (activation window, due today). Without
            # the tenant in front, so that a walk of a tenant's rows is never planned on them.
            models.Index(fields=["first_assigned_at"], name="coursefact_assigned_idx"),
            models.Index(fields=["due_at"], name="coursefact_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} course {self.course_id}"


class CheckFact(models.Model):
    """One row per person and knowledge check attempted: attempts, passes, and the attempt
    number of the first pass."""

    tenant = unchecked_tenant()
    person = _person()
    activity_id = models.BigIntegerField()
    course_id = models.BigIntegerField(null=True)
    attempts = models.PositiveIntegerField(default=0)
    passes = models.PositiveIntegerField(default=0)
    first_pass_attempt = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "person", "activity_id"], name="checkfact_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "activity_id"])]

    def __str__(self) -> str:
        return f"{self.person_id} check {self.activity_id}"


class CheckCounters(models.Model):
    """The CheckFact rows of one knowledge check summed (second level, like the assignment
    cells of ADR 0014): `people` who attempted it, `passed` it, passed at the `first_try`, and
    the sum of the attempt numbers of their first passes. `course_id` 0: outside a course."""

    course_id = models.BigIntegerField()
    activity_id = models.BigIntegerField()
    people = models.BigIntegerField(default=0)
    passed = models.BigIntegerField(default=0)
    first_try = models.BigIntegerField(default=0)
    pass_attempts = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class CheckCell(CheckCounters):
    """Check counters of the whole organisation: organisation-wide and per-course figures
    read these instead of every CheckFact row (ADR 0026)."""

    tenant = unchecked_tenant()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "course_id", "activity_id"], name="checkcell_unique"
            )
        ]

    def __str__(self) -> str:
        return f"check {self.activity_id}: {self.passed}/{self.people}"


class Grain(models.TextChoices):
    DAY = "d", "day"
    WEEK = "w", "week"  # ISO week, starting Monday
    MONTH = "m", "month"


class ActivePeriod(models.Model):
    """A person was active (any learner event) in this day / week / month (UTC)."""

    tenant = unchecked_tenant()
    person = _person()
    grain = models.CharField(max_length=1, choices=Grain.choices)
    start = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "grain", "start", "person"], name="activeperiod_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "person", "grain", "start"])]

    def __str__(self) -> str:
        return f"{self.person_id} active {self.grain} {self.start}"


class ActiveCount(models.Model):
    """How many people were active in a period: DAU / WAU / MAU series."""

    tenant = unchecked_tenant()
    grain = models.CharField(max_length=1, choices=Grain.choices)
    start = models.DateField()
    people = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "grain", "start"], name="activecount_unique")
        ]

    def __str__(self) -> str:
        return f"{self.people} active {self.grain} {self.start}"


class DailyCount(models.Model):
    """Events per tenant, UTC day, course (0: none) and verb: the over-time series."""

    tenant = unchecked_tenant()
    day = models.DateField()
    course_id = models.BigIntegerField(default=0)
    verb = models.CharField(max_length=24, choices=Verb.choices)
    n = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "course_id", "verb"], name="dailycount_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.verb} {self.n}"


class PersonFact(models.Model):
    """One row per person with any event: first activity and first assignment (and their
    ISO weeks, for cohorts and retention curves)."""

    tenant = unchecked_tenant()
    person = _person()
    first_active_at = models.DateTimeField(null=True)
    first_active_week = models.DateField(null=True)
    first_assigned_at = models.DateTimeField(null=True)
    first_assigned_week = models.DateField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "person"], name="personfact_unique")
        ]
        # The sizes of the assignment cohorts (retention curves) read from the index alone.
        indexes = [
            models.Index(
                fields=["tenant", "first_assigned_week"], name="personfact_assigned_week_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} first active {self.first_active_at}"


# --- Second-level rollups (ADR 0014) -------------------------------------------------------------
# Counts of current assignments, kept from CourseFact's rows (each row's contribution is removed
# and added again when the row changes), so that organisation-wide and per-course reads add up a
# few thousand cells instead of every person's rows. Their size grows with courses and days,
# not with people or events.


class AssignmentCell(models.Model):
    """Current assignments (see docs/metrics.md) of a course, by UTC day of first assignment
    and UTC day of the due date: how many, started, completed, activated (started within 7
    days), completed on time."""

    tenant = unchecked_tenant()
    course_id = models.BigIntegerField()
    assigned_day = models.DateField()
    due_day = models.DateField()  # fold.NO_DUE_DAY (9999-12-31): no due date
    assigned = models.IntegerField(default=0)
    started = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    activated = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "course_id", "assigned_day", "due_day"],
                name="assignmentcell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"course {self.course_id} {self.assigned_day}: {self.assigned}"


class CompletionCell(models.Model):
    """Completed current assignments of a course by UTC day of completion."""

    tenant = unchecked_tenant()
    course_id = models.BigIntegerField()
    day = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "course_id", "day"], name="completioncell_unique"
            )
        ]

    def __str__(self) -> str:
        return f"course {self.course_id} {self.day}: {self.n}"


class DurationCell(models.Model):
    """Completed current assignments of a course by whole hours from first assignment to
    completion (0 when completed before being assigned): the median time to complete."""

    tenant = unchecked_tenant()
    course_id = models.BigIntegerField()
    hours = models.IntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "course_id", "hours"], name="durationcell_unique"
            )
        ]

    def __str__(self) -> str:
        return f"course {self.course_id} {self.hours} h: {self.n}"


class RetentionCell(models.Model):
    """People of a cohort (first active week "s", or first assigned week "a") active in a
    later ISO week: the retention curves of the whole organisation."""

    tenant = unchecked_tenant()
    cohort_kind = models.CharField(max_length=1)  # "s": first active week, "a": first assigned
    cohort_week = models.DateField()
    week = models.DateField()
    people = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "cohort_kind", "cohort_week", "week"],
                name="retentioncell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cohort_kind} {self.cohort_week} -> {self.week}: {self.people}"


# --- People dimensions in cells (ADR 0017) -------------------------------------------------------
# The same counts as the cells above, per value of a person's HR dimension, so that breakdowns,
# scopes and the heatmap by department / location / direct manager / hire month add up cells
# instead of person-grain rows. Each person counts once per dimension kind (not per combination).
# Kinds: "d" department, "l" location, "m" direct manager (the manager's id as text), "h" hire
# month ("YYYY-MM"); "" when the person has none.


class PersonDims(models.Model):
    """The dimension values a person is counted under in the dimension cells: a copy of their
    Person attributes, taken when they first count and moved by `rollups.sync_people` when the
    people app reports a change (PersonChanged / PeopleImported / PersonDeactivated)."""

    tenant = unchecked_tenant()
    person = _person()
    department = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=100, blank=True)
    manager = models.CharField(max_length=20, blank=True)
    hire_month = models.CharField(max_length=7, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "person"], name="persondims_unique")
        ]
        indexes = [
            models.Index(fields=["tenant", "department"], name="persondims_department_idx"),
            models.Index(fields=["tenant", "location"], name="persondims_location_idx"),
            models.Index(fields=["tenant", "hire_month"], name="persondims_hire_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.department} / {self.location}"


class DimensionCell(models.Model):
    """The columns every people-dimension cell starts with (ADR 0017): the dimension kind
    (department, location, manager, hire month) and the person's value for it."""

    tenant = unchecked_tenant()
    kind = models.CharField(max_length=1)
    value = models.CharField(max_length=100)

    class Meta:
        abstract = True


class DimCheckCell(DimensionCell, CheckCounters):
    """CheckCell per department, location and hire month (the scopes of one dimension value,
    ADR 0026)."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "value", "course_id", "activity_id"],
                name="dimcheckcell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}={self.value} check {self.activity_id}: {self.passed}/{self.people}"


class DimAssignmentCell(DimensionCell):
    """AssignmentCell per dimension value."""

    course_id = models.BigIntegerField()
    assigned_day = models.DateField()
    due_day = models.DateField()
    assigned = models.IntegerField(default=0)
    started = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    activated = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "value", "course_id", "assigned_day", "due_day"],
                name="dimassignmentcell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}={self.value} course {self.course_id} {self.assigned_day}"


class DimCompletionCell(DimensionCell):
    """CompletionCell per dimension value."""

    course_id = models.BigIntegerField()
    day = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "value", "course_id", "day"],
                name="dimcompletioncell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}={self.value} course {self.course_id} {self.day}: {self.n}"


class DimDurationCell(DimensionCell):
    """DurationCell per dimension value."""

    course_id = models.BigIntegerField()
    hours = models.IntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "value", "course_id", "hours"],
                name="dimdurationcell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}={self.value} course {self.course_id} {self.hours} h: {self.n}"


class DimActiveCell(DimensionCell):
    """People active in a period per dimension value. Kinds "d" / "l" / "h": everyone, every
    grain (active users of a department, location, hire month); "D" / "L" / "M": active people
    (Person.is_active) only, weeks only (the heatmap's rows by department, location, manager)."""

    grain = models.CharField(max_length=1, choices=Grain.choices)
    start = models.DateField()
    people = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "grain", "start", "value"],
                name="dimactivecell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}={self.value} {self.grain} {self.start}: {self.people}"


class DimRetentionCell(DimensionCell):
    """RetentionCell per dimension value (kinds "d", "l", "h"): the retention curves of one
    department, location or hire month."""

    cohort_kind = models.CharField(max_length=1)
    cohort_week = models.DateField()
    week = models.DateField()
    people = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "value", "cohort_kind", "cohort_week", "week"],
                name="dimretentioncell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}={self.value} {self.cohort_kind} {self.cohort_week} -> {self.week}"


class PendingRollup(models.Model):
    """Learning events whose rollups are still to be applied, by the worker (ADR 0035): a large
    rule-driven batch (a full audience recompute) records its events at once and queues the
    fold's input here, in its transaction, instead of updating every rollup before it commits.
    One row per group of events that differ only by their person (one batch of "assigned"
    events of one course: hundreds of people in one row). `rollups.apply_pending` applies and
    deletes these rows; a rebuild deletes them (it reads the events themselves)."""

    # A queue, read in id order and emptied: no index but the primary key, and no database
    # constraint (like the rollups it feeds); the ORM still deletes the rows with their tenant.
    tenant = unchecked_tenant()
    verb = models.CharField(max_length=24, choices=Verb.choices)
    object_id = models.BigIntegerField(null=True, blank=True)
    course_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    attempt = models.IntegerField(null=True, blank=True)
    # The people's ids, comma-separated (one event each; a person erased meanwhile is skipped).
    people = models.TextField()
    events = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.events} {self.verb} events (rollups pending)"
