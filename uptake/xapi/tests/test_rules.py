"""The pure xAPI rules: statement validation, identifier keys, output formats."""

from __future__ import annotations

import pytest

from uptake.xapi import rules
from uptake.xapi.tests.conftest import statement


def test_a_minimal_statement_is_valid():
    rules.validate_statement(statement())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"verb": {"id": "no scheme"}}, "verb.id"),
        ({"actor": {"mbox": "learner@example.com"}}, "actor.mbox"),
        ({"actor": {"mbox": "mailto:a@example.com", "openid": "http://x.example/"}}, "exactly one"),
        ({"actor": {"objectType": "Group"}}, "anonymous Group"),
        ({"object": {"objectType": "StatementRef", "id": "1"}}, "object.id"),
        ({"result": {"score": {"scaled": 1.5}}}, "scaled"),
        ({"result": {"score": {"raw": 5, "min": 6, "max": 10}}}, "raw"),
        ({"result": {"duration": "P4W1D"}}, "duration"),
        ({"timestamp": "2008-09-15T15:53:00.601-00:00"}, "-00:00"),
        ({"version": "1.1.0"}, "version"),
        ({"surprise": 1}, "unexpected"),
        ({"context": {"language": "not a tag!"}}, "language"),
    ],
)
def test_invalid_statements_are_refused_with_the_offending_property(change, message):
    with pytest.raises(rules.Invalid, match=message):
        rules.validate_statement(statement(**change))


def test_revision_is_refused_when_the_object_is_not_an_activity():
    st = statement(
        object={"objectType": "Agent", "mbox": "mailto:b@example.com"},
        context={"revision": "2"},
    )
    with pytest.raises(rules.Invalid, match="revision"):
        rules.validate_statement(st)


def test_a_voiding_statement_must_target_a_statement_ref():
    st = statement(verb={"id": rules.VOIDED})
    with pytest.raises(rules.Invalid, match="StatementRef"):
        rules.validate_statement(st)


def test_interaction_components_need_a_matching_interaction_type():
    st = statement()
    st["object"]["definition"] = {"interactionType": "likert", "choices": [{"id": "a"}]}
    with pytest.raises(rules.Invalid, match="choices"):
        rules.validate_statement(st)


@pytest.mark.parametrize("value", ["PT4H35M59.14S", "P3Y1M29DT4H35M59.14S", "P4W", "PT16559.14S"])
def test_iso_durations_are_accepted(value):
    rules.validate_statement(statement(result={"duration": value}))


def test_agent_keys_ignore_the_case_of_the_mailbox_and_the_name():
    a = {"mbox": "mailto:Ann@Example.com", "name": "Ann"}
    b = {"objectType": "Agent", "mbox": "mailto:ann@example.com"}
    assert rules.agent_key(a) == rules.agent_key(b)
    assert rules.agent_key(a) != rules.agent_key({"mbox": "mailto:bob@example.com"})


def test_same_statement_ignores_what_the_store_sets():
    a = statement(id="f5f6a0a4-6f4e-4cbc-9a34-5bd1fb1d5a3c")
    b = {**a, "stored": "2020-01-01T00:00:00Z", "authority": {"mbox": "mailto:x@example.com"}}
    assert rules.same_statement(a, b)
    assert not rules.same_statement(a, {**a, "result": {"success": True}})


def test_format_ids_keeps_only_identifiers():
    st = statement()
    out = rules.format_ids(st)
    assert out["actor"] == {"objectType": "Agent", "mbox": "mailto:learner0@example.com"}
    assert out["verb"] == {"id": st["verb"]["id"]}
    assert out["object"] == {"id": st["object"]["id"]}


def test_format_canonical_picks_the_accepted_language():
    st = statement()
    out = rules.format_canonical(st, rules.accepted_languages("fr;q=0.9, de;q=0.1"))
    assert out["object"]["definition"]["name"] == {"fr": "Activité"}
    assert out["verb"]["display"] == {"en-US": "experienced"}


def test_related_agents_and_activities_walk_context_and_substatements():
    st = statement(
        context={
            "instructor": {"mbox": "mailto:teacher@example.com"},
            "contextActivities": {"parent": [{"id": "http://example.com/course"}]},
        }
    )
    assert rules.agent_key({"mbox": "mailto:teacher@example.com"}) in rules.related_agent_keys(st)
    assert "http://example.com/course" in rules.related_activity_ids(st)
