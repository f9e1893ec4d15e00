"""Pure rules of progress (no ORM, no I/O): grading a knowledge check, course percent and
completion, attempts left, and the shuffled order of questions.

Services turn rows into the small frozen specs below (`GradableQuestion`, `GradableChoice`)
and ask these functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

SINGLE, MULTIPLE, TRUE_FALSE, SHORT = "single", "multiple", "true_false", "short"
TRUE, FALSE = "true", "false"

T = TypeVar("T")


@dataclass(frozen=True)
class GradableChoice:
    id: int
    is_correct: bool
    text: str = ""
    feedback: str = ""


@dataclass(frozen=True)
class GradableQuestion:
    """What grading needs to know about a question.

    true_false: the truth is the correct choice ("True"/"False" choices, as the catalogue
    creates them) or, without choices, the first accepted answer ("true"/"false").
    """

    id: int
    kind: str
    points: int = 1
    choices: tuple[GradableChoice, ...] = ()
    accepted_answers: tuple[str, ...] = ()
    correct_feedback: str = ""
    incorrect_feedback: str = ""


@dataclass(frozen=True)
class QuestionResult:
    correct: bool
    feedback: str

    def as_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "feedback": self.feedback}


@dataclass(frozen=True)
class GradeResult:
    results: dict[str, QuestionResult]  # str(question id) -> result
    score_percent: int
    passed: bool
    earned_points: int = 0
    total_points: int = 0

    def results_as_dict(self) -> dict[str, dict[str, Any]]:
        return {key: result.as_dict() for key, result in self.results.items()}


@dataclass(frozen=True)
class AnswerProblems:
    """Questions left unanswered, and answers that name choices the question does not have."""

    unanswered: list[int] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.unanswered or self.invalid)


# --- Answers ---------------------------------------------------------------------------------


def normalise_text(text: str) -> str:
    """Case- and whitespace-insensitive form of a short answer: lower-cased (casefold), inner
    runs of whitespace collapsed to one space, ends trimmed."""
    return " ".join(str(text).split()).casefold()


def _choice_ids(answer: Any) -> set[int] | None:
    """A choice answer as a set of ids (a list of ids, or one id); None if it is not one."""
    items = answer if isinstance(answer, list | tuple | set) else [answer]
    ids: set[int] = set()
    for item in items:
        if isinstance(item, bool):
            return None
        if isinstance(item, int):
            ids.add(item)
        elif isinstance(item, str) and item.strip().isdigit():
            ids.add(int(item.strip()))
        else:
            return None
    return ids


def _truth_of(question: GradableQuestion) -> bool:
    for choice in question.choices:
        if choice.is_correct:
            return normalise_text(choice.text) == TRUE
    if question.accepted_answers:
        return normalise_text(question.accepted_answers[0]) == TRUE
    return True


def _true_false_answer(question: GradableQuestion, answer: Any) -> bool | None:
    """The learner's true/false answer: "true"/"false" (any case), a bool, or the id of the
    True or False choice; None if it is none of these."""
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, str) and normalise_text(answer) in (TRUE, FALSE):
        return normalise_text(answer) == TRUE
    ids = _choice_ids(answer)
    if ids is not None and len(ids) == 1:
        (chosen,) = ids
        for choice in question.choices:
            if choice.id == chosen:
                return normalise_text(choice.text) == TRUE
    return None


def is_answered(answer: Any) -> bool:
    """Whether an answer says anything: not missing, not blank text, not an empty list."""
    if answer is None:
        return False
    if isinstance(answer, str):
        return bool(answer.strip())
    if isinstance(answer, list | tuple | set):
        return len(answer) > 0
    return True


def answer_problems(
    questions: Sequence[GradableQuestion], answers: Mapping[str, Any]
) -> AnswerProblems:
    """Which questions are unanswered and which answers do not fit their question (choice ids
    of other questions, more than one choice for a single-choice question, not true/false)."""
    unanswered: list[int] = []
    invalid: list[int] = []
    for question in questions:
        answer = answers.get(str(question.id))
        if not is_answered(answer):
            unanswered.append(question.id)
            continue
        if question.kind in (SINGLE, MULTIPLE):
            ids = _choice_ids(answer)
            own = {choice.id for choice in question.choices}
            if ids is None or not ids <= own or (question.kind == SINGLE and len(ids) != 1):
                invalid.append(question.id)
        elif question.kind == TRUE_FALSE:
            if _true_false_answer(question, answer) is None:
                invalid.append(question.id)
        elif not isinstance(answer, str):
            invalid.append(question.id)
    return AnswerProblems(unanswered=unanswered, invalid=invalid)


# --- Grading ---------------------------------------------------------------------------------


def _grade_one(question: GradableQuestion, answer: Any) -> QuestionResult:
    chosen_feedback = ""
    correct = False
    if question.kind in (SINGLE, MULTIPLE):
        ids = _choice_ids(answer) if is_answered(answer) else None
        ids = ids or set()
        right = {choice.id for choice in question.choices if choice.is_correct}
        # All and only the correct choices.
        correct = bool(right) and ids == right
        if question.kind == SINGLE and len(ids) != 1:
            correct = False
        chosen_feedback = " ".join(
            c.feedback for c in question.choices if c.id in ids and c.feedback
        )
    elif question.kind == TRUE_FALSE:
        said = _true_false_answer(question, answer) if is_answered(answer) else None
        correct = said is not None and said == _truth_of(question)
        if said is not None:
            for choice in question.choices:
                if (normalise_text(choice.text) == TRUE) == said and choice.feedback:
                    chosen_feedback = choice.feedback
    elif question.kind == SHORT:
        given = normalise_text(answer) if isinstance(answer, str) else ""
        accepted = {normalise_text(a) for a in question.accepted_answers}
        correct = bool(given) and given in accepted
    feedback = chosen_feedback or (
        question.correct_feedback if correct else question.incorrect_feedback
    )
    return QuestionResult(correct=correct, feedback=feedback)


def score_percent(*, earned: int, total: int) -> int:
    """Points earned as a percent of the total, rounded down (so 100 means everything right).
    A knowledge check worth no points scores 100."""
    if total <= 0:
        return 100
    return max(0, min(100, (100 * earned) // total))


def grade(
    questions: Sequence[GradableQuestion], answers: Mapping[str, Any], *, pass_mark: int
) -> GradeResult:
    """Grade answers (keyed by str(question id)) against the questions.

    single/multiple: correct when exactly the correct choices are chosen; true_false: the
    truth; short: case- and whitespace-insensitive match against the accepted answers. The
    feedback is the chosen choice's, else the question's correct/incorrect feedback. The
    score is points-weighted and rounded down; passed means score >= pass_mark.
    """
    results: dict[str, QuestionResult] = {}
    earned = total = 0
    for question in questions:
        result = _grade_one(question, answers.get(str(question.id)))
        results[str(question.id)] = result
        total += question.points
        if result.correct:
            earned += question.points
    score = score_percent(earned=earned, total=total)
    return GradeResult(
        results=results,
        score_percent=score,
        passed=score >= pass_mark,
        earned_points=earned,
        total_points=total,
    )


# --- Course progress -------------------------------------------------------------------------


def course_percent(required_done: int, required_total: int) -> int:
    """Percent of required activities done, rounded down (100 only when all are done).
    A course without required activities is at 0% until it is completed."""
    if required_total <= 0:
        return 0
    done = max(0, min(required_done, required_total))
    return (100 * done) // required_total


def is_course_complete(
    *,
    required_activity_ids: Collection[int],
    done_activity_ids: Collection[int],
    required_quiz_ids: Collection[int] = (),
    passed_quiz_ids: Collection[int] = (),
) -> bool:
    """Complete when every required activity is done and every required knowledge check is
    passed. A course with no requirement at all is never completed by this rule."""
    if not required_activity_ids and not required_quiz_ids:
        return False
    done = set(done_activity_ids)
    passed = set(passed_quiz_ids)
    quizzes = set(required_quiz_ids)
    others = set(required_activity_ids) - quizzes
    return others <= done and quizzes <= passed


def attempts_left(allowed: int, used: int) -> int | None:
    """Attempts still allowed; None when unlimited (allowed == 0)."""
    if allowed <= 0:
        return None
    return max(0, allowed - used)


def can_attempt(allowed: int, used: int) -> bool:
    left = attempts_left(allowed, used)
    return left is None or left > 0


# --- Shuffling -------------------------------------------------------------------------------


def shuffle_key(*, enrollment_id: int, activity_id: int, attempt_number: int, item_id: int) -> str:
    seed = f"{enrollment_id}:{activity_id}:{attempt_number}:{item_id}"
    return hashlib.sha256(seed.encode()).hexdigest()


def shuffled_order(
    ids: Iterable[int], *, enrollment_id: int, activity_id: int, attempt_number: int
) -> list[int]:
    """A permutation of `ids` that depends only on the seed (enrolment, activity, attempt
    number): the same attempt always shows the same order, another attempt another order."""
    return sorted(
        ids,
        key=lambda item_id: shuffle_key(
            enrollment_id=enrollment_id,
            activity_id=activity_id,
            attempt_number=attempt_number,
            item_id=item_id,
        ),
    )


def best_score(scores: Iterable[int]) -> int | None:
    values = list(scores)
    return max(values) if values else None
