"""Pure path rules: cycles (property-based against a reference), locking, progress."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from uptake.paths import rules
from uptake.paths.rules import StepInfo


def _reference_has_cycle(graph: dict[int, set[int]]) -> bool:
    """Straightforward reference: repeatedly remove nodes with no remaining prerequisites
    (Kahn); a cycle exists exactly when some nodes can never be removed."""
    remaining = {n: set(d) for n, d in graph.items()}
    for deps in graph.values():
        for d in deps:
            remaining.setdefault(d, set())
    changed = True
    while changed:
        changed = False
        free = [n for n, d in remaining.items() if not d]
        for n in free:
            del remaining[n]
            for d in remaining.values():
                d.discard(n)
            changed = True
    return bool(remaining)


graphs = st.dictionaries(st.integers(0, 12), st.sets(st.integers(0, 12), max_size=4), max_size=12)


@given(graphs)
def test_find_cycle_agrees_with_the_reference_on_random_graphs(graph):
    cycle = rules.find_cycle(graph)
    assert (cycle is not None) == _reference_has_cycle(graph)
    if cycle is not None:
        assert cycle[0] == cycle[-1]
        # every arrow of the reported cycle is a real prerequisite edge
        for a, b in itertools.pairwise(cycle):
            assert b in graph.get(a, set())


@given(st.permutations(list(range(10))), st.data())
def test_graphs_whose_edges_follow_one_order_never_have_a_cycle(order, data):
    rank = {n: i for i, n in enumerate(order)}
    graph = {
        n: data.draw(st.sets(st.sampled_from([m for m in order if rank[m] < rank[n]] or [n]))) - {n}
        for n in order
    }
    assert rules.find_cycle(graph) is None


@given(st.lists(st.integers(0, 50), min_size=1, max_size=8, unique=True))
def test_a_ring_is_reported_with_every_step_in_it(ring):
    graph = {a: {b} for a, b in zip(ring, ring[1:] + ring[:1], strict=True)}
    cycle = rules.find_cycle(graph)
    assert cycle is not None
    assert set(cycle) == set(ring)
    assert len(cycle) == len(ring) + 1


def test_the_cycle_is_named_with_step_titles():
    assert rules.describe_cycle([1, 2, 1], {1: "Step A", 2: "Step B"}) == "Step A → Step B → Step A"


A = StepInfo(id=1, title="Product basics", position=0, required=True)
B = StepInfo(id=2, title="Pricing", position=1, required=True)
C = StepInfo(id=3, title="Demo skills", position=2, required=False)


def test_sequential_path_locks_each_step_behind_the_previous_one():
    states = rules.step_states([A, B, C], order_mode=rules.SEQUENTIAL, completed=[])
    assert [s.state for s in states] == ["unlocked", "locked", "locked"]
    assert states[1].unlock_hint == "Complete “Product basics” to unlock"
    assert states[2].unlock_hint == "Complete “Pricing” to unlock"


def test_completing_the_first_step_unlocks_the_second():
    states = rules.step_states(
        [A, B, C], order_mode=rules.SEQUENTIAL, completed=[1], in_progress=[]
    )
    assert [s.state for s in states] == ["completed", "unlocked", "locked"]


def test_free_path_locks_only_steps_with_prerequisites():
    c = StepInfo(
        id=3, title="Demo skills", position=2, required=True, prerequisite_ids=frozenset({1, 2})
    )
    states = rules.step_states([A, B, c], order_mode=rules.FREE, completed=[], in_progress=[2])
    assert [s.state for s in states] == ["unlocked", "in_progress", "locked"]
    assert states[2].unlock_hint == "Complete “Product basics” and “Pricing” to unlock"


def test_a_prerequisite_that_does_not_apply_to_the_person_is_ignored():
    c = StepInfo(
        id=3, title="Demo skills", position=2, required=True, prerequisite_ids=frozenset({99})
    )
    states = rules.step_states([A, c], order_mode=rules.FREE, completed=[])
    assert [s.state for s in states] == ["unlocked", "unlocked"]


def test_progress_counts_required_applicable_steps_only():
    states = rules.step_states([A, B, C], order_mode=rules.FREE, completed=[1, 3])
    assert rules.progress_percent(states) == 50
    assert rules.progress_percent([]) == 0


def test_newly_unlocked_lists_steps_opened_by_a_completion():
    before = rules.step_states([A, B, C], order_mode=rules.SEQUENTIAL, completed=[])
    after = rules.step_states([A, B, C], order_mode=rules.SEQUENTIAL, completed=[1])
    assert [s.step.id for s in rules.newly_unlocked(before, after)] == [2]
