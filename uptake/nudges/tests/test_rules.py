"""The pure decision logic: triggers, send window, weekly cap, channels, experiment arms."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uptake.nudges import rules
from uptake.nudges.rules import Candidate, Facts, TriggerSpec, Window

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "Australia/Lord_Howe",
    "America/St_Johns",
]

# A shared machine: slow input generation is not a failure of the code under test.
RELAXED = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31), timezones=st.just(UTC)
)
windows = st.builds(
    lambda s, length, days: Window(
        dt.time(s), dt.time(min(s + length, 23), 59 if s + length >= 23 else 0), frozenset(days)
    ),
    st.integers(0, 22),
    st.integers(1, 12),
    st.sets(st.integers(1, 7), min_size=1),
)


def occ(spec: TriggerSpec, facts: Facts, now: dt.datetime, since: dt.datetime | None = None):
    return rules.due_occurrences(spec, facts, now=now, since=since or now - dt.timedelta(days=2))


def test_not_started_reminder_is_due_n_days_after_assignment_only_if_not_started():
    spec = TriggerSpec(rules.Trigger.NOT_STARTED, days=3)
    facts = Facts(status="assigned", assigned_at=T0)
    assert occ(spec, facts, T0 + dt.timedelta(days=2, hours=23)) == []
    [o] = occ(spec, facts, T0 + dt.timedelta(days=3, hours=1))
    assert o.at == T0 + dt.timedelta(days=3)
    started = Facts(status="in_progress", assigned_at=T0)
    assert occ(spec, started, T0 + dt.timedelta(days=3, hours=1)) == []


def test_due_soon_fires_n_days_before_and_expires_at_the_due_date():
    due = T0 + dt.timedelta(days=14)
    spec = TriggerSpec(rules.Trigger.DUE_SOON, days=2)
    [o] = occ(
        spec, Facts(status="in_progress", assigned_at=T0, due_at=due), due - dt.timedelta(days=1)
    )
    assert o.at == due - dt.timedelta(days=2) and o.expires_at == due
    assert (
        occ(spec, Facts(status="completed", assigned_at=T0, due_at=due), due - dt.timedelta(days=1))
        == []
    )


def test_overdue_repeats_every_n_days_at_most_m_times():
    due = T0
    spec = TriggerSpec(rules.Trigger.OVERDUE, repeat_every_days=2, max_repeats=3)
    facts = Facts(status="assigned", assigned_at=T0 - dt.timedelta(days=10), due_at=due)
    keys = set()
    for hours in range(0, 24 * 20, 6):
        now = due + dt.timedelta(hours=hours)
        for o in occ(spec, facts, now, since=due):
            keys.add(o.key)
    assert keys == {f"overdue:{due:%Y%m%d%H%M%S}:{k}" for k in (1, 2, 3)}


def test_escalation_to_the_manager_after_n_days_overdue():
    spec = TriggerSpec(
        rules.Trigger.OVERDUE, repeat_every_days=2, max_repeats=3, escalate_after_days=5
    )
    facts = Facts(status="assigned", assigned_at=T0 - dt.timedelta(days=10), due_at=T0)
    found = occ(spec, facts, T0 + dt.timedelta(days=5, hours=1))
    assert [o.escalation for o in found] == [False, True]


def test_old_occurrences_are_not_sent_late():
    spec = TriggerSpec(rules.Trigger.ASSIGNED)
    facts = Facts(status="assigned", assigned_at=T0)
    assert occ(spec, facts, T0 + dt.timedelta(days=10), since=T0 + dt.timedelta(days=8)) == []


def test_inactive_keys_on_the_last_activity_so_a_new_lapse_nudges_again():
    spec = TriggerSpec(rules.Trigger.INACTIVE, days=7)
    a = occ(
        spec,
        Facts(status="in_progress", assigned_at=T0, last_activity_at=T0),
        T0 + dt.timedelta(days=7, hours=1),
    )
    b = occ(
        spec,
        Facts(status="in_progress", assigned_at=T0, last_activity_at=T0 + dt.timedelta(days=9)),
        T0 + dt.timedelta(days=16, hours=1),
    )
    assert len(a) == len(b) == 1 and a[0].key != b[0].key


@RELAXED
@given(
    spec_days=st.integers(0, 30),
    every=st.integers(1, 7),
    m=st.integers(1, 6),
    trigger=st.sampled_from(rules.Trigger.ALL),
    offset_hours=st.integers(-2000, 2000),
    status=st.sampled_from(["assigned", "in_progress", "completed", "withdrawn"]),
)
def test_occurrences_are_never_in_the_future_and_never_before_since(
    spec_days, every, m, trigger, offset_hours, status
):
    spec = TriggerSpec(
        trigger, days=spec_days, repeat_every_days=every, max_repeats=m, escalate_after_days=3
    )
    now = T0 + dt.timedelta(hours=offset_hours)
    facts = Facts(
        status=status,
        assigned_at=T0 - dt.timedelta(days=3),
        due_at=T0,
        started_at=T0,
        completed_at=T0,
        last_activity_at=T0,
        unlocked_at=T0,
        unlocked_step=1,
    )
    since = now - dt.timedelta(days=2)
    for o in rules.due_occurrences(spec, facts, now=now, since=since):
        assert since <= o.at <= now
        assert o.expires_at is None or now < o.expires_at
        if status == "withdrawn":
            raise AssertionError("a withdrawn enrolment is never nudged")


@given(now=moments, window=windows, zone=st.sampled_from(ZONES))
@settings(RELAXED, max_examples=300)
def test_next_send_time_is_inside_the_window_and_never_earlier_than_now(now, window, zone):
    tz = ZoneInfo(zone)
    at = rules.next_send_time(now, window=window, tz=tz)
    assert at >= now
    assert rules.in_window(at, window=window, tz=tz) or at.astimezone(tz).time() == window.start
    assert at - now <= dt.timedelta(days=8)
    if rules.in_window(now, window=window, tz=tz):
        assert at == now


@given(now=moments, window=windows, zone=st.sampled_from(ZONES))
@settings(RELAXED, max_examples=200)
def test_no_window_opening_is_skipped(now, window, zone):
    """Nothing between now and the chosen time is inside the window (checked every 15 min)."""
    tz = ZoneInfo(zone)
    at = rules.next_send_time(now, window=window, tz=tz)
    probe = now
    while probe + dt.timedelta(minutes=15) < at:
        probe += dt.timedelta(minutes=15)
        local = probe.astimezone(tz)
        if local.isoweekday() in window.weekdays and window.start < local.time() < window.end:
            raise AssertionError(f"{probe} is in the window but {at} was chosen")


def test_quiet_hours_move_a_nudge_to_the_morning_in_the_persons_time_zone():
    window = Window(dt.time(9), dt.time(17), frozenset({1, 2, 3, 4, 5}))
    ny = ZoneInfo("America/New_York")
    night = dt.datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # Monday 22:00 in New York
    at = rules.next_send_time(night, window=window, tz=ny)
    assert at.astimezone(ny) == dt.datetime(2026, 3, 3, 9, 0, tzinfo=ny)
    friday_evening = dt.datetime(2026, 3, 6, 23, 0, tzinfo=UTC)  # Friday 18:00 NY
    assert (
        rules.next_send_time(friday_evening, window=window, tz=ny).astimezone(ny).isoweekday() == 1
    )


@RELAXED
@given(
    items=st.lists(st.tuples(st.integers(1, 5), st.integers(-3, 3), st.booleans()), max_size=30),
    already=st.dictionaries(st.integers(1, 5), st.integers(0, 4)),
    cap=st.integers(0, 4),
)
def test_the_weekly_cap_is_never_exceeded_and_priority_wins(items, already, cap):
    cands = [
        Candidate(ref=i, person_id=p, priority=pr, mandatory=m)
        for i, (p, pr, m) in enumerate(items)
    ]
    allowed, over = rules.apply_cap(cands, already=already, cap=dict.fromkeys(range(1, 6), cap))
    assert len(allowed) + len(over) == len(cands)
    per_person = Counter(c.person_id for c in allowed if not c.mandatory)
    for pid, n in per_person.items():
        assert n + already.get(pid, 0) <= max(cap, already.get(pid, 0)) or n == 0
        assert n <= max(cap - already.get(pid, 0), 0)
    for o in over:
        assert not o.mandatory
        assert all(
            a.priority >= o.priority
            for a in allowed
            if a.person_id == o.person_id and not a.mandatory
        )


def test_mandatory_overrides_preferences_with_a_notice_but_not_a_missing_address():
    v = rules.channel_verdicts(
        ["email", "in_app", "teams"],
        opted_out=frozenset({"in_app"}),
        unsubscribed=True,
        mandatory=True,
    )
    assert [(x.channel, x.send, x.overridden) for x in v] == [
        ("email", True, True),
        ("in_app", True, True),
        ("teams", True, False),
    ]
    v = rules.channel_verdicts(
        ["email", "in_app"], opted_out=frozenset({"in_app"}), unsubscribed=True, mandatory=False
    )
    assert [(x.send, x.reason) for x in v] == [(False, "unsubscribed"), (False, "preference")]
    v = rules.channel_verdicts(
        ["email"], opted_out=frozenset(), unsubscribed=False, mandatory=True, has_email=False
    )
    assert v[0].reason == "no_address"


@RELAXED
@given(person=st.integers(1, 10**9), campaign=st.integers(1, 10**6))
def test_arm_is_deterministic_per_person_and_campaign(person, campaign):
    design = rules.Design(arms=(rules.ArmSpec("control"), rules.ArmSpec("b")), holdout_percent=10)
    assert rules.arm_for(person, campaign, design) == rules.arm_for(person, campaign, design)


def test_arms_split_by_weight_with_the_holdout():
    design = rules.Design(
        arms=(rules.ArmSpec("control", 1), rules.ArmSpec("b", 3)), holdout_percent=10
    )
    counts = Counter(rules.arm_for(p, 7, design) for p in range(40_000))
    assert abs(counts["holdout"] / 40_000 - 0.10) < 0.01
    assert abs(counts["b"] / (counts["b"] + counts["control"]) - 0.75) < 0.015
