"""The sweep: for every active campaign, stream the enrolments whose trigger may be due (keyset
pages of CHUNK rows, never everyone at once), decide with rules.py and write one Nudge per
(campaign, enrolment, occurrence). The unique key makes the sweep idempotent: run it twice, or
kill it half-way and run it again, and every nudge is decided exactly once.

Each page is one transaction. The sweep only decides (when, to whom, which arm, or why not);
`dispatch.dispatch_due` renders and sends the nudges whose send time has come.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import operator
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import DateTimeField, F, Func, Q, QuerySet, TextField, Value

from uptake.core import bulk, clock
from uptake.core.bulk import insert_rows, with_ids_in
from uptake.enrollment.models import Enrollment
from uptake.nudges import rules
from uptake.nudges.models import Campaign, CampaignArm, Nudge, NudgePolicy, StepUnlock
from uptake.people.models import Person

logger = logging.getLogger(__name__)

CHUNK = 5000
SQLITE_CACHE_KIB = 64 * 1024
WEEK = dt.timedelta(days=7)
# A sweep re-reads this much before where the last one stopped: an enrolment written by a
# transaction that committed after that sweep began is still seen (the unique key dedups).
OVERLAP = dt.timedelta(hours=1)
OPEN = ["assigned", "in_progress"]


@dataclass
class SweepResult:
    campaigns: int = 0
    examined: int = 0
    queued: int = 0
    suppressed: int = 0
    held_out: int = 0
    by_campaign: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """A campaign's effective policy (its overrides over the tenant's)."""

    window: rules.Window
    weekly_cap: int
    catch_up: dt.timedelta
    tenant_zone: str
    # SQLite: the organisation holds most of the enrolments (see `_scan_is_cheaper`).
    most_enrolments: bool = False


def policy_for(tenant_id: int) -> NudgePolicy:
    policy = NudgePolicy.objects.filter(tenant_id=tenant_id).first()
    return policy or NudgePolicy(tenant_id=tenant_id)


def effective(campaign: Campaign, policy: NudgePolicy, tenant_zone: str) -> Settings:
    weekdays = campaign.weekdays or policy.weekdays
    return Settings(
        window=rules.Window(
            start=campaign.window_start or policy.window_start,
            end=campaign.window_end or policy.window_end,
            weekdays=frozenset(int(d) for d in weekdays if d.isdigit()),
        ),
        weekly_cap=campaign.weekly_cap if campaign.weekly_cap is not None else policy.weekly_cap,
        catch_up=dt.timedelta(days=policy.catch_up_days),
        tenant_zone=tenant_zone,
    )


def design_for(campaign: Campaign, arms: list[CampaignArm]) -> rules.Design:
    if campaign.experiment == Campaign.Experiment.STOPPED and campaign.winner:
        return rules.Design(arms=(rules.ArmSpec(campaign.winner, 1),), holdout_percent=0)
    if campaign.experiment == Campaign.Experiment.RUNNING:
        return rules.Design(
            arms=tuple(rules.ArmSpec(a.name, a.weight) for a in arms),
            holdout_percent=campaign.holdout_percent,
        )
    return rules.Design()


def spec_for(campaign: Campaign) -> rules.TriggerSpec:
    return rules.TriggerSpec(
        trigger=campaign.trigger,
        days=campaign.days,
        repeat_every_days=campaign.repeat_every_days,
        max_repeats=campaign.max_repeats,
        escalate_after_days=campaign.escalate_after_days,
    )


def scoped_enrollments(campaign: Campaign, *, scan: bool = False) -> QuerySet[Enrollment]:
    """The campaign's enrolments: of active people, in its scope. `scan`: read the table in
    order rather than through the (tenant, status, due_at) index (see `_scan_is_cheaper`)."""
    from uptake.audiences.models import AudienceMembership
    from uptake.paths.models import PathEnrollment, PathStep

    qs: QuerySet[Enrollment]
    if scan:
        # `tenant_id + 0` is the same condition, but no index can serve it (SQLite's way).
        qs = Enrollment.objects.alias(_tenant=F("tenant_id") + 0).filter(
            _tenant=campaign.tenant_id, person__is_active=True
        )
    else:
        qs = Enrollment.objects.filter(tenant_id=campaign.tenant_id, person__is_active=True)
    if campaign.scope == Campaign.Scope.COURSE:
        qs = qs.filter(course_id=campaign.course_id or 0)
    elif campaign.scope == Campaign.Scope.AUDIENCE:
        qs = qs.filter(
            person_id__in=AudienceMembership.objects.filter(
                tenant_id=campaign.tenant_id, audience_id=campaign.audience_id or 0
            ).values("person_id")
        )
    elif campaign.scope == Campaign.Scope.PATH:
        qs = qs.filter(
            course_id__in=PathStep.objects.filter(
                tenant_id=campaign.tenant_id, path_id=campaign.path_id
            ).values("course_id"),
            person_id__in=PathEnrollment.objects.filter(
                tenant_id=campaign.tenant_id, path_id=campaign.path_id, is_active=True
            ).values("person_id"),
        )
    return qs


def _window_filter(campaign: Campaign, since: dt.datetime, now: dt.datetime) -> Q:
    """SQL pre-filter: enrolments whose trigger moment may fall in [since, now] (rules.py
    decides exactly). Keeps the sweep to the few rows that can be due, via the indexes."""
    n = dt.timedelta(days=campaign.days)
    t = campaign.trigger
    if t == rules.Trigger.ASSIGNED:
        return Q(assigned_at__gte=since, assigned_at__lte=now) & ~Q(status="withdrawn")
    if t == rules.Trigger.NOT_STARTED:
        return Q(status="assigned", assigned_at__gte=since - n, assigned_at__lte=now - n)
    if t == rules.Trigger.DUE_SOON:
        return Q(status__in=OPEN, due_at__gt=now, due_at__gte=since + n, due_at__lte=now + n)
    if t == rules.Trigger.OVERDUE:
        # Occurrences fall at due + k * every (k < max_repeats) and, for the escalation, at
        # due + N days: one narrow due-date range per occurrence, not the whole span.
        every = dt.timedelta(days=max(campaign.repeat_every_days, 1))
        offsets = [every * k for k in range(max(campaign.max_repeats, 1))]
        if campaign.escalate_after_days is not None:
            offsets.append(dt.timedelta(days=campaign.escalate_after_days))
        ranges = [Q(due_at__gte=since - o, due_at__lte=now - o) for o in sorted(set(offsets))]
        return Q(status__in=OPEN, due_at__lte=now) & functools.reduce(operator.or_, ranges)
    if t == rules.Trigger.INACTIVE:
        return Q(status="in_progress") & (
            Q(last_activity_at__gte=since - n, last_activity_at__lte=now - n)
            | Q(last_activity_at__isnull=True, started_at__gte=since - n, started_at__lte=now - n)
        )
    if t == rules.Trigger.COMPLETED:
        return Q(status="completed", completed_at__gte=since, completed_at__lte=now)
    return Q(pk__in=[])


# Triggers whose pre-filter the enrolment indexes cannot narrow to a due-date range: the
# (tenant, status, due_at) index then visits a large share of the table in due-date order,
# one random table page per row.
_WIDE = frozenset(
    {
        rules.Trigger.ASSIGNED,
        rules.Trigger.NOT_STARTED,
        rules.Trigger.INACTIVE,
        rules.Trigger.COMPLETED,
    }
)
SCAN_SHARE = 0.5


def _holds_most_enrolments(tenant_id: int) -> bool:
    if connection.vendor != "sqlite":
        return False
    mine = Enrollment.objects.filter(tenant_id=tenant_id).count()
    return mine > 10_000 and mine >= SCAN_SHARE * Enrollment.objects.count()


def _scan_is_cheaper(campaign: Campaign, settings: Settings) -> bool:
    """SQLite (which keeps no statistics unless ANALYZE was run): for a wide trigger over the
    whole organisation, when the organisation holds most of the enrolments, one pass over the
    table in storage order beats the index (measured: 5x less CPU for "assigned" at 500,000
    enrolments, ADR 0013). PostgreSQL's planner makes this choice itself."""
    return (
        settings.most_enrolments
        and campaign.trigger in _WIDE
        and campaign.scope == Campaign.Scope.TENANT
    )


