from __future__ import annotations

from dataclasses import dataclass

import pytest

from uptake.catalog import rules
from uptake.catalog.rules import (
    ActivitySpec,
    ChoiceSpec,
    CourseSpec,
    ModuleSpec,
    QuestionSpec,
)
from uptake.people.rules import CONTENT_OWNER, LEARNER, MANAGER, PLATFORM_ADMIN


def single(prompt: str = "Pick one", correct: int = 1) -> QuestionSpec:
    return QuestionSpec(
        kind="single",
        prompt=prompt,
        choices=tuple(ChoiceSpec(text=f"c{i}", is_correct=i < correct) for i in range(3)),
    )


def quiz(*questions: QuestionSpec, pass_mark: int = 80) -> ActivitySpec:
    return ActivitySpec(kind="quiz", title="Check", pass_mark=pass_mark, questions=questions)


def course(*activities: ActivitySpec, title: str = "Course") -> CourseSpec:
    return CourseSpec(title=title, modules=(ModuleSpec(title="M1", activities=activities),))


def messages(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [p.message for p in problems]


# --- publishing -------------------------------------------------------------------------------


def test_a_complete_course_has_no_publish_problems() -> None:
    assert (
        rules.publish_problems(course(ActivitySpec(kind="page", title="Read"), quiz(single())))
        == []
    )


def test_an_empty_course_lists_title_and_module_problems_together() -> None:
    problems = rules.publish_problems(CourseSpec(title=" ", modules=()))
    assert [(p.field, p.message) for p in problems] == [
        ("title", "A title is required."),
        ("modules", "Add at least one module before publishing."),
    ]


def test_a_module_without_activities_is_named() -> None:
    problems = rules.publish_problems(CourseSpec(title="C", modules=(ModuleSpec(title="Intro"),)))
    assert messages(problems) == ["The module “Intro” has no activities."]
    assert problems[0].field == "modules[0].activities"


def test_a_quiz_without_questions_cannot_be_published() -> None:
    problems = rules.publish_problems(course(quiz()))
    assert messages(problems) == ["The knowledge check “Check” has no questions."]


def test_every_problem_is_listed_not_only_the_first() -> None:
    bad = QuestionSpec(kind="short", prompt="Name it")
    problems = rules.publish_problems(
        course(
            quiz(single(correct=0), bad, pass_mark=120),
            ActivitySpec(kind="link", title="Site"),
            ActivitySpec(kind="file", title="Handout"),
        )
    )
    assert [p.field for p in problems] == [
        "modules[0].activities[0].pass_mark",
        "modules[0].activities[0].questions[0].choices",
        "modules[0].activities[0].questions[1].accepted_answers",
        "modules[0].activities[1].url",
        "modules[0].activities[2].file",
    ]


def test_a_video_needs_a_file_or_a_url() -> None:
    assert messages(rules.publish_problems(course(ActivitySpec(kind="video", title="V")))) == [
        "The video “V” needs an uploaded file or a web address."
    ]
    assert (
        rules.publish_problems(course(ActivitySpec(kind="video", title="V", has_file=True))) == []
    )
    assert (
        rules.publish_problems(
            course(ActivitySpec(kind="video", title="V", url="https://x.org/a.mp4"))
        )
        == []
    )


def test_a_link_with_a_javascript_url_cannot_be_published() -> None:
    problems = rules.publish_problems(
        course(ActivitySpec(kind="link", title="L", url="javascript:alert(1)"))
    )
    assert messages(problems) == ["Enter a full web address starting with https:// or http://."]


@pytest.mark.parametrize(("mark", "ok"), [(-1, False), (0, True), (100, True), (101, False)])
def test_pass_mark_is_a_percentage(mark: int, ok: bool) -> None:
    assert (rules.pass_mark_problem(mark) is None) is ok


# --- questions --------------------------------------------------------------------------------


def test_single_choice_needs_exactly_one_correct_choice() -> None:
    assert rules.question_problems(single(correct=1)) == []
    assert messages(rules.question_problems(single(correct=2))) == [
        "A single-choice question needs exactly one correct choice (it has 2)."
    ]
    assert messages(rules.question_problems(single(correct=0))) == [
        "A single-choice question needs exactly one correct choice (it has 0)."
    ]


def test_multiple_choice_needs_at_least_one_correct_choice() -> None:
    ok = QuestionSpec(
        kind="multiple",
        prompt="Pick",
        choices=(ChoiceSpec("a", True), ChoiceSpec("b", True), ChoiceSpec("c")),
    )
    none = QuestionSpec(kind="multiple", prompt="Pick", choices=(ChoiceSpec("a"), ChoiceSpec("b")))
    assert rules.question_problems(ok) == []
    assert messages(rules.question_problems(none)) == [
        "A multiple-choice question needs at least one correct choice."
    ]


def test_choice_questions_need_two_choices_with_text() -> None:
    q = QuestionSpec(kind="single", prompt="P", choices=(ChoiceSpec(" ", True),))
    assert messages(rules.question_problems(q)) == [
        "Every choice needs some text.",
        "A choice question needs at least two choices.",
    ]


def test_true_false_has_exactly_true_and_false_with_one_correct() -> None:
    ok = QuestionSpec(
        kind="true_false",
        prompt="Sky is blue",
        choices=rules.true_false_choices(correct_answer=True),
    )
    assert rules.question_problems(ok) == []
    both = QuestionSpec(
        kind="true_false", prompt="P", choices=(ChoiceSpec("True", True), ChoiceSpec("False", True))
    )
    assert messages(rules.question_problems(both)) == [
        "Mark either True or False as the correct answer."
    ]
    odd = QuestionSpec(
        kind="true_false", prompt="P", choices=(ChoiceSpec("Yes", True), ChoiceSpec("No"))
    )
    assert messages(rules.question_problems(odd)) == [
        "A true/false question has exactly the choices True and False."
    ]


def test_true_false_choices_put_true_first() -> None:
    assert rules.true_false_choices(correct_answer=False) == (
        ChoiceSpec("True", False),
        ChoiceSpec("False", True),
    )


def test_short_answer_needs_an_accepted_answer_and_no_choices() -> None:
    ok = QuestionSpec(kind="short", prompt="Capital of France?", accepted_answers=("Paris",))
    assert rules.question_problems(ok) == []
    blank = QuestionSpec(
        kind="short", prompt="P", accepted_answers=("  ",), choices=(ChoiceSpec("x"),)
    )
    assert messages(rules.question_problems(blank)) == [
        "A short-answer question needs at least one accepted answer.",
        "A short-answer question has no choices.",
    ]


def test_a_question_needs_a_prompt_and_a_known_kind() -> None:
    assert messages(rules.question_problems(QuestionSpec(kind="essay", prompt="P"))) == [
        "Unknown question type “essay”."
    ]
    q = QuestionSpec(kind="short", prompt=" ", accepted_answers=("a",))
    assert messages(rules.question_problems(q)) == ["The question needs a prompt."]


def test_accepted_answers_are_trimmed_and_deduplicated_ignoring_case() -> None:
    assert rules.clean_accepted_answers([" Paris ", "paris", "", "Ville  Lumière"]) == [
        "Paris",
        "Ville Lumière",
    ]
    assert rules.normalise_answer("  New   YORK ") == "new york"


# --- who may edit -----------------------------------------------------------------------------


@dataclass
class Owned:
    owner_id: int | None


def test_platform_admin_edits_any_course() -> None:
    assert rules.can_edit_course({PLATFORM_ADMIN, LEARNER}, 1, Owned(owner_id=2))
    assert rules.can_edit_course({PLATFORM_ADMIN}, 1, Owned(owner_id=None))


def test_content_owner_edits_only_their_own_courses() -> None:
    assert rules.can_edit_course({CONTENT_OWNER}, 7, Owned(owner_id=7))
    assert not rules.can_edit_course({CONTENT_OWNER}, 7, Owned(owner_id=8))
    assert not rules.can_edit_course({CONTENT_OWNER}, 7, Owned(owner_id=None))


def test_learners_and_managers_edit_nothing_and_create_nothing() -> None:
    assert not rules.can_edit_course({LEARNER, MANAGER}, 7, Owned(owner_id=7))
    assert not rules.can_create_course({LEARNER, MANAGER})
    assert rules.can_create_course({CONTENT_OWNER})


# --- files, urls, slugs, order ----------------------------------------------------------------


def test_safe_filename_drops_directories_and_odd_characters() -> None:
    assert rules.safe_filename("../../etc/passwd") == "passwd"
    assert rules.safe_filename("C:\\Users\\me\\Rapport final (v2).PDF") == "Rapport-final-v2.pdf"
    assert rules.safe_filename("Ünïcödé naïve.docx") == "Unicode-naive.docx"
    assert rules.safe_filename("<script>.pdf") == "script.pdf"
    assert rules.safe_filename("....") == "file"


def test_uploads_are_checked_by_kind_extension_and_size() -> None:
    assert rules.upload_problems(kind="file", filename="a.pdf", size=10, max_bytes=100) == []
    assert rules.upload_problems(kind="video", filename="a.webm", size=10, max_bytes=100) == []
    assert messages(
        rules.upload_problems(kind="video", filename="a.pdf", size=200, max_bytes=100)
    ) == [
        "A video activity accepts these file types: mp4, ogg, webm (not “pdf”).",
        "The file is 200 bytes; the limit is 100 bytes.",
    ]
    assert messages(
        rules.upload_problems(kind="file", filename="evil.html", size=1, max_bytes=100)
    ) == [
        "A file activity accepts these file types: csv, docx, jpg, pdf, png, pptx, txt, xlsx, zip "
        "(not “html”)."
    ]
    assert messages(
        rules.upload_problems(kind="page", filename="a.pdf", size=1, max_bytes=100)
    ) == ["Only video and file activities take an uploaded file."]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/x", True),
        ("http://example.com", True),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
        ("//example.com", False),
        ("/relative", False),
        ("https://exa mple.com", False),
    ],
)
def test_only_absolute_http_urls_are_accepted(url: str, ok: bool) -> None:
    assert (rules.url_problem(url) is None) is ok


