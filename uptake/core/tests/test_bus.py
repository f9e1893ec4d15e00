"""The event bus: on commit by default; inside the transaction within handled_before_commit."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import transaction

from uptake.core import bus
from uptake.events import SUBSCRIPTIONS


@dataclass(frozen=True)
class Pinged:
    n: int


@dataclass(frozen=True)
class Ponged:
    n: int


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, bool]]:
    log: list[tuple[str, int, bool]] = []

    def on_ping(event: Pinged) -> None:
        log.append(("ping", event.n, transaction.get_connection().in_atomic_block))
        if event.n < 2:
            bus.publish(Ponged(event.n))

    def on_pong(event: Ponged) -> None:
        log.append(("pong", event.n, transaction.get_connection().in_atomic_block))
        if event.n == 99:
            raise RuntimeError("handler failed")

    monkeypatch.setitem(SUBSCRIPTIONS, Pinged, [on_ping])
    monkeypatch.setitem(SUBSCRIPTIONS, Ponged, [on_pong])
    return log


@pytest.mark.django_db(transaction=True)
def test_events_are_handled_after_commit_by_default(seen: list[tuple[str, int, bool]]) -> None:
    with transaction.atomic():
        bus.publish(Pinged(1))
        bus.publish_many([Pinged(2), Pinged(3)])
        assert seen == []
    assert seen == [("ping", 1, False), ("pong", 1, False), ("ping", 2, False), ("ping", 3, False)]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_events_are_never_handled(seen: list[tuple[str, int, bool]]) -> None:
    with pytest.raises(ValueError), transaction.atomic():
        bus.publish_many([Pinged(1)])
        raise ValueError
    assert seen == []


@pytest.mark.django_db(transaction=True)
def test_handled_before_commit_runs_handlers_and_their_events_inside(
    seen: list[tuple[str, int, bool]],
) -> None:
    with transaction.atomic(), bus.handled_before_commit():
        bus.publish(Pinged(0))
        bus.publish_many([Pinged(1), Pinged(2)])
        assert seen == []  # at the block's end, not at publication
    assert seen == [
        ("ping", 0, True),
        ("ping", 1, True),
        ("ping", 2, True),
        ("pong", 0, True),
        ("pong", 1, True),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_failing_handler_rolls_the_whole_operation_back(
    seen: list[tuple[str, int, bool]],
) -> None:
    from uptake.tenancy.models import Tenant

    with pytest.raises(RuntimeError), transaction.atomic(), bus.handled_before_commit():
        Tenant.objects.create(name="Rolled back", slug="rolled-back")
        bus.publish(Ponged(99))
    assert not Tenant.objects.filter(slug="rolled-back").exists()
    # The collector is off again: the next event is handled on commit as usual.
    with transaction.atomic():
        bus.publish(Pinged(5))
    assert seen[-1] == ("ping", 5, False)


@pytest.mark.django_db(transaction=True)
def test_handled_before_commit_needs_a_transaction() -> None:
    with pytest.raises(RuntimeError), bus.handled_before_commit():
        pass