_FIELDS = (
    "pk",
    "person_id",
    "status",
    "assigned_at",
    "due_at",
    "started_at",
    "completed_at",
    "last_activity_at",
    "person__time_zone",
    "person__manager_id",
)


_TIME_COLUMNS = (3, 4, 5, 6, 7)


def db_time(value: dt.datetime, *, sqlite: bool) -> str:
    """A timestamp as the database stores it (prepared once here, not per row by Django)."""
    if value.tzinfo is dt.UTC:  # the usual case: only the offset to drop on SQLite
        return value.isoformat(" ")[:-6] if sqlite else value.isoformat(" ")
    utc = value.astimezone(dt.UTC)
    return utc.replace(tzinfo=None).isoformat(" ") if sqlite else utc.isoformat(" ")


def _utc_text(name: str) -> Func:
    """SQLite: the stored UTC timestamp as ISO text with its offset ("... 12:00:00+00:00"):
    no per-value converter in the driver, one C call (`fromisoformat`) to an aware datetime
    in Python. NULL stays NULL."""
    return Func(F(name), template="(%(expressions)s || '+00:00')", output_field=TextField())


# Which timestamps (of _TIME_COLUMNS) each trigger reads (rules.due_occurrences): the others
# are not parsed (left None) on SQLite. Unknown triggers get all of them.
_READS = {
    rules.Trigger.ASSIGNED: {3},
    rules.Trigger.NOT_STARTED: {3, 4},
    rules.Trigger.DUE_SOON: {4},
    rules.Trigger.OVERDUE: {4},
    rules.Trigger.INACTIVE: {5, 7},
    rules.Trigger.COMPLETED: {6},
}


