"""The xAPI 2.0 statement rules (uptake.xapi.v2): what differs from 1.0.3."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from uptake.xapi import rules, v2
from uptake.xapi.tests.conftest import statement

PLAYER = {"objectType": "Agent", "mbox": "mailto:player-1@example.com"}
TEAM = {
    "objectType": "Group",
    "mbox": "mailto:team-1@example.com",
    "member": [{"objectType": "Agent", "mbox": "mailto:player-2@example.com"}],
}


def with_context(**context: Any) -> dict[str, Any]:
    return statement(context=context)


def context_agent(**extra: Any) -> dict[str, Any]:
    return {"objectType": "contextAgent", "agent": PLAYER, **extra}


def context_group(**extra: Any) -> dict[str, Any]:
    return {"objectType": "contextGroup", "group": TEAM, **extra}


def test_context_agents_and_groups_are_valid_under_2_0_only():
    st = with_context(
        contextAgents=[context_agent(relevantTypes=["https://example.com/types/player"])],
        contextGroups=[context_group(relevantTypes=["https://example.com/types/team"])],
    )
    assert v2.validate_statement(st) is st
    with pytest.raises(rules.Invalid, match="unexpected"):
        rules.validate_statement(st)


def test_context_agents_in_a_substatement_are_checked_too():
    sub = {"objectType": "SubStatement", **with_context(contextAgents=[context_agent()])}
    v2.validate_statement(statement(object=sub))
    bad = {
        "objectType": "SubStatement",
        **with_context(contextAgents=[{"objectType": "Agent", "agent": PLAYER}]),
    }
    with pytest.raises(rules.Invalid, match=r"object\.context\.contextAgents\[0\]\.objectType"):
        v2.validate_statement(statement(object=bad))


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"contextAgents": {"objectType": "contextAgent", "agent": PLAYER}}, "array"),
        ({"contextAgents": [{"objectType": "Should fail", "agent": PLAYER}]}, "contextAgent"),
        ({"contextAgents": [{"objectType": "contextAgent"}]}, "needs an agent"),
        ({"contextAgents": [{"objectType": "contextAgent", "agent": {"key": "x"}}]}, "agent"),
        ({"contextAgents": [context_agent(relevantTypes=[])]}, "non-empty"),
        ({"contextAgents": [context_agent(relevantTypes=["abc"])]}, "IRI"),
        ({"contextAgents": [context_agent(extra=1)]}, "unexpected"),
        ({"contextAgents": [{"objectType": "contextAgent", "agent": TEAM}]}, "Agent"),
        ({"contextGroups": [{"objectType": "contextAgent", "group": TEAM}]}, "contextGroup"),
        ({"contextGroups": [{"objectType": "contextGroup", "group": PLAYER}]}, "Group"),
        ({"contextGroups": [{"objectType": "contextGroup"}]}, "needs a group"),
        ({"contextGroups": [context_group(relevantTypes="https://x.org/t")]}, "array"),
    ],
)
def test_invalid_context_agents_and_groups_are_refused(context, message):
    with pytest.raises(rules.Invalid, match=message):
        v2.validate_statement(with_context(**context))


def test_the_1_0_3_rules_still_apply_under_2_0():
    with pytest.raises(rules.Invalid, match=r"verb\.id"):
        v2.validate_statement(statement(verb={"id": "nope"}))
    with pytest.raises(rules.Invalid, match="unexpected"):
        v2.validate_statement(statement(colour="blue"))
    with pytest.raises(rules.Invalid, match="statement"):
        v2.validate_statement([statement()])


@pytest.mark.parametrize("version", ["1.0", "1.0.3", "1.0.9", "2.0", "2.0.0", "2.0.7"])
def test_versions_1_0_x_and_2_0_x_are_accepted(version):
    v2.validate_statement(statement(version=version))


@pytest.mark.parametrize("version", ["0.9.9", "1.1.0", "2.1.0", "3.0.0", "abc", 2])
def test_other_versions_are_refused(version):
    with pytest.raises(rules.Invalid, match="version"):
        v2.validate_statement(statement(version=version))


def test_a_2_0_statement_without_a_version_is_stamped_2_0_0():
    assert v2.stamp(statement())["version"] == "2.0.0"
    assert v2.stamp(statement(version="1.0.3"))["version"] == "1.0.3"


@pytest.mark.parametrize(
    "timestamp",
    ["2023-05-04T12:00:00-05:00", "2023-05-04T17:00:00.000Z", "2023-05-04T17:00:00+0530"],
)
def test_timestamps_with_an_offset_are_accepted(timestamp):
    v2.validate_statement(statement(timestamp=timestamp))


def test_a_timestamp_without_an_offset_is_refused_under_2_0_but_not_1_0_3():
    st = statement(timestamp="2023-05-04T17:00:00.000")
    rules.validate_statement(st)
    with pytest.raises(rules.Invalid, match="offset"):
        v2.validate_statement(st)
    sub = {"objectType": "SubStatement", **statement(timestamp="2023-05-04T17:00:00")}
    with pytest.raises(rules.Invalid, match=r"object\.timestamp"):
        v2.validate_statement(statement(object=sub))


def test_a_negative_zero_offset_is_still_refused():
    with pytest.raises(rules.Invalid, match="-00:00"):
        v2.validate_statement(statement(timestamp="2023-05-04T17:00:00-00:00"))


def test_1_0_x_readers_get_statements_without_the_2_0_context_properties():
    st = with_context(
        contextAgents=[context_agent()], contextGroups=[context_group()], language="en"
    )
    st["object"] = {"objectType": "SubStatement", **with_context(contextAgents=[context_agent()])}
    out = v2.for_v1(st)
    assert out["context"] == {"language": "en"}
    assert "context" not in out["object"]
    assert st["context"]["contextAgents"]  # the stored statement is not changed
    plain = statement()
    assert v2.for_v1(plain) is plain


def test_format_ids_reduces_context_agents_and_groups_to_identifiers():
    named = {**PLAYER, "name": "Player One"}
    st = with_context(contextAgents=[context_agent(agent=named)], contextGroups=[context_group()])
    out = v2.format_ids(st)
    assert out["context"]["contextAgents"][0]["agent"] == PLAYER
    assert out["context"]["contextGroups"][0]["group"] == {
        "objectType": "Group",
        "mbox": "mailto:team-1@example.com",
    }


def test_related_agents_include_context_agents_and_group_members():
    st = with_context(contextAgents=[context_agent()], contextGroups=[context_group()])
    keys = v2.related_agent_keys(st)
    assert rules.agent_key(PLAYER) in keys
    assert rules.agent_key(TEAM) in keys
    assert rules.agent_key(TEAM["member"][0]) in keys
    assert rules.agent_key(PLAYER) not in rules.related_agent_keys(st)


def test_durations_compare_to_hundredths_of_a_second():
    short = statement(result={"duration": "P1DT12H36M0.12S"})
    long = statement(result={"duration": "P1DT12H36M0.1237S"})
    other = statement(result={"duration": "P1DT12H36M0.13S"})
    assert v2.same_statement(short, long)
    assert not v2.same_statement(short, other)
    assert not rules.same_statement(short, long)


def _jws(payload: dict[str, Any]) -> bytes:
    def enc(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{enc({'alg': 'RS256'})}.{enc(payload)}.c2ln".encode()


def test_a_signature_is_compared_with_durations_to_hundredths():
    signed = statement(result={"duration": "P1DT12H36M0.12S"})
    sent = statement(result={"duration": "P1DT12H36M0.1237S"})
    v2.check_signature(sent, _jws(signed))
    with pytest.raises(rules.Invalid):
        rules.check_signature(sent, _jws(signed))
    with pytest.raises(rules.Invalid, match="does not match"):
        v2.check_signature(statement(result={"duration": "PT1S"}), _jws(signed))
    with pytest.raises(rules.Invalid, match="JWS"):
        v2.check_signature(sent, b"not a jws")
