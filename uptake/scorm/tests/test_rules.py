"""What the LMS decides from a SCO's values: status, score, satisfaction, next entry."""

from __future__ import annotations

from uptake.scorm import rules
from uptake.scorm.rules import Thresholds


def test_12_completed_or_passed_satisfies_and_failed_does_not():
    for status, satisfied in [
        ("completed", True),
        ("passed", True),
        ("failed", False),
        ("incomplete", False),
        ("browsed", False),
    ]:
        outcome = rules.outcome("1.2", {"cmi.core.lesson_status": status}, Thresholds())
        assert outcome.satisfied is satisfied, status


def test_12_mastery_score_decides_at_finish():
    values = {"cmi.core.lesson_status": "completed", "cmi.core.score.raw": "70"}
    assert rules.at_finish("1.2", values, Thresholds(mastery_score=80)) == {
        "cmi.core.lesson_status": "failed"
    }
    values["cmi.core.score.raw"] = "80"
    assert rules.at_finish("1.2", values, Thresholds(mastery_score=80)) == {
        "cmi.core.lesson_status": "passed"
    }
    assert rules.at_finish("1.2", values, Thresholds()) == {}


def test_score_percent_from_raw_min_max_or_scaled():
    values = {"cmi.core.score.raw": "15", "cmi.core.score.min": "10", "cmi.core.score.max": "20"}
    assert rules.outcome("1.2", values, Thresholds()).score_percent == 50
    assert rules.outcome("2004", {"cmi.score.scaled": "0.8"}, Thresholds()).score_percent == 80


def test_2004_thresholds_decide_completion_and_success():
    values = {
        "cmi.progress_measure": "0.5",
        "cmi.score.scaled": "0.7",
        "cmi.completion_status": "completed",
        "cmi.success_status": "failed",
    }
    outcome = rules.outcome(
        "2004", values, Thresholds(completion_threshold=0.8, scaled_passing_score=0.6)
    )
    assert (outcome.completion, outcome.success) == ("incomplete", "passed")
    assert outcome.satisfied


def test_2004_completed_but_failed_is_not_satisfied():
    values = {"cmi.completion_status": "completed", "cmi.success_status": "failed"}
    assert not rules.outcome("2004", values, Thresholds()).satisfied


def test_suspend_resumes_and_other_exits_start_afresh_in_2004_only():
    assert rules.after_session(
        "1.2", {"cmi.core.exit": "suspend", "cmi.core.session_time": "0000:01:00"}
    ) == ("resume", 60, False)
    assert rules.after_session("1.2", {"cmi.core.exit": ""}) == ("", 0, False)
    assert rules.after_session("2004", {"cmi.exit": "suspend", "cmi.session_time": "PT2M"}) == (
        "resume",
        120,
        False,
    )
    assert rules.after_session("2004", {"cmi.exit": "normal"}) == ("", 0, True)


def test_nav_request_is_split_into_request_and_target():
    assert rules.nav_request({"adl.nav.request": "{target=b}choice"}) == ("choice", "b")
    assert rules.nav_request({}) == ("_none_", "")