def _reads(trigger: str) -> set[int]:
    """The timestamp columns (of _TIME_COLUMNS) read for `trigger`: its own, and assigned_at,
    which is never NULL and which Facts requires."""
    return _READS.get(trigger, set(_TIME_COLUMNS)) | {3}


def _skip(value: Any) -> None:
    return None


def _page_rows(rows: list[tuple[Any, ...]], trigger: str = "") -> list[tuple[Any, ...]]:
    """SQLite rows of `_stream_values` with the timestamps `trigger` reads parsed (aware, UTC;
    the others None: a third of the sweep's per-row time went to parsing unread columns)."""
    reads = _reads(trigger)
    iso = dt.datetime.fromisoformat
    pa, pd, ps, pc, pl = (iso if i in reads else _skip for i in _TIME_COLUMNS)
    return [
        (
            pk,
            person,
            status,
            pa(assigned),
            due and pd(due),
            started and ps(started),
            completed and pc(completed),
            last and pl(last),
            zone_name,
            manager,
        )
        for (
            pk,
            person,
            status,
            assigned,
            due,
            started,
            completed,
            last,
            zone_name,
            manager,
        ) in rows
    ]


def _stream_values(qs: QuerySet[Enrollment], trigger: str = "") -> QuerySet[Enrollment]:
    if connection.vendor != "sqlite":
        # Timestamps the trigger does not read are not sent at all (NULL in their place).
        reads = _reads(trigger)
        unread = {
            f"_t{i}": Value(None, output_field=DateTimeField())
            for i in _TIME_COLUMNS
            if i not in reads
        }
        names = [f"_t{i}" if f"_t{i}" in unread else name for i, name in enumerate(_FIELDS)]
        return qs.annotate(**unread).values_list(*names) if unread else qs.values_list(*_FIELDS)
    times = {f"_t{i}": _utc_text(_FIELDS[i]) for i in _TIME_COLUMNS}
    names = [f"_t{i}" if i in _TIME_COLUMNS else name for i, name in enumerate(_FIELDS)]
    return qs.annotate(**times).values_list(*names)


