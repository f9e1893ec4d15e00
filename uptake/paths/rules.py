"""Pure rules of learning paths (no ORM): prerequisite cycles, which steps are locked and what
unlocks them, and path progress."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

SEQUENTIAL = "sequential"
FREE = "free"

LOCKED = "locked"
UNLOCKED = "unlocked"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"


def find_cycle(prerequisites: Mapping[int, Iterable[int]]) -> list[int] | None:
    """A cycle in the graph step -> its prerequisites, as [a, b, ..., a], or None.

    Iterative depth-first search (no recursion limit on long paths); nodes are visited in
    sorted order so the cycle reported is stable for a given graph."""
    graph: dict[int, list[int]] = {n: sorted(set(d)) for n, d in prerequisites.items()}
    for deps in list(graph.values()):
        for d in deps:
            graph.setdefault(d, [])
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    for root in sorted(graph):
        if colour[root] != white:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]
        trail: list[int] = [root]
        colour[root] = grey
        while stack:
            node, index = stack[-1]
            deps = graph[node]
            if index < len(deps):
                stack[-1] = (node, index + 1)
                nxt = deps[index]
                if colour[nxt] == grey:
                    start = trail.index(nxt)
                    return [*trail[start:], nxt]
                if colour[nxt] == white:
                    colour[nxt] = grey
                    stack.append((nxt, 0))
                    trail.append(nxt)
            else:
                colour[node] = black
                stack.pop()
                trail.pop()
    return None


def describe_cycle(cycle: Sequence[int], names: Mapping[int, str]) -> str:
    """ "Step A → Step B → Step A": the cycle read as "A needs B, which needs A"."""
    return " → ".join(names.get(n, str(n)) for n in cycle)


@dataclass(frozen=True)
class StepInfo:
    id: int
    title: str
    position: int
    required: bool
    prerequisite_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class StepState:
    step: StepInfo
    state: str  # locked | unlocked | in_progress | completed
    waiting_for: tuple[StepInfo, ...] = field(default_factory=tuple)

    @property
    def is_locked(self) -> bool:
        return self.state == LOCKED

    @property
    def unlock_hint(self) -> str:
        """What unlocks this step, e.g. "Complete “Product basics” to unlock"."""
        if not self.waiting_for:
            return ""
        titles = [f"“{s.title}”" for s in self.waiting_for]
        joined = (
            titles[0]
            if len(titles) == 1
            else _("%(list)s and %(last)s")
            % {
                "list": ", ".join(titles[:-1]),
                "last": titles[-1],
            }
        )
        return _("Complete %(steps)s to unlock") % {"steps": joined}


def gates(steps: Sequence[StepInfo], *, order_mode: str) -> dict[int, list[StepInfo]]:
    """For each applicable step (in order), the applicable steps that must be completed first:
    its explicit prerequisites, and in sequential mode the previous applicable step too.
    Prerequisites that do not apply to this person are ignored (they can never be done)."""
    ordered = sorted(steps, key=lambda s: (s.position, s.id))
    by_id = {s.id: s for s in ordered}
    out: dict[int, list[StepInfo]] = {}
    previous: StepInfo | None = None
    for step in ordered:
        needed = [by_id[p] for p in sorted(step.prerequisite_ids) if p in by_id]
        if order_mode == SEQUENTIAL and previous is not None and previous not in needed:
            needed.insert(0, previous)
        out[step.id] = sorted(needed, key=lambda s: (s.position, s.id))
        previous = step
    return out


def step_states(
    steps: Sequence[StepInfo],
    *,
    order_mode: str,
    completed: Iterable[int],
    in_progress: Iterable[int] = (),
) -> list[StepState]:
    """The state of each applicable step for one person, in path order.

    Completed wins; otherwise a step with an incomplete gate is locked (and says which steps
    it waits for); otherwise it is in progress or unlocked."""
    done = set(completed)
    started = set(in_progress)
    needed = gates(steps, order_mode=order_mode)
    out: list[StepState] = []
    for step in sorted(steps, key=lambda s: (s.position, s.id)):
        if step.id in done:
            out.append(StepState(step=step, state=COMPLETED))
            continue
        waiting = tuple(g for g in needed[step.id] if g.id not in done)
        if waiting:
            out.append(StepState(step=step, state=LOCKED, waiting_for=waiting))
        elif step.id in started:
            out.append(StepState(step=step, state=IN_PROGRESS))
        else:
            out.append(StepState(step=step, state=UNLOCKED))
    return out


def progress_percent(states: Sequence[StepState]) -> int:
    """Required applicable steps completed / required applicable steps, in whole percent
    (all applicable steps count when none is required; an empty path is 0)."""
    counted = [s for s in states if s.step.required] or list(states)
    if not counted:
        return 0
    done = sum(1 for s in counted if s.state == COMPLETED)
    return done * 100 // len(counted)


def newly_unlocked(before: Sequence[StepState], after: Sequence[StepState]) -> list[StepState]:
    """Steps locked before and open (not locked, not completed) after a change."""
    was_locked = {s.step.id for s in before if s.state == LOCKED}
    return [s for s in after if s.step.id in was_locked and s.state in (UNLOCKED, IN_PROGRESS)]
