"""The run-time data model rules: access, types, collections and error codes, per version."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uptake.scorm import datamodel as dm


def test_12_reads_defaults_and_refuses_unknown_and_write_only_elements():
    values: dict[str, str] = {"cmi.core.student_name": "Doe, Jo"}
    assert dm.get_value("1.2", values, "cmi.core.lesson_status") == dm.Result("not attempted", 0)
    assert dm.get_value("1.2", values, "cmi.core.student_name") == dm.Result("Doe, Jo", 0)
    assert dm.get_value("1.2", values, "cmi.suspend_data") == dm.Result("", 0)
    assert dm.get_value("1.2", values, "cmi.core.exit").error == 404
    assert dm.get_value("1.2", values, "cmi.core.bogus").error == 201
    assert dm.get_value("1.2", values, "cmi.core._children").value.startswith("student_id,")
    assert dm.get_value("1.2", values, "cmi.core.student_id._children").error == 202
    assert dm.get_value("1.2", values, "cmi.core._count").error == 203


@pytest.mark.parametrize(
    ("element", "value", "error"),
    [
        ("cmi.core.lesson_status", "passed", 0),
        ("cmi.core.lesson_status", "not attempted", 405),
        ("cmi.core.lesson_status", "done", 405),
        ("cmi.core.score.raw", "85.5", 0),
        ("cmi.core.score.raw", "", 0),
        ("cmi.core.score.raw", "101", 405),
        ("cmi.core.score.raw", "lots", 405),
        ("cmi.core.exit", "suspend", 0),
        ("cmi.core.exit", "normal", 405),
        ("cmi.core.session_time", "0001:02:03.5", 0),
        ("cmi.core.session_time", "PT1M", 405),
        ("cmi.core.student_name", "Me", 403),
        ("cmi.core._children", "x", 402),
        ("cmi.suspend_data", "x" * 4097, 0),  # longer than 1.2 says: tools write more
        ("cmi.suspend_data", "x" * 64001, 405),
        ("cmi.student_preference.audio", "101", 405),
        ("cmi.interactions.0.id", "q 1", 405),
        ("cmi.interactions.0.result", "wrong", 0),
    ],
)
def test_12_set_value_checks(element, value, error):
    assert dm.set_value("1.2", {}, element, value) == error


@pytest.mark.parametrize(
    ("element", "value", "error"),
    [
        ("cmi.completion_status", "completed", 0),
        ("cmi.completion_status", "passed", 406),
        ("cmi.success_status", "failed", 0),
        ("cmi.score.scaled", "0.8", 0),
        ("cmi.score.scaled", "1.5", 407),
        ("cmi.score.scaled", "high", 406),
        ("cmi.progress_measure", "-0.1", 407),
        ("cmi.exit", "normal", 0),
        ("cmi.session_time", "PT1H2M3.25S", 0),
        ("cmi.session_time", "01:00:00", 406),
        ("cmi.location", "x" * 1001, 406),
        ("cmi.learner_id", "me", 404),
        ("cmi._version", "2", 404),
        ("cmi.bogus", "x", 401),
        ("cmi.interactions.1.id", "q1", 351),
        ("cmi.interactions.0.type", "choice", 408),
        ("adl.nav.request", "continue", 0),
        ("adl.nav.request", "{target=sco2}choice", 0),
        ("adl.nav.request", "jump around", 406),
        ("cmi.comments_from_learner.0.comment", "{lang=en}Nice", 0),
        ("cmi.comments_from_learner.0.timestamp", "2026-11-23T10:00:00Z", 0),
        ("cmi.comments_from_learner.0.timestamp", "yesterday", 406),
    ],
)
def test_2004_set_value_checks(element, value, error):
    assert dm.set_value("2004", {}, element, value) == error


def test_2004_uninitialised_values_answer_403_and_defaults_answer_without_error():
    assert dm.get_value("2004", {}, "cmi.location") == dm.Result("", 403)
    assert dm.get_value("2004", {}, "cmi.completion_status") == dm.Result("unknown", 0)
    assert dm.get_value("2004", {}, "cmi.session_time").error == 405
    assert dm.get_value("2004", {}, "cmi._version") == dm.Result("1.0", 0)
    assert dm.get_value("2004", {}, "cmi.interactions.0.id").error == 301
    assert dm.get_value("2004", {}, "cmi.location._children").error == 301
    assert dm.get_value("2004", {}, "cmi.nothing._count").error == 401


def test_collections_grow_one_member_at_a_time_and_count():
    values: dict[str, str] = {}
    assert dm.set_value("2004", values, "cmi.interactions.0.id", "q1") == 0
    assert dm.set_value("2004", values, "cmi.interactions.0.type", "choice") == 0
    assert dm.set_value("2004", values, "cmi.interactions.0.correct_responses.0.pattern", "a") == 0
    assert dm.set_value("2004", values, "cmi.interactions.2.id", "q3") == 351
    assert dm.set_value("2004", values, "cmi.interactions.1.id", "q2") == 0
    assert dm.get_value("2004", values, "cmi.interactions._count") == dm.Result("2", 0)
    assert dm.get_value("2004", values, "cmi.interactions.0.correct_responses._count").value == "1"


def test_2004_objective_ids_are_unique_and_fixed():
    values: dict[str, str] = {}
    assert dm.set_value("2004", values, "cmi.objectives.0.id", "obj-a") == 0
    assert dm.set_value("2004", values, "cmi.objectives.1.id", "obj-a") == 351
    assert dm.set_value("2004", values, "cmi.objectives.0.id", "obj-b") == 351
    assert dm.set_value("2004", values, "cmi.objectives.0.score.scaled", "0.5") == 0


def test_12_comments_append():
    values: dict[str, str] = {}
    dm.set_value("1.2", values, "cmi.comments", "Hello ")
    dm.set_value("1.2", values, "cmi.comments", "world")
    assert values["cmi.comments"] == "Hello world"


def test_times_parse_and_format_both_ways():
    assert dm.parse_timespan12("0001:30:15.50") == 5415.5
    assert dm.parse_duration("PT1H30M15.5S") == 5415.5
    assert dm.parse_duration("P1DT1S") == 86401
    assert dm.format_timespan12(5415.5) == "0001:30:15.50"
    assert dm.format_duration(5415.5) == "PT1H30M15.50S"
    assert dm.parse_duration("nonsense") == 0


@given(st.floats(min_value=0, max_value=3_000_000, allow_nan=False))
def test_formatted_times_parse_back(seconds):
    assert abs(dm.parse_duration(dm.format_duration(seconds)) - seconds) < 0.01
    assert abs(dm.parse_timespan12(dm.format_timespan12(seconds)) - seconds) < 0.01


def test_element_table_lists_every_error_string():
    table = dm.element_table("2004")
    assert table["errors"]["406"] == "Data Model Element Type Mismatch"
    assert table["elements"]["cmi.exit"] == ["wo", "exit2004"]