def _pages(qs: QuerySet[Enrollment], trigger: str = "") -> Iterator[list[tuple[Any, ...]]]:
    """Stream the matching enrolments in pages of CHUNK rows from one query, in whatever order
    the index gives them (constant memory: a server-side cursor on PostgreSQL, SQLite's own
    stepping; no re-scan per page)."""
    sql, params = _stream_values(qs.order_by(), trigger).query.sql_with_params()
    sqlite = connection.vendor == "sqlite"
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(CHUNK)
            if not rows:
                return
            yield _page_rows(rows, trigger) if sqlite else rows


def _unlock_pages(
    campaign: Campaign, since: dt.datetime, now: dt.datetime
) -> Iterator[list[tuple[Any, ...]]]:
    """step_unlocked: the unlocks in [since, now] of enrolments in scope."""
    scoped = scoped_enrollments(campaign)
    last = 0
    while True:
        unlocks = list(
            StepUnlock.objects.filter(
                tenant_id=campaign.tenant_id,
                unlocked_at__gte=since,
                unlocked_at__lte=now,
                pk__gt=last,
                enrollment_id__in=scoped.values("pk"),
            )
            .order_by("pk")
            .values_list("pk", "enrollment_id", "step_id", "unlocked_at")[:CHUNK]
        )
        if not unlocks:
            return
        last = unlocks[-1][0]
        by_enrollment = {
            row[0]: row
            for row in Enrollment.objects.filter(pk__in={u[1] for u in unlocks}).values_list(
                *_FIELDS
            )
        }
        page = []
        for _pk, enrollment_id, step_id, unlocked_at in unlocks:
            row = by_enrollment.get(enrollment_id)
            if row is not None:
                page.append((*row, unlocked_at, step_id))
        yield page


class CapLedger:
    """The nudges counted against people's weekly caps (queued or sent, not escalations) during
    one sweep of one organisation. A person's are read from the database once, the first time
    they are a candidate (those that existed when the sweep began: ids up to `horizon`); the
    ones this sweep queues are noted as it decides them. One look-up per person and sweep, not
    one per campaign page the person appears in."""

    def __init__(self, tenant_id: int, now: dt.datetime) -> None:
        self.tenant_id = tenant_id
        # Every send time this sweep decides is `now` or later: older nudges never count.
        self.floor = now - WEEK
        self.horizon = Nudge.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.sends: dict[int, list[dt.datetime]] = {}
        self.loaded: set[int] = set()

    def note(self, recipient_id: int, send_at: dt.datetime) -> None:
        self.sends.setdefault(recipient_id, []).append(send_at)

    def counts(self, first_send: dict[int, dt.datetime]) -> dict[int, int]:
        """Per person, the counted nudges sent or due in the 7 days up to `first_send`."""
        missing = [p for p in first_send if p not in self.loaded]
        if missing:
            self._load(missing)
            self.loaded.update(missing)
        out: dict[int, int] = {}
        sends = self.sends
        for person_id, at in first_send.items():
            times = sends.get(person_id)
            if times:
                low = at - WEEK
                n = sum(1 for t in times if low < t <= at)
                if n:
                    out[person_id] = n
        return out

    def _load(self, people: list[int]) -> None:
        if not self.horizon:
            return
        counted = Nudge.objects.filter(
            tenant_id=self.tenant_id,
            is_escalation=False,
            status__in=[Nudge.Status.QUEUED, Nudge.Status.DISPATCHED],
            send_at__gt=self.floor,
            pk__lte=self.horizon,
        )
        # Thousands of people a page: their ids as integer literals, not ORM parameters.
        counted = with_ids_in(counted, "recipient_id", people)
        if connection.vendor == "sqlite":
            # Parsed with one C call each, not Django's per-value converter (`_utc_text`).
            iso = dt.datetime.fromisoformat
            rows: Any = (
                (r, iso(t))
                for r, t in counted.annotate(_at=_utc_text("send_at")).values_list(
                    "recipient_id", "_at"
                )
            )
        else:
            rows = counted.values_list("recipient_id", "send_at")
        for recipient_id, send_at in rows:
            self.note(recipient_id, send_at)


def _zones(tenant_id: int, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        Person.objects.filter(tenant_id=tenant_id, pk__in=ids, is_active=True).values_list(
            "pk", "time_zone"
        )
    )


