"""Pure rules of the catalogue (no ORM, no I/O): what a publishable course is, what each kind of
question needs, who may edit a course, file and URL checks, slugs and ordering.

Services turn rows into the small frozen specs below and ask these functions; every problem is
returned (never only the first), as `FieldProblem`s whose `field` names where it is, e.g.
"modules[0].activities[2].questions[1].choices".
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

from django.utils.text import slugify
from django.utils.translation import gettext as _

from uptake.core.errors import FieldProblem
from uptake.people.rules import CONTENT_OWNER, PLATFORM_ADMIN

# Kinds, spelled as in catalog/models.py (kept here so the rules need no ORM import).
PAGE, VIDEO, FILE, LINK, QUIZ = "page", "video", "file", "link", "quiz"
SCORM = "scorm"  # its package is uploaded through uptake.scorm, which keeps the zip as `file`
CMI5 = "cmi5"  # an AU of a course structure imported through uptake.cmi5 (cmi5.xml as `file`)
ACTIVITY_KINDS = (PAGE, VIDEO, FILE, LINK, QUIZ, SCORM, CMI5)
SINGLE, MULTIPLE, TRUE_FALSE, SHORT = "single", "multiple", "true_false", "short"
QUESTION_KINDS = (SINGLE, MULTIPLE, TRUE_FALSE, SHORT)
CHOICE_KINDS = (SINGLE, MULTIPLE, TRUE_FALSE)

# True/false questions always have exactly these two choices, in this order.
TRUE_TEXT, FALSE_TEXT = "True", "False"

ALLOWED_EXTENSIONS: dict[str, frozenset[str]] = {
    VIDEO: frozenset({"mp4", "webm", "ogg"}),
    FILE: frozenset({"pdf", "docx", "xlsx", "pptx", "txt", "csv", "zip", "png", "jpg"}),
}
DIRECT_VIDEO_EXTENSIONS = frozenset({"mp4", "webm", "ogg"})
MAX_TAGS = 20
MAX_TAG_LENGTH = 40

Direction = Literal["up", "down"]


# --- Specs: what the rules look at, built by services from rows -------------------------------


@dataclass(frozen=True)
class ChoiceSpec:
    text: str
    is_correct: bool = False
    feedback: str = ""


@dataclass(frozen=True)
class QuestionSpec:
    kind: str
    prompt: str
    choices: tuple[ChoiceSpec, ...] = ()
    accepted_answers: tuple[str, ...] = ()
    points: int = 1


@dataclass(frozen=True)
class ActivitySpec:
    kind: str
    title: str
    url: str = ""
    has_file: bool = False
    pass_mark: int = 80
    attempts_allowed: int = 0
    questions: tuple[QuestionSpec, ...] = ()


@dataclass(frozen=True)
class ModuleSpec:
    title: str
    activities: tuple[ActivitySpec, ...] = ()


@dataclass(frozen=True)
class CourseSpec:
    title: str
    modules: tuple[ModuleSpec, ...] = field(default_factory=tuple)


# --- Who may edit ------------------------------------------------------------------------------


class Owned(Protocol):
    @property
    def owner_id(self) -> int | None: ...


def can_create_course(viewer_roles: Collection[str]) -> bool:
    """Content owners and platform admins create courses."""
    return PLATFORM_ADMIN in viewer_roles or CONTENT_OWNER in viewer_roles


def can_edit_course(viewer_roles: Collection[str], person_id: int | None, course: Owned) -> bool:
    """A platform admin edits any course of the tenant; a content owner edits the courses they
    own (an unowned course is the admins' to hand over); nobody else edits."""
    if PLATFORM_ADMIN in viewer_roles:
        return True
    return (
        CONTENT_OWNER in viewer_roles
        and person_id is not None
        and course.owner_id is not None
        and course.owner_id == person_id
    )


def can_author(viewer_roles: Collection[str]) -> bool:
    """Sees drafts and the authoring screens (editing a given course still needs
    `can_edit_course`)."""
    return can_create_course(viewer_roles)


# --- Fields ------------------------------------------------------------------------------------


def title_problem(title: str, *, field_name: str = "title") -> FieldProblem | None:
    if not title or not title.strip():
        return FieldProblem(_("A title is required."), field=field_name)
    if len(title.strip()) > 200:
        return FieldProblem(_("A title can have at most 200 characters."), field=field_name)
    return None


def pass_mark_problem(pass_mark: int, *, field_name: str = "pass_mark") -> FieldProblem | None:
    if not 0 <= pass_mark <= 100:
        return FieldProblem(
            _("The pass mark must be a percentage from 0 to 100 (it is %(value)s).")
            % {"value": pass_mark},
            field=field_name,
        )
    return None


def attempts_problem(attempts: int, *, field_name: str = "attempts_allowed") -> FieldProblem | None:
    if attempts < 0:
        return FieldProblem(
            _("Attempts allowed cannot be negative (0 means unlimited)."), field=field_name
        )
    return None


def url_problem(url: str, *, field_name: str = "url") -> FieldProblem | None:
    """Only absolute http(s) URLs with a host: no javascript:, data:, file: or relative URLs."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return FieldProblem(_("This is not a valid web address."), field=field_name)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return FieldProblem(
            _("Enter a full web address starting with https:// or http://."), field=field_name
        )
    if any(ch.isspace() for ch in url.strip()):
        return FieldProblem(_("A web address cannot contain spaces."), field=field_name)
    return None


def is_direct_video_url(url: str) -> bool:
    """A URL that points straight at a video file we can play in <video> (.mp4/.webm/.ogg)."""
    path = urlsplit(url).path.lower()
    return "." in path and path.rsplit(".", 1)[-1] in DIRECT_VIDEO_EXTENSIONS


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Tags are trimmed, lower-cased, de-duplicated, in the order given."""
    out: list[str] = []
    for tag in tags:
        clean = " ".join(str(tag).split()).lower()
        if clean and clean not in out:
            out.append(clean)
    return out


def tags_problems(tags: Sequence[str], *, field_name: str = "tags") -> list[FieldProblem]:
    problems = []
    if len(tags) > MAX_TAGS:
        problems.append(
            FieldProblem(
                _("A course can have at most %(n)d tags.") % {"n": MAX_TAGS}, field=field_name
            )
        )
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            problems.append(
                FieldProblem(
                    _("The tag “%(tag)s” is longer than %(n)d characters.")
                    % {"tag": tag[:50], "n": MAX_TAG_LENGTH},
                    field=field_name,
                )
            )
    return problems


def normalise_answer(text: str) -> str:
    """How short answers compare: case- and space-insensitively."""
    return " ".join(text.split()).casefold()


def clean_accepted_answers(answers: Iterable[str]) -> list[str]:
    """Trimmed, without blanks or duplicates (by `normalise_answer`), in the order given."""
    out: list[str] = []
    seen: set[str] = set()
    for answer in answers:
        text = " ".join(str(answer).split())
        key = normalise_answer(text)
        if key and key not in seen:
            seen.add(key)
            out.append(text)
    return out


# --- Files -------------------------------------------------------------------------------------


def file_extension(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/"))
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def safe_filename(filename: str, *, max_length: int = 80) -> str:
    """A storage-safe name from whatever a browser sent: no directories, ASCII letters, digits,
    dashes and underscores, the extension kept (lower-cased). Never empty."""
    name = os.path.basename(filename.replace("\\", "/"))
    ext = file_extension(name)
    stem = name[: -(len(ext) + 1)] if ext else name
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_.")[:max_length] or "file"
    ext = re.sub(r"[^a-z0-9]", "", ext)[:10]
    return f"{stem}.{ext}" if ext else stem


def upload_problems(
    *, kind: str, filename: str, size: int, max_bytes: int, field_name: str = "file"
) -> list[FieldProblem]:
    """Every reason an upload is refused: wrong kind of activity, extension, or too large."""
    allowed = ALLOWED_EXTENSIONS.get(kind)
    if kind == SCORM:
        return [
            FieldProblem(
                _("A SCORM package is uploaded in the activity's “SCORM package” section."),
                field=field_name,
            )
        ]
    if kind == CMI5:
        return [
            FieldProblem(
                _("cmi5 content is imported on the course's authoring screen (cmi5.xml or zip)."),
                field=field_name,
            )
        ]
    if allowed is None:
        return [
            FieldProblem(
                _("Only video and file activities take an uploaded file."), field=field_name
            )
        ]
    problems = []
    ext = file_extension(filename)
    if ext not in allowed:
        problems.append(
            FieldProblem(
                _("A %(kind)s activity accepts these file types: %(types)s (not “%(ext)s”).")
                % {"kind": kind, "types": ", ".join(sorted(allowed)), "ext": ext or _("none")},
                field=field_name,
            )
        )
    if size > max_bytes:
        problems.append(
            FieldProblem(
                _("The file is %(size)s; the limit is %(limit)s.")
                % {"size": human_bytes(size), "limit": human_bytes(max_bytes)},
                field=field_name,
            )
        )
    if size == 0:
        problems.append(FieldProblem(_("The file is empty."), field=field_name))
    return problems


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


# --- Questions ---------------------------------------------------------------------------------


def true_false_choices(*, correct_answer: bool) -> tuple[ChoiceSpec, ChoiceSpec]:
    """The two choices of a true/false question: "True" first, then "False"."""
    return (
        ChoiceSpec(text=TRUE_TEXT, is_correct=correct_answer),
        ChoiceSpec(text=FALSE_TEXT, is_correct=not correct_answer),
    )


def question_problems(question: QuestionSpec, *, where: str = "") -> list[FieldProblem]:
    """Every way a question breaks its kind's invariants.

    single and true_false: exactly one correct choice; multiple: at least one; choice kinds need
    at least two non-blank choices (true_false exactly "True" and "False"); short: at least one
    accepted answer and no choices.
    """
    prefix = f"{where}." if where else ""
    problems: list[FieldProblem] = []
    if question.kind not in QUESTION_KINDS:
        return [
            FieldProblem(
                _("Unknown question type “%(kind)s”.") % {"kind": question.kind},
                field=f"{prefix}kind",
            )
        ]
    if not question.prompt.strip():
        problems.append(FieldProblem(_("The question needs a prompt."), field=f"{prefix}prompt"))
    if question.points < 0:
        problems.append(FieldProblem(_("Points cannot be negative."), field=f"{prefix}points"))
    choices_field = f"{prefix}choices"
    if question.kind == SHORT:
        if not clean_accepted_answers(question.accepted_answers):
            problems.append(
                FieldProblem(
                    _("A short-answer question needs at least one accepted answer."),
                    field=f"{prefix}accepted_answers",
                )
            )
        if question.choices:
            problems.append(
                FieldProblem(_("A short-answer question has no choices."), field=choices_field)
            )
        return problems
    if any(not c.text.strip() for c in question.choices):
        problems.append(FieldProblem(_("Every choice needs some text."), field=choices_field))
    correct = sum(1 for c in question.choices if c.is_correct)
    if question.kind == TRUE_FALSE:
        if [c.text for c in question.choices] != [TRUE_TEXT, FALSE_TEXT]:
            problems.append(
                FieldProblem(
                    _("A true/false question has exactly the choices True and False."),
                    field=choices_field,
                )
            )
        if correct != 1:
            problems.append(
                FieldProblem(
                    _("Mark either True or False as the correct answer."), field=choices_field
                )
            )
        return problems
    if len(question.choices) < 2:
        problems.append(
            FieldProblem(_("A choice question needs at least two choices."), field=choices_field)
        )
    if question.kind == SINGLE and correct != 1:
        problems.append(
            FieldProblem(
                _("A single-choice question needs exactly one correct choice (it has %(n)d).")
                % {"n": correct},
                field=choices_field,
            )
        )
    if question.kind == MULTIPLE and correct < 1:
        problems.append(
            FieldProblem(
                _("A multiple-choice question needs at least one correct choice."),
                field=choices_field,
            )
        )
    return problems


# --- Activities and courses --------------------------------------------------------------------


def activity_problems(activity: ActivitySpec, *, where: str = "") -> list[FieldProblem]:
    """What an activity needs before its course can be published."""
    prefix = f"{where}." if where else ""
    problems: list[FieldProblem] = []
    title = title_problem(activity.title, field_name=f"{prefix}title")
    if title:
        problems.append(title)
    if activity.kind not in ACTIVITY_KINDS:
        problems.append(
            FieldProblem(
                _("Unknown activity type “%(kind)s”.") % {"kind": activity.kind},
                field=f"{prefix}kind",
            )
        )
        return problems
    named = activity.title.strip() or _("untitled")
    if activity.kind == LINK:
        if not activity.url:
            problems.append(
                FieldProblem(
                    _("The link “%(title)s” needs a web address.") % {"title": named},
                    field=f"{prefix}url",
                )
            )
        elif (p := url_problem(activity.url, field_name=f"{prefix}url")) is not None:
            problems.append(p)
    elif activity.kind == VIDEO:
        if not activity.has_file and not activity.url:
            problems.append(
                FieldProblem(
                    _("The video “%(title)s” needs an uploaded file or a web address.")
                    % {"title": named},
                    field=f"{prefix}url",
                )
            )
        elif (
            activity.url
            and not activity.has_file
            and (p := url_problem(activity.url, field_name=f"{prefix}url")) is not None
        ):
            problems.append(p)
    elif activity.kind == FILE:
        if not activity.has_file:
            problems.append(
                FieldProblem(
                    _("The file activity “%(title)s” has no file uploaded.") % {"title": named},
                    field=f"{prefix}file",
                )
            )
    elif activity.kind == SCORM:
        if not activity.has_file:
            problems.append(
                FieldProblem(
                    _("The SCORM activity “%(title)s” has no package uploaded.") % {"title": named},
                    field=f"{prefix}file",
                )
            )
    elif activity.kind == CMI5:
        if not activity.has_file:
            problems.append(
                FieldProblem(
                    _(
                        "The cmi5 activity “%(title)s” has no course structure: import a "
                        "cmi5.xml or zip on the course's authoring screen."
                    )
                    % {"title": named},
                    field=f"{prefix}file",
                )
            )
    elif activity.kind == QUIZ:
        mark = pass_mark_problem(activity.pass_mark, field_name=f"{prefix}pass_mark")
        if mark:
            problems.append(mark)
        attempts = attempts_problem(
            activity.attempts_allowed, field_name=f"{prefix}attempts_allowed"
        )
        if attempts:
            problems.append(attempts)
        if not activity.questions:
            problems.append(
                FieldProblem(
                    _("The knowledge check “%(title)s” has no questions.") % {"title": named},
                    field=f"{prefix}questions",
                )
            )
        for q_index, question in enumerate(activity.questions):
            problems.extend(question_problems(question, where=f"{prefix}questions[{q_index}]"))
    return problems


def publish_problems(course: CourseSpec) -> list[FieldProblem]:
    """Every reason `course` cannot be published; empty when it can.

    A course needs a title and at least one module; every module needs at least one activity;
    every activity must be complete for its kind (see `activity_problems`).
    """
    problems: list[FieldProblem] = []
    title = title_problem(course.title)
    if title:
        problems.append(title)
    if not course.modules:
        problems.append(
            FieldProblem(_("Add at least one module before publishing."), field="modules")
        )
    for m_index, module in enumerate(course.modules):
        where = f"modules[{m_index}]"
        mtitle = title_problem(module.title, field_name=f"{where}.title")
        if mtitle:
            problems.append(mtitle)
        if not module.activities:
            problems.append(
                FieldProblem(
                    _("The module “%(title)s” has no activities.")
                    % {"title": module.title.strip() or _("untitled")},
                    field=f"{where}.activities",
                )
            )
        for a_index, activity in enumerate(module.activities):
            problems.extend(activity_problems(activity, where=f"{where}.activities[{a_index}]"))
    return problems


# --- Slugs and order ---------------------------------------------------------------------------


def unique_slug(title: str, taken: Collection[str], *, max_length: int = 120) -> str:
    """A slug for `title` not in `taken`: "intro", then "intro-2", "intro-3"..."""
    base = slugify(title)[:max_length].strip("-") or "course"
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: max_length - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        n += 1


def moved(ids: Sequence[int], item_id: int, direction: Direction) -> list[int]:
    """`ids` in order with `item_id` swapped one place up or down (unchanged at either end)."""
    order = list(ids)
    if item_id not in order:
        raise ValueError(f"{item_id} is not in the list")
    i = order.index(item_id)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
    return order