def test_direct_video_urls_are_recognised_by_extension() -> None:
    assert rules.is_direct_video_url("https://cdn.example.com/a/intro.MP4?sig=1")
    assert not rules.is_direct_video_url("https://vimeo.com/12345")


def test_unique_slug_adds_a_number_when_taken() -> None:
    assert rules.unique_slug("Sales Starter", set()) == "sales-starter"
    assert (
        rules.unique_slug("Sales Starter", {"sales-starter", "sales-starter-2"})
        == "sales-starter-3"
    )
    assert rules.unique_slug("!!!", set()) == "course"
    assert len(rules.unique_slug("x" * 300, {"x" * 120})) == 120


def test_tags_are_normalised_and_limited() -> None:
    assert rules.normalise_tags([" Sales ", "sales", "On  Boarding", ""]) == [
        "sales",
        "on boarding",
    ]
    assert messages(rules.tags_problems(["x" * 41])) == [
        f"The tag “{'x' * 41}” is longer than 40 characters."
    ]


def test_moving_swaps_with_the_neighbour_and_stops_at_the_ends() -> None:
    assert rules.moved([1, 2, 3], 2, "up") == [2, 1, 3]
    assert rules.moved([1, 2, 3], 2, "down") == [1, 3, 2]
    assert rules.moved([1, 2, 3], 1, "up") == [1, 2, 3]
    assert rules.moved([1, 2, 3], 3, "down") == [1, 2, 3]