def sweep_campaign(
    campaign: Campaign,
    *,
    now: dt.datetime,
    settings: Settings,
    result: SweepResult,
    cap: CapLedger | None = None,
) -> None:
    start = campaign.activated_at or now
    since = max(start, now - settings.catch_up)
    if campaign.swept_until is not None:
        since = max(since, campaign.swept_until - OVERLAP)
    if since > now:
        return
    spec = spec_for(campaign)
    design = design_for(campaign, list(campaign.arms.all()))
    delays = {a.name: dt.timedelta(hours=a.delay_hours) for a in campaign.arms.all()}
    unlocks = campaign.trigger == rules.Trigger.STEP_UNLOCKED
    if unlocks:
        pages: Iterator[list[tuple[Any, ...]]] = _unlock_pages(campaign, since, now)
    else:
        scan = _scan_is_cheaper(campaign, settings)
        pages = _pages(
            scoped_enrollments(campaign, scan=scan).filter(_window_filter(campaign, since, now)),
            campaign.trigger,
        )
    cap = cap or CapLedger(campaign.tenant_id, now)
    # No nudge of this campaign yet (its first sweep, not a restart of one that died half-way):
    # nothing to look up before deciding, and nothing the inserts can collide with but a
    # concurrent sweep's (step unlocks may repeat an enrolment: always checked).
    fresh = not unlocks and campaign.swept_until is None and not _has_nudges(campaign.pk)
    for page in pages:
        result.examined += len(page)
        with transaction.atomic():
            _decide_page(
                campaign,
                page,
                spec,
                design,
                delays,
                settings,
                now,
                since,
                result,
                unlocks,
                fresh,
                cap,
            )
    if campaign.swept_until is None or campaign.swept_until < now:
        Campaign.objects.filter(pk=campaign.pk).update(swept_until=now)


def _has_nudges(campaign_id: int) -> bool:
    return Nudge.objects.filter(campaign_id=campaign_id).exists()


