"""Pure rules of SCORM play (no ORM, no I/O): what the LMS decides from the values a SCO set.

- Status the LMS evaluates: SCORM 1.2 mastery score (at LMSFinish, a raw score decides passed or
  failed); SCORM 2004 completion threshold (progress measure) and scaled passing score.
- When a SCO counts as done for Uptake (`is_satisfied`), and its score as a percent.
- What the next launch gets: `cmi.entry` "resume" after `exit` "suspend"; SCORM 2004 starts a new
  attempt (fresh data) after any other exit, SCORM 1.2 keeps the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from uptake.scorm.datamodel import V12, session_seconds

PASSED, FAILED, UNKNOWN = "passed", "failed", "unknown"


@dataclass(frozen=True)
class Thresholds:
    mastery_score: float | None = None  # 1.2: 0..100
    scaled_passing_score: float | None = None  # 2004: -1..1
    completion_threshold: float | None = None  # 2004: 0..1


@dataclass(frozen=True)
class Outcome:
    completion: str  # "completed" | "incomplete" | "not attempted" | "unknown"
    success: str  # "passed" | "failed" | "unknown"
    score_percent: float | None

    @property
    def satisfied(self) -> bool:
        """Done for Uptake: completed (or passed) and not failed."""
        return self.success == PASSED or (self.completion == "completed" and self.success != FAILED)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def evaluated(version: str, values: dict[str, str], thresholds: Thresholds) -> dict[str, str]:
    """The values the LMS decides (2004 completion and success, evaluated at every read);
    for 1.2 see `at_finish`."""
    if version == V12:
        return {}
    out: dict[str, str] = {}
    threshold = thresholds.completion_threshold
    progress = _number(values.get("cmi.progress_measure"))
    if threshold is not None and progress is not None:
        out["cmi.completion_status"] = "completed" if progress >= threshold else "incomplete"
    passing = thresholds.scaled_passing_score
    scaled = _number(values.get("cmi.score.scaled"))
    if passing is not None:
        out["cmi.success_status"] = (
            UNKNOWN if scaled is None else (PASSED if scaled >= passing else FAILED)
        )
    return out


def at_finish(version: str, values: dict[str, str], thresholds: Thresholds) -> dict[str, str]:
    """SCORM 1.2: at LMSFinish, a mastery score and a raw score decide passed or failed (when
    the SCO reported a completion-type status); nothing else changes."""
    if version != V12 or thresholds.mastery_score is None:
        return {}
    raw = _number(values.get("cmi.core.score.raw"))
    status = values.get("cmi.core.lesson_status", "not attempted")
    if raw is None or status in ("browsed",):
        return {}
    return {"cmi.core.lesson_status": PASSED if raw >= thresholds.mastery_score else FAILED}


def _percent(raw: float | None, low: float | None, high: float | None) -> float | None:
    if raw is None:
        return None
    low = 0.0 if low is None else low
    high = 100.0 if high is None else high
    if high <= low:
        return None
    return max(0.0, min(100.0, (raw - low) / (high - low) * 100))


def outcome(version: str, values: dict[str, str], thresholds: Thresholds) -> Outcome:
    """Completion, success and score (percent) of a SCO from its values."""
    merged = {**values, **evaluated(version, values, thresholds)}
    if version == V12:
        status = merged.get("cmi.core.lesson_status", "not attempted")
        completion = (
            "completed"
            if status in ("completed", "passed", "failed")
            else ("incomplete" if status in ("incomplete", "browsed") else "not attempted")
        )
        success = status if status in (PASSED, FAILED) else UNKNOWN
        score = _percent(
            _number(merged.get("cmi.core.score.raw")),
            _number(merged.get("cmi.core.score.min")),
            _number(merged.get("cmi.core.score.max")),
        )
        return Outcome(completion=completion, success=success, score_percent=score)
    scaled = _number(merged.get("cmi.score.scaled"))
    if scaled is not None:
        percent: float | None = max(0.0, min(100.0, scaled * 100))
    else:
        percent = _percent(
            _number(merged.get("cmi.score.raw")),
            _number(merged.get("cmi.score.min")),
            _number(merged.get("cmi.score.max")),
        )
    return Outcome(
        completion=merged.get("cmi.completion_status", "unknown"),
        success=merged.get("cmi.success_status", UNKNOWN),
        score_percent=percent,
    )


def exit_value(version: str, values: dict[str, str]) -> str:
    return values.get("cmi.core.exit" if version == V12 else "cmi.exit", "")


def after_session(version: str, values: dict[str, str]) -> tuple[str, float, bool]:
    """When a session ends: the next launch's entry ("resume" or ""), the session's seconds
    (added to the total) and whether the next launch starts a new attempt with fresh data."""
    seconds = session_seconds(version, values)
    if exit_value(version, values) == "suspend":
        return "resume", seconds, False
    return "", seconds, version != V12


# Values that belong to one session only: not kept for the next launch.
SESSION_ONLY = ("cmi.core.exit", "cmi.core.session_time", "cmi.exit", "cmi.session_time",
                "adl.nav.request")  # fmt: skip


def nav_request(values: dict[str, str]) -> tuple[str, str]:
    """SCORM 2004 adl.nav.request as (request, target): ("continue", ""), ("choice", "id")..."""
    request = values.get("adl.nav.request", "_none_")
    if request.startswith("{target="):
        target, _sep, kind = request[len("{target=") :].partition("}")
        return kind, target
    return request, ""
