"""Pure decision logic of nudges (no ORM, no I/O): when a trigger is due for an enrolment, when
a nudge may be sent in the person's send window, which nudges the weekly cap lets through, and
which experiment arm a person is in.

Every function takes plain values and `now` explicitly, so the sweep, the live preview and the
tests all decide the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Trigger:
    ASSIGNED = "assigned"
    NOT_STARTED = "not_started"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    INACTIVE = "inactive"
    COMPLETED = "completed"
    STEP_UNLOCKED = "step_unlocked"

    ALL = (ASSIGNED, NOT_STARTED, DUE_SOON, OVERDUE, INACTIVE, COMPLETED, STEP_UNLOCKED)
    # Triggers whose `days` parameter is required (N days after/before something).
    NEEDS_DAYS = (NOT_STARTED, DUE_SOON, INACTIVE)


class Reason:
    """Why a nudge or one of its messages was not sent."""

    CAP = "cap"
    QUIET_HOURS = "quiet_hours"
    PREFERENCE = "preference"
    UNSUBSCRIBED = "unsubscribed"
    NO_LONGER_APPLIES = "no_longer_applies"
    NO_ADDRESS = "no_address"
    NO_MANAGER = "no_manager"
    HOLDOUT = "holdout"


CHANNELS = ("email", "in_app", "teams", "slack")
OPEN_STATUSES = ("assigned", "in_progress")


@dataclass(frozen=True)
class TriggerSpec:
    """A campaign's trigger: `days` is N (after assignment, before due, of inactivity);
    overdue repeats every `repeat_every_days` at most `max_repeats` times."""

    trigger: str
    days: int = 0
    repeat_every_days: int = 1
    max_repeats: int = 1
    escalate_after_days: int | None = None


@dataclass(slots=True)  # one per examined enrolment: plain slots, no frozen __setattr__
class Facts:
    """What the sweep knows about one enrolment."""

    status: str
    assigned_at: dt.datetime
    due_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    last_activity_at: dt.datetime | None = None
    unlocked_at: dt.datetime | None = None  # step_unlocked: when the path step opened
    unlocked_step: int | None = None


@dataclass(slots=True)
class Occurrence:
    """One due firing of a trigger for one enrolment: `key` is unique per enrolment and
    campaign (the idempotency key's last part); `at` is when it became due; after `expires_at`
    (if set) sending it no longer makes sense."""

    key: str
    at: dt.datetime
    expires_at: dt.datetime | None = None
    escalation: bool = False


def _day(d: int) -> dt.timedelta:
    return dt.timedelta(days=d)


def due_occurrences(
    spec: TriggerSpec, facts: Facts, *, now: dt.datetime, since: dt.datetime
) -> list[Occurrence]:
    """The occurrences of `spec` due for this enrolment at `now`, that became due at or after
    `since` (the campaign's start, or the catch-up horizon: older ones are not sent late).

    At most one learner occurrence per call (the latest due one: a sweep that was down for a
    while never sends a burst of stale repeats) plus, for overdue campaigns, the escalation."""
    # Called once per examined enrolment (hundreds of thousands in a catch-up sweep): no
    # closure, the common triggers first, each occurrence checked inline.
    t = spec.trigger
    status = facts.status
    if t == Trigger.ASSIGNED:
        at = facts.assigned_at
        if status != "withdrawn" and since <= at <= now:
            return [Occurrence(f"assigned:{at:%Y%m%d%H%M%S}", at)]
        return []
    if t == Trigger.NOT_STARTED:
        if status != "assigned":
            return []
        at = facts.assigned_at + _day(spec.days)
        expires = facts.due_at
        if since <= at <= now and (expires is None or now < expires):
            return [Occurrence(f"not_started:{facts.assigned_at:%Y%m%d%H%M%S}", at, expires)]
        return []
    if t == Trigger.DUE_SOON:
        due = facts.due_at
        if status not in OPEN_STATUSES or due is None:
            return []
        at = due - _day(spec.days)
        if since <= at <= now and now < due:
            return [Occurrence(f"due_soon:{due:%Y%m%d%H%M%S}", at, due)]
        return []
    if t == Trigger.OVERDUE:
        due = facts.due_at
        if status not in OPEN_STATUSES or due is None or now < due:
            return []
        out: list[Occurrence] = []
        every = _day(max(spec.repeat_every_days, 1))
        k = min(int((now - due) / every), max(spec.max_repeats, 1) - 1)
        at = due + k * every
        expires = due + (k + 1) * every if k + 1 < spec.max_repeats else None
        if since <= at <= now and (expires is None or now < expires):
            out.append(Occurrence(f"overdue:{due:%Y%m%d%H%M%S}:{k + 1}", at, expires))
        if spec.escalate_after_days is not None:
            esc_at = due + _day(spec.escalate_after_days)
            if since <= esc_at <= now:
                out.append(Occurrence(f"escalation:{due:%Y%m%d%H%M%S}", esc_at, escalation=True))
        return out
    if t == Trigger.INACTIVE:
        last = facts.last_activity_at or facts.started_at
        if status != "in_progress" or last is None:
            return []
        at = last + _day(spec.days)
        if since <= at <= now:
            return [Occurrence(f"inactive:{last:%Y%m%d%H%M%S}", at)]
        return []
    if t == Trigger.COMPLETED:
        at = facts.completed_at  # type: ignore[assignment]
        if status == "completed" and at is not None and since <= at <= now:
            return [Occurrence("completed", at)]
        return []
    if t == Trigger.STEP_UNLOCKED:
        unlocked = facts.unlocked_at
        if unlocked is not None and status != "withdrawn" and since <= unlocked <= now:
            return [Occurrence(f"unlocked:{facts.unlocked_step}", unlocked)]
    return []


def still_applies(trigger: str, *, status: str, escalation: bool = False) -> bool:
    """Checked again just before sending: a reminder for something already done is dropped."""
    if status == "withdrawn":
        return False
    if trigger == Trigger.NOT_STARTED:
        return status == "assigned"
    if trigger == Trigger.INACTIVE:
        return status == "in_progress"
    if trigger in (Trigger.DUE_SOON, Trigger.OVERDUE):
        return status in OPEN_STATUSES
    if trigger == Trigger.COMPLETED:
        return status == "completed"
    return True


# --- Send window -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """When nudges may arrive, in the person's local time: `weekdays` are ISO (1 = Monday);
    start < end on the same day (quiet hours are everything outside the window)."""

    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})

    def problem(self) -> str | None:
        if not self.weekdays or not self.weekdays <= {1, 2, 3, 4, 5, 6, 7}:
            return "Choose at least one weekday (1 = Monday ... 7 = Sunday)."
        if self.start >= self.end:
            return "The send window must start before it ends (e.g. 09:00-17:00)."
        return None


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The person's time zone; an unknown name falls back (HR data may hold anything)."""
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def in_window(moment: dt.datetime, *, window: Window, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz)
    return local.isoweekday() in window.weekdays and window.start <= local.time() < window.end


def next_send_time(now: dt.datetime, *, window: Window, tz: ZoneInfo) -> dt.datetime:
    """`now` if it is inside the window, else the next opening of the window (aware, UTC)."""
    if in_window(now, window=window, tz=tz):
        return now
    local = now.astimezone(tz)
    for offset in range(0, 9):
        day = local.date() + dt.timedelta(days=offset)
        if day.isoweekday() not in window.weekdays:
            continue
        opening = dt.datetime.combine(day, window.start, tzinfo=tz)
        # A DST gap may move the wall-clock opening; normalise through UTC and back.
        opening = opening.astimezone(dt.UTC).astimezone(tz)
        if opening > local:
            return opening.astimezone(dt.UTC)
    raise ValueError("The send window has no weekday")  # prevented by Window.problem


# --- Frequency cap ---------------------------------------------------------------------------


@dataclass(slots=True)  # one per queued nudge in a sweep: plain slots, no frozen __setattr__
class Candidate:
    """A nudge the sweep would like to send to `person_id`."""

    ref: object
    person_id: int
    priority: int  # higher wins when the cap bites
    mandatory: bool = False
    capped: bool = True  # escalations to managers are not counted against the learner's cap


def apply_cap(
    candidates: Iterable[Candidate], *, already: dict[int, int], cap: dict[int, int]
) -> tuple[list[Candidate], list[Candidate]]:
    """Split candidates into (allowed, over the cap). Per person, `already` nudges count
    against `cap[person]` (a person without a cap entry is uncapped); candidates are admitted by
    priority, highest first. Mandatory ones always pass (and still use up the allowance)."""
    by_person: dict[int, list[Candidate]] = {}
    for c in candidates:
        by_person.setdefault(c.person_id, []).append(c)
    allowed: list[Candidate] = []
    over: list[Candidate] = []
    for pid, items in by_person.items():
        used = already.get(pid, 0)
        limit = cap.get(pid)
        if limit is None or used + len(items) <= limit:  # the usual case: room for all
            allowed.extend(items)
            continue
        for c in sorted(items, key=lambda c: (not c.mandatory, -c.priority)):
            if not c.capped or c.mandatory or limit is None or used < limit:
                allowed.append(c)
                if c.capped:
                    used += 1
            else:
                over.append(c)
    return allowed, over


# --- Channels and preferences ----------------------------------------------------------------


@dataclass(frozen=True)
class ChannelVerdict:
    channel: str
    send: bool
    reason: str = ""
    overridden: bool = False  # sent despite the person's preference (mandatory)


def channel_verdicts(
    channels: Sequence[str],
    *,
    opted_out: frozenset[str],
    unsubscribed: bool,
    mandatory: bool,
    has_email: bool = True,
) -> list[ChannelVerdict]:
    """Which of the campaign's channels go out for this person. A mandatory campaign overrides
    the person's preferences (the message then says so); nothing overrides a missing address."""
    out: list[ChannelVerdict] = []
    for ch in dict.fromkeys(channels):
        blocked = ""
        if ch == "email" and not has_email:
            out.append(ChannelVerdict(ch, False, Reason.NO_ADDRESS))
            continue
        if ch == "email" and unsubscribed:
            blocked = Reason.UNSUBSCRIBED
        elif ch in opted_out:
            blocked = Reason.PREFERENCE
        if blocked and mandatory:
            out.append(ChannelVerdict(ch, True, overridden=True))
        elif blocked:
            out.append(ChannelVerdict(ch, False, blocked))
        else:
            out.append(ChannelVerdict(ch, True))
    return out


# --- Experiments -----------------------------------------------------------------------------

HOLDOUT = "holdout"


@dataclass(frozen=True)
class ArmSpec:
    name: str
    weight: int = 1


@dataclass(frozen=True)
class Design:
    arms: tuple[ArmSpec, ...] = field(default_factory=tuple)
    holdout_percent: int = 0


def _unit(person_id: int, campaign_id: int, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{campaign_id}:{person_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm_for(person_id: int, campaign_id: int, design: Design) -> str:
    """The person's arm in this campaign's experiment: deterministic (a hash of person and
    campaign), so it never changes between sweeps, workers or restarts. "" without arms."""
    if design.holdout_percent and _unit(person_id, campaign_id, "holdout") * 100 < (
        design.holdout_percent
    ):
        return HOLDOUT
    arms = [a for a in design.arms if a.weight > 0]
    if not arms:
        return ""
    total = sum(a.weight for a in arms)
    point = _unit(person_id, campaign_id, "arm") * total
    acc = 0.0
    for a in arms:
        acc += a.weight
        if point < acc:
            return a.name
    return arms[-1].name