def _decide_page(
    campaign: Campaign,
    page: list[tuple[Any, ...]],
    spec: rules.TriggerSpec,
    design: rules.Design,
    delays: dict[str, dt.timedelta],
    settings: Settings,
    now: dt.datetime,
    since: dt.datetime,
    result: SweepResult,
    unlocks: bool,
    fresh: bool,
    cap: CapLedger,
) -> None:
    wanted: list[tuple[tuple[Any, ...], rules.Occurrence]] = []
    facts_of, due_occurrences = rules.Facts, rules.due_occurrences
    for row in page:
        facts = facts_of(
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[10] if unlocks else None,
            row[11] if unlocks else None,
        )
        for occ in due_occurrences(spec, facts, now=now, since=since):
            wanted.append((row, occ))
    if not wanted:
        return
    if not fresh:
        # Skip what an earlier run already decided (the unique key would too; this keeps the
        # cap count honest and the page cheap): probes of the unique index, one per enrolment.
        existing = set(
            with_ids_in(
                Nudge.objects.filter(campaign_id=campaign.pk),
                "enrollment_id",
                {row[0] for row, _ in wanted},
            ).values_list("enrollment_id", "occurrence")
        )
        wanted = [(row, occ) for row, occ in wanted if (row[0], occ.key) not in existing]
        if not wanted:
            return
    manager_zones = _zones(
        campaign.tenant_id, {row[9] for row, occ in wanted if occ.escalation and row[9]}
    )
    candidates: list[rules.Candidate] = []
    rows: list[tuple[Any, ...]] = []
    # Hot loop (one pass per due nudge): enum members and time zones looked up once.
    queued, suppressed, held_out = (
        str(Nudge.Status.QUEUED),
        str(Nudge.Status.SUPPRESSED),
        str(Nudge.Status.HELD_OUT),
    )
    zones: dict[str | None, Any] = {}
    send_times: dict[tuple[dt.datetime, str | None], dt.datetime] = {}
    no_delay = dt.timedelta()
    experiment = bool(design.arms or design.holdout_percent)
    campaign_id, tenant_id = campaign.pk, campaign.tenant_id  # model attributes: read once
    priority, mandatory, candidate = campaign.priority, campaign.mandatory, rules.Candidate
    for row, occ in wanted:
        person_id = row[1]
        arm = rules.arm_for(person_id, campaign_id, design) if experiment else ""
        recipient = person_id
        tz_name = row[8]
        status, reason = queued, ""
        if occ.escalation:
            recipient = row[9]
            tz_name = manager_zones.get(recipient) if recipient else None
            if recipient is None or tz_name is None:
                recipient, status, reason = person_id, suppressed, rules.Reason.NO_MANAGER
        if arm == rules.HOLDOUT:  # no nudge at all, not even to the manager
            status, reason = held_out, rules.Reason.HOLDOUT
        earliest = max(now, occ.at + delays.get(arm, no_delay)) if delays else max(now, occ.at)
        # A pure function of (moment, zone): in a catch-up almost every occurrence is already
        # due, so `earliest` is `now` and one computation per time zone serves the page.
        send_at = send_times.get((earliest, tz_name))
        if send_at is None:
            tz = zones.get(tz_name)
            if tz is None:
                tz = zones[tz_name] = rules.zone(tz_name, settings.tenant_zone)
            send_at = send_times[(earliest, tz_name)] = rules.next_send_time(
                earliest, window=settings.window, tz=tz
            )
        if status == queued and occ.expires_at is not None and send_at >= occ.expires_at:
            status, reason = suppressed, rules.Reason.QUIET_HOURS
        if status != queued:
            send_at = now
        record = [
            row[0],
            row[1],
            recipient,
            occ.key,
            occ.escalation,
            arm,
            status,
            reason,
            occ.at,
            send_at,
        ]
        rows.append(record)  # type: ignore[arg-type]
        if status == queued:
            candidates.append(
                candidate(len(rows) - 1, recipient, priority, mandatory, not occ.escalation)
            )
    recipients = {c.person_id for c in candidates}
    first_send: dict[int, dt.datetime] = {}
    for c in candidates:
        at = rows[c.ref][9]  # type: ignore[call-overload]
        first_send[c.person_id] = min(at, first_send.get(c.person_id, at))
    already = cap.counts(first_send)
    _allowed, over = rules.apply_cap(
        candidates, already=already, cap=dict.fromkeys(recipients, settings.weekly_cap)
    )
    for c in over:
        record = rows[c.ref]  # type: ignore[call-overload]
        record[6], record[7], record[9] = suppressed, rules.Reason.CAP, now
    sqlite = connection.vendor == "sqlite"
    created = db_time(now, sqlite=sqlite)
    texts: dict[dt.datetime, str] = {now: created}  # send times repeat: formatted once
    # In the unique key's order: each index is written in runs, not at random.
    rows.sort(key=_enrollment_and_occurrence)
    _insert_nudges(
        [
            "tenant",
            "campaign",
            "enrollment",
            "person",
            "recipient",
            "occurrence",
            "is_escalation",
            "arm",
            "status",
            "reason",
            "due_at",
            "send_at",
            "dispatched_at",
            "created_at",
            "updated_at",
        ],
        [
            (
                tenant_id,
                campaign_id,
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                db_time(r[8], sqlite=sqlite),
                texts[r[9]]
                if r[9] in texts
                else texts.setdefault(r[9], db_time(r[9], sqlite=sqlite)),
                created if r[6] == held_out else None,
                created,
                created,
            )
            for r in rows
        ],
        fresh=fresh,
    )
    for r in rows:
        if r[6] == queued:
            result.queued += 1
            if not r[4]:  # escalations to managers are not counted against a cap
                cap.note(r[2], r[9])
        elif r[6] == held_out:
            result.held_out += 1
        else:
            result.suppressed += 1
    result.by_campaign[campaign.pk] = result.by_campaign.get(campaign.pk, 0) + len(rows)


def _enrollment_and_occurrence(record: Any) -> tuple[int, str]:
    return record[0], record[3]


