"""Grading, course percent, completion, attempts and shuffling: pure rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from uptake.progress import rules
from uptake.progress.rules import GradableChoice, GradableQuestion


def single(qid: int = 1, *, points: int = 1) -> GradableQuestion:
    return GradableQuestion(
        id=qid,
        kind="single",
        points=points,
        choices=(
            GradableChoice(id=qid * 10 + 1, is_correct=True, text="Right", feedback="Yes!"),
            GradableChoice(id=qid * 10 + 2, is_correct=False, text="Wrong", feedback="No: see 2."),
            GradableChoice(id=qid * 10 + 3, is_correct=False, text="Other"),
        ),
        correct_feedback="Well done.",
        incorrect_feedback="Have another look.",
    )


def multiple(qid: int = 2) -> GradableQuestion:
    return GradableQuestion(
        id=qid,
        kind="multiple",
        choices=(
            GradableChoice(id=21, is_correct=True, text="A"),
            GradableChoice(id=22, is_correct=True, text="B"),
            GradableChoice(id=23, is_correct=False, text="C"),
        ),
        correct_feedback="All of them.",
        incorrect_feedback="Not quite.",
    )


def true_false(qid: int = 3, *, truth: bool = True) -> GradableQuestion:
    return GradableQuestion(
        id=qid,
        kind="true_false",
        choices=(
            GradableChoice(id=31, is_correct=truth, text="True", feedback="T feedback"),
            GradableChoice(id=32, is_correct=not truth, text="False"),
        ),
        correct_feedback="Correct.",
        incorrect_feedback="Incorrect.",
    )


def short(qid: int = 4) -> GradableQuestion:
    return GradableQuestion(
        id=qid,
        kind="short",
        accepted_answers=("Single Sign-On", "SSO"),
        correct_feedback="Yes.",
        incorrect_feedback="It is single sign-on.",
    )


# --- grade -------------------------------------------------------------------------------------


def test_single_choice_is_correct_with_the_correct_choice_and_gives_its_feedback() -> None:
    result = rules.grade([single()], {"1": [11]}, pass_mark=80)
    assert result.results["1"] == rules.QuestionResult(correct=True, feedback="Yes!")
    assert result.score_percent == 100
    assert result.passed is True


def test_wrong_choice_gives_the_chosen_choices_feedback() -> None:
    result = rules.grade([single()], {"1": [12]}, pass_mark=80)
    assert result.results["1"] == rules.QuestionResult(correct=False, feedback="No: see 2.")
    assert result.score_percent == 0
    assert result.passed is False


def test_choice_without_feedback_falls_back_to_the_questions_feedback() -> None:
    result = rules.grade([single()], {"1": ["13"]}, pass_mark=80)
    assert result.results["1"] == rules.QuestionResult(correct=False, feedback="Have another look.")


def test_multiple_choice_needs_all_and_only_the_correct_choices() -> None:
    q = multiple()
    assert rules.grade([q], {"2": [21, 22]}, pass_mark=50).results["2"].correct is True
    assert rules.grade([q], {"2": [22, 21]}, pass_mark=50).results["2"].correct is True
    assert rules.grade([q], {"2": [21]}, pass_mark=50).results["2"].correct is False
    assert rules.grade([q], {"2": [21, 22, 23]}, pass_mark=50).results["2"].correct is False
    assert rules.grade([q], {"2": [21, 22]}, pass_mark=50).results["2"].feedback == "All of them."
    assert rules.grade([q], {"2": [21]}, pass_mark=50).results["2"].feedback == "Not quite."


def test_true_false_is_graded_against_the_correct_choice() -> None:
    assert rules.grade([true_false()], {"3": "true"}, pass_mark=1).results["3"].correct is True
    assert rules.grade([true_false()], {"3": "TRUE "}, pass_mark=1).results["3"].correct is True
    assert rules.grade([true_false()], {"3": "false"}, pass_mark=1).results["3"].correct is False
    assert (
        rules.grade([true_false(truth=False)], {"3": "false"}, pass_mark=1).results["3"].correct
        is True
    )


def test_true_false_feedback_is_the_chosen_choices_else_the_questions() -> None:
    assert rules.grade([true_false()], {"3": "true"}, pass_mark=1).results["3"].feedback == (
        "T feedback"
    )
    assert rules.grade([true_false()], {"3": "false"}, pass_mark=1).results["3"].feedback == (
        "Incorrect."
    )


def test_true_false_without_choices_uses_the_accepted_answer() -> None:
    q = GradableQuestion(id=3, kind="true_false", accepted_answers=("false",))
    assert rules.grade([q], {"3": "false"}, pass_mark=1).results["3"].correct is True
    assert rules.grade([q], {"3": "true"}, pass_mark=1).results["3"].correct is False


def test_true_false_accepts_the_id_of_a_choice() -> None:
    assert rules.grade([true_false()], {"3": [31]}, pass_mark=1).results["3"].correct is True
    assert rules.grade([true_false()], {"3": [32]}, pass_mark=1).results["3"].correct is False


def test_short_answer_matches_ignoring_case_and_whitespace() -> None:
    for answer in ("single sign-on", "  SINGLE   sign-on ", "sso", "Single\tSign-On"):
        assert rules.grade([short()], {"4": answer}, pass_mark=1).results["4"].correct is True
    result = rules.grade([short()], {"4": "single signon"}, pass_mark=1)
    assert result.results["4"] == rules.QuestionResult(
        correct=False, feedback="It is single sign-on."
    )


def test_score_is_points_weighted_and_rounded_down() -> None:
    questions = [single(1, points=1), single(2, points=2)]
    # 2 of 3 points: 66.67% rounds down to 66.
    result = rules.grade(questions, {"1": [12], "2": [21]}, pass_mark=66)
    assert (result.score_percent, result.passed) == (66, True)
    assert (result.earned_points, result.total_points) == (2, 3)
    result = rules.grade(questions, {"1": [11], "2": [22]}, pass_mark=34)
    assert (result.score_percent, result.passed) == (33, False)


def test_passed_means_score_at_least_the_pass_mark() -> None:
    questions = [single(1), single(2), single(3), single(4), single(5)]
    answers = {"1": [11], "2": [21], "3": [31], "4": [41], "5": [52]}
    assert rules.grade(questions, answers, pass_mark=80).passed is True
    assert rules.grade(questions, answers, pass_mark=81).passed is False


def test_a_check_worth_no_points_scores_full_marks() -> None:
    assert rules.grade([], {}, pass_mark=80).score_percent == 100


def test_missing_answers_are_wrong() -> None:
    result = rules.grade([single(), short()], {}, pass_mark=50)
    assert [r.correct for r in result.results.values()] == [False, False]


# --- answer problems -----------------------------------------------------------------------------


def test_unanswered_questions_are_listed() -> None:
    problems = rules.answer_problems(
        [single(1), multiple(2), true_false(3), short(4)], {"1": [11], "2": [], "4": "   "}
    )
    assert problems.unanswered == [2, 3, 4]
    assert problems.invalid == []
    assert bool(problems) is True


def test_answers_naming_other_questions_choices_are_invalid() -> None:
    problems = rules.answer_problems(
        [single(1), multiple(2), true_false(3)], {"1": [11, 12], "2": [99], "3": "maybe"}
    )
    assert problems.unanswered == []
    assert problems.invalid == [1, 2, 3]


def test_complete_answers_have_no_problems() -> None:
    problems = rules.answer_problems(
        [single(1), multiple(2), true_false(3), short(4)],
        {"1": [11], "2": [21], "3": "false", "4": "x"},
    )
    assert not problems


# --- hypothesis --------------------------------------------------------------------------------

choice_sets = st.lists(st.booleans(), min_size=2, max_size=6).filter(any)


@st.composite
def quizzes(draw: st.DrawFn) -> tuple[list[GradableQuestion], dict[str, list[int]]]:
    questions = []
    answers: dict[str, list[int]] = {}
    for qid in range(1, draw(st.integers(min_value=1, max_value=8)) + 1):
        flags = draw(choice_sets)
        choices = tuple(
            GradableChoice(id=qid * 100 + n, is_correct=flag) for n, flag in enumerate(flags)
        )
        questions.append(
            GradableQuestion(
                id=qid,
                kind="multiple",
                points=draw(st.integers(min_value=0, max_value=5)),
                choices=choices,
            )
        )
        answers[str(qid)] = draw(st.lists(st.sampled_from([c.id for c in choices]), unique=True))
    return questions, answers


@given(quizzes(), st.integers(min_value=0, max_value=100))
def test_score_is_a_percent_and_passed_follows_the_pass_mark(quiz, pass_mark) -> None:  # type: ignore[no-untyped-def]
    questions, answers = quiz
    result = rules.grade(questions, answers, pass_mark=pass_mark)
    assert 0 <= result.score_percent <= 100
    assert result.passed == (result.score_percent >= pass_mark)
    assert set(result.results) == {str(q.id) for q in questions}


@given(quizzes())
def test_choosing_exactly_the_correct_choices_scores_100(quiz) -> None:  # type: ignore[no-untyped-def]
    questions, _answers = quiz
    answers = {str(q.id): [c.id for c in q.choices if c.is_correct] for q in questions}
    result = rules.grade(questions, answers, pass_mark=100)
    assert result.score_percent == 100
    assert result.passed is True
    assert all(r.correct for r in result.results.values())


@given(quizzes())
def test_score_is_never_more_than_the_share_of_points_earned(quiz) -> None:  # type: ignore[no-untyped-def]
    questions, answers = quiz
    result = rules.grade(questions, answers, pass_mark=0)
    earned = sum(q.points for q in questions if result.results[str(q.id)].correct)
    total = sum(q.points for q in questions)
    assert result.earned_points == earned
    if total:
        assert result.score_percent * total <= 100 * earned < (result.score_percent + 1) * total


@given(
    st.text(alphabet=st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=20),
    st.sampled_from(["upper", "lower", "title"]),
    st.text(alphabet=" \t", max_size=3),
)
def test_short_answers_ignore_case_and_surrounding_space(text, case, pad) -> None:  # type: ignore[no-untyped-def]
    if not text.strip():
        return
    q = GradableQuestion(id=1, kind="short", accepted_answers=(text,))
    given_answer = pad + getattr(text, case)() + pad
    if rules.normalise_text(getattr(text, case)()) != rules.normalise_text(text):
        return  # casing changes some letters' identity (e.g. ß); not a whitespace question
    assert rules.grade([q], {"1": given_answer}, pass_mark=100).passed is True


# --- course percent and completion ---------------------------------------------------------------


def test_course_percent_rounds_down() -> None:
    assert rules.course_percent(1, 3) == 33
    assert rules.course_percent(2, 3) == 66
    assert rules.course_percent(3, 3) == 100
    assert rules.course_percent(0, 0) == 0


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=500))
def test_course_percent_is_100_only_when_everything_is_done(done, total) -> None:  # type: ignore[no-untyped-def]
    percent = rules.course_percent(done, total)
    assert 0 <= percent <= 100
    assert (percent == 100) == (done >= total)


@given(st.integers(min_value=1, max_value=200))
def test_course_percent_never_falls_as_more_is_done(total) -> None:  # type: ignore[no-untyped-def]
    values = [rules.course_percent(done, total) for done in range(total + 1)]
    assert values == sorted(values)


def test_course_is_complete_when_required_activities_done_and_required_quizzes_passed() -> None:
    assert rules.is_course_complete(
        required_activity_ids=[1, 2, 3],
        done_activity_ids=[1, 2],
        required_quiz_ids=[3],
        passed_quiz_ids=[3],
    )


def test_course_is_not_complete_while_a_required_quiz_is_not_passed() -> None:
    assert not rules.is_course_complete(
        required_activity_ids=[1, 2, 3],
        done_activity_ids=[1, 2, 3],
        required_quiz_ids=[3],
        passed_quiz_ids=[],
    )


def test_course_is_not_complete_while_a_required_activity_is_not_done() -> None:
    assert not rules.is_course_complete(
        required_activity_ids=[1, 2], done_activity_ids=[1, 9], required_quiz_ids=[]
    )


def test_course_without_requirements_is_not_completed_by_the_rule() -> None:
    assert not rules.is_course_complete(required_activity_ids=[], done_activity_ids=[1])


# --- attempts ------------------------------------------------------------------------------------


def test_attempts_left() -> None:
    assert rules.attempts_left(3, 0) == 3
    assert rules.attempts_left(3, 2) == 1
    assert rules.attempts_left(3, 3) == 0
    assert rules.attempts_left(3, 5) == 0
    assert rules.attempts_left(0, 99) is None


def test_zero_allowed_attempts_means_unlimited() -> None:
    assert rules.can_attempt(0, 1000) is True
    assert rules.can_attempt(2, 1) is True
    assert rules.can_attempt(2, 2) is False


# --- shuffling -----------------------------------------------------------------------------------


@given(
    st.lists(st.integers(min_value=1, max_value=10**6), unique=True, max_size=30),
    st.integers(min_value=1),
    st.integers(min_value=1),
    st.integers(min_value=1, max_value=50),
)
def test_shuffled_order_is_a_deterministic_permutation(ids, enrollment_id, activity_id, n) -> None:  # type: ignore[no-untyped-def]
    order = rules.shuffled_order(
        ids, enrollment_id=enrollment_id, activity_id=activity_id, attempt_number=n
    )
    assert sorted(order) == sorted(ids)
    assert order == rules.shuffled_order(
        list(reversed(ids)), enrollment_id=enrollment_id, activity_id=activity_id, attempt_number=n
    )


def test_another_attempt_gets_another_order() -> None:
    ids = list(range(1, 21))
    orders = {
        tuple(rules.shuffled_order(ids, enrollment_id=7, activity_id=3, attempt_number=n))
        for n in range(1, 6)
    }
    assert len(orders) == 5
    assert tuple(ids) not in orders
