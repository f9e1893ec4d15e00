"""The domain event bus: events are published on commit to the handlers listed in uptake/events.py.

`publish(event)` inside a transaction queues the event; the handlers run after the outermost
transaction commits (never for a rolled-back change). Handlers run in-process, synchronously,
in the order listed; a handler that has slow or external work enqueues a background task.

A bulk operation can instead run its handlers inside its own transaction with
`handled_before_commit()`: the change and all its consequences then commit once, all or
nothing (on SQLite, one commit instead of one per handler also writes each touched index page
once instead of once per commit).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[[Any], None]


def _subscriptions() -> dict[type, list[Handler]]:
    # Imported on first use (uptake.events imports every app's handlers), then a plain global.
    global _SUBSCRIPTIONS
    if _SUBSCRIPTIONS is None:
        from uptake.events import SUBSCRIPTIONS

        _SUBSCRIPTIONS = SUBSCRIPTIONS
    return _SUBSCRIPTIONS


_SUBSCRIPTIONS: dict[type, list[Handler]] | None = None


def dispatch(event: object) -> None:
    """Run every handler subscribed to the event's type, now."""
    for handler in _subscriptions().get(type(event), []):
        handler(event)


class _Pending(threading.local):
    events: list[object] | None = None


_pending = _Pending()


def publish(event: object) -> None:
    """Publish a domain event once the current transaction commits (at once outside one)."""
    if _pending.events is not None:
        _pending.events.append(event)
        return
    transaction.on_commit(lambda: dispatch(event), robust=False)


def listened(event_type: type) -> bool:
    """Whether any handler is subscribed to this type of event: a bulk write need not build
    100,000 events that nobody would receive (dispatching them would do nothing)."""
    return bool(_subscriptions().get(event_type))


def publish_many(events: Iterable[object]) -> None:
    """Publish many events (a bulk write's), in order, with one commit hook for all of them:
    the same as `publish` for each, without a hook per event."""
    batch = list(events)
    if not batch:
        return
    if _pending.events is not None:
        _pending.events.extend(batch)
        return
    transaction.on_commit(lambda: _dispatch_all(batch), robust=False)


@contextmanager
def handled_before_commit() -> Iterator[None]:
    """Dispatch the events published inside the block (and those their handlers publish) at
    the block's end, inside the caller's transaction, instead of after it commits. Use inside
    `transaction.atomic()`: a handler's failure then rolls the whole operation back. Nested
    blocks join the outermost one."""
    if _pending.events is not None:
        yield
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("handled_before_commit() needs an open transaction")
    queue: list[object] = []
    _pending.events = queue
    try:
        yield
        # In publication order; what the handlers publish joins the end of the queue.
        done = 0
        while done < len(queue):
            event = queue[done]
            done += 1
            dispatch(event)
    finally:
        _pending.events = None


def _dispatch_all(events: list[object]) -> None:
    for event in events:
        dispatch(event)


# --- Follow-up work merged across the transactions of one long operation --------------------------

_merged = threading.local()


@contextmanager
def merging_after_commit() -> Iterator[None]:
    """Merge the follow-up work that `after_commit_merged` registers inside the block: work
    with the same key runs once, with the items of every transaction of the block that
    committed, when the block ends (also when it ends with an error: what committed is
    followed up). For an operation cut into several transactions (a full recompute works
    person range by person range) whose follow-ups must not repeat per transaction (a manager
    told once per assignment, not once per range). Opened inside a transaction, the merged
    work runs when that transaction commits. Nested blocks join the outermost one."""
    if getattr(_merged, "work", None) is not None:
        yield
        return
    work: dict[Any, tuple[Callable[[list[Any]], None], list[Any]]] = {}
    _merged.work = work

    def flush() -> None:
        for run, items in work.values():
            run(items)

    try:
        yield
    finally:
        _merged.work = None
        if transaction.get_connection().in_atomic_block:
            # After the merges registered by the block's savepoints, which run first.
            transaction.on_commit(flush)
        else:
            flush()


_merge_lock = threading.Lock()


def merged_work() -> Any:
    """The open `merging_after_commit()` block of this thread (None outside one), for
    `merging_into` in the threads the operation starts."""
    return getattr(_merged, "work", None)


@contextmanager
def merging_into(work: Any) -> Iterator[None]:
    """In a thread started by an operation inside `merging_after_commit()`: merge this thread's
    follow-ups into that block (given by `merged_work()`), which runs them when it ends."""
    if work is None:
        yield
        return
    _merged.work = work
    try:
        yield
    finally:
        _merged.work = None


def after_commit_merged(key: Any, items: Iterable[Any], run: Callable[[list[Any]], None]) -> None:
    """Run `run(items)` after the current transaction commits; inside `merging_after_commit()`,
    merged with the other items registered under `key` and run once at the block's end."""
    batch = list(items)
    work = getattr(_merged, "work", None)
    if work is None:
        transaction.on_commit(lambda: run(batch))
        return

    def merge() -> None:
        with _merge_lock:  # threads of one operation may merge into the same block
            work.setdefault(key, (run, []))[1].extend(batch)

    transaction.on_commit(merge)