def _insert_nudges(names: list[str], rows: list[tuple[Any, ...]], *, fresh: bool = False) -> None:
    """Insert decided nudges, skipping any already decided (the idempotency key). PostgreSQL:
    COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING (executemany costs
    a round trip per row), or when `fresh` (no nudge of the campaign existed before this
    sweep) COPY into the table itself; SQLite: INSERT OR IGNORE through executemany."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = Nudge._meta.db_table
    columns = [str(Nudge._meta.get_field(n).column) for n in names]  # type: ignore[union-attr]
    cols = ", ".join(qn(c) for c in columns)
    if connection.vendor == "sqlite":
        # The values are database-ready (ids, text, booleans, timestamps formatted by
        # `db_time`): no per-value preparation (bulk.insert_rows would convert each again).
        marks = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT OR IGNORE INTO {qn(table)} ({cols}) VALUES ({marks})",  # noqa: S608
                rows,
            )
        return
    if connection.vendor != "postgresql":
        insert_rows(Nudge, names, rows, ignore_conflicts=True)
        return
    from psycopg.errors import UniqueViolation

    with connection.cursor() as cursor:
        if fresh:
            # Nothing of this campaign existed when its sweep began: COPY straight into the
            # table (one write). A nudge decided concurrently by another sweep makes the COPY
            # fail on the unique key; it is then undone and done the careful way below.
            try:
                with (
                    transaction.atomic(),
                    cursor.cursor.copy(f"COPY {qn(table)} ({cols}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
                return
            except UniqueViolation:  # raised by psycopg itself: COPY is not Django's
                logger.info("Nudge sweep: a concurrent sweep decided some of these nudges")
        # Identifiers come from the model's metadata and are quoted; values go through COPY.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS _uptake_nudge_in AS SELECT {cols} "  # noqa: S608
            f"FROM {qn(table)} WITH NO DATA"
        )
        cursor.execute("TRUNCATE _uptake_nudge_in")
        with cursor.cursor.copy(f"COPY _uptake_nudge_in ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {qn(table)} ({cols}) SELECT {cols} FROM _uptake_nudge_in "  # noqa: S608
            "ON CONFLICT DO NOTHING"
        )


def sweep(*, now: dt.datetime | None = None, tenant_id: int | None = None) -> SweepResult:
    """Decide every due nudge of every active campaign (highest priority first, so when the
    weekly cap bites the more important campaign has already claimed its place)."""

    now = now or clock.now()
    result = SweepResult()
    campaigns = Campaign.objects.filter(status=Campaign.Status.ACTIVE).order_by(
        "tenant_id", "-priority", "pk"
    )
    if tenant_id is not None:
        campaigns = campaigns.filter(tenant_id=tenant_id)
    policies: dict[int, tuple[NudgePolicy, str, bool]] = {}
    caps: dict[int, CapLedger] = {}
    # The default cache makes every index probe of the enrolment scan and every index write
    # of the nudge inserts a read from the OS.
    with bulk.page_cache(SQLITE_CACHE_KIB):
        for campaign in campaigns.prefetch_related("arms"):
            if campaign.tenant_id not in caps:
                caps[campaign.tenant_id] = CapLedger(campaign.tenant_id, now)
            _sweep_one(
                campaign, now=now, policies=policies, result=result, cap=caps[campaign.tenant_id]
            )
    logger.info(
        "Nudge sweep: %s campaigns, %s enrolments examined, %s queued, %s suppressed",
        result.campaigns,
        result.examined,
        result.queued,
        result.suppressed,
    )
    return result


def _sweep_one(
    campaign: Campaign,
    *,
    now: dt.datetime,
    policies: dict[int, tuple[NudgePolicy, str, bool]],
    result: SweepResult,
    cap: CapLedger,
) -> None:
    from uptake.tenancy.models import Tenant

    if campaign.tenant_id not in policies:
        zone = (
            Tenant.objects.filter(pk=campaign.tenant_id).values_list("time_zone", flat=True).first()
        )
        policies[campaign.tenant_id] = (
            policy_for(campaign.tenant_id),
            zone or "UTC",
            _holds_most_enrolments(campaign.tenant_id),
        )
    policy, zone_name, most = policies[campaign.tenant_id]
    result.campaigns += 1
    settings = dataclasses.replace(effective(campaign, policy, zone_name), most_enrolments=most)
    sweep_campaign(campaign, now=now, settings=settings, result=result, cap=cap)
