"""Reading a cmi5 course structure, `cmi5.xml` (no ORM, no I/O): the course, its blocks and
assignable units (AUs) in document order, and every reason the file cannot be imported.

Follows the cmi5 specification ("Quartz"), sections 13 and 14, and its CourseStructure.xsd:
elements in the namespace `https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd`, a
`course` with an IRI id, a title and a description (langstrings), then AUs and blocks (blocks
nest and hold at least one AU or block). Leading and trailing white space is removed from every
value, as the specification asks. Elements of other namespaces (vendor extensions) are ignored.
XML with a DTD or entity declarations is refused (defusedxml).

`url` of an AU: in a standalone cmi5.xml it must be absolute (http/https); in a zip it may be
relative, and then it must name a file of the zip (`files`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urlsplit

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.utils.translation import gettext as _

from uptake.core.errors import FieldProblem

NS = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"
FIELD = "structure"
MAX_PROBLEMS = 30
MOVE_ON = ("NotApplicable", "Passed", "Completed", "CompletedAndPassed", "CompletedOrPassed")
LAUNCH_METHODS = ("AnyWindow", "OwnWindow")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_DECIMAL = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Text:
    """A langstring set: {language: text}; `default` is the first one given."""

    values: tuple[tuple[str, str], ...]

    @property
    def default(self) -> str:
        return self.values[0][1] if self.values else ""

    def as_language_map(self) -> dict[str, str]:
        return {lang or "und": text for lang, text in self.values}


@dataclass(frozen=True)
class AU:
    id: str
    title: Text
    description: Text
    url: str
    launch_method: str = "AnyWindow"
    move_on: str = "NotApplicable"
    mastery_score: Decimal | None = None
    launch_parameters: str = ""
    entitlement_key: str = ""
    activity_type: str = ""
    block: str = ""  # id of the enclosing block, "" at the top
    level: int = 0
    relative: bool = False  # url is a file of the zip


@dataclass(frozen=True)
class Block:
    id: str
    title: Text
    description: Text
    parent: str = ""
    level: int = 0


@dataclass(frozen=True)
class CourseStructure:
    id: str
    title: Text
    description: Text
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    aus: tuple[AU, ...] = field(default_factory=tuple)


class StructureInvalid(Exception):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns(tag: Any) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _ours(node: Any) -> list[Any]:
    """Child elements in the cmi5 namespace (vendor extensions are left out)."""
    return [child for child in node if isinstance(child.tag, str) and _ns(child.tag) == NS]


def _child(node: Any, name: str) -> Any | None:
    return next((c for c in _ours(node) if _local(c.tag) == name), None)


def _text(node: Any | None) -> str:
    return (node.text or "").strip() if node is not None else ""


def is_iri(value: str) -> bool:
    return bool(_IRI.match(value))


def relative_path(url: str) -> str:
    """The file a relative AU url names inside the package (no query, fragment or "./")."""
    path = unquote(urlsplit(url).path)
    while path.startswith("./"):
        path = path[2:]
    return path


class _Reader:
    def __init__(self, files: Collection[str] | None) -> None:
        self.files = files  # None: a standalone cmi5.xml
        self.problems: list[str] = []
        self.ids: dict[str, str] = {}
        self.blocks: list[Block] = []
        self.aus: list[AU] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def langstrings(self, node: Any, name: str, where: str) -> Text:
        holder = _child(node, name)
        if holder is None:
            self.problem(_("%(where)s has no <%(name)s>.") % {"where": where, "name": name})
            return Text(())
        values = []
        for ls in _ours(holder):
            if _local(ls.tag) != "langstring":
                continue
            lang = (ls.get("lang") or "").strip()
            values.append((lang, _text(ls)))
        if not values:
            self.problem(
                _("%(where)s: <%(name)s> needs at least one <langstring>.")
                % {"where": where, "name": name}
            )
        elif name == "title" and not any(text for _lang, text in values):
            self.problem(_("%(where)s has an empty title.") % {"where": where})
        return Text(tuple(values))

    def identifier(self, node: Any, where: str) -> str:
        value = (node.get("id") or "").strip()
        if not value:
            self.problem(_("%(where)s has no id attribute.") % {"where": where})
        elif not is_iri(value):
            self.problem(
                _("%(where)s: the id “%(id)s” is not an IRI (e.g. https://example.com/au/1).")
                % {"where": where, "id": value[:200]}
            )
        elif value in self.ids:
            self.problem(
                _("%(where)s: the id “%(id)s” is already used by %(other)s; ids must be unique.")
                % {"where": where, "id": value[:200], "other": self.ids[value]}
            )
        else:
            self.ids[value] = where
        return value

    def url(self, raw: str, where: str) -> tuple[str, bool]:
        if not raw:
            self.problem(_("%(where)s has no <url>.") % {"where": where})
            return "", False
        if any(c.isspace() for c in raw):
            self.problem(
                _("%(where)s: the url “%(url)s” contains spaces; encode them as %%20.")
                % {"where": where, "url": raw[:200]}
            )
            return raw, False
        if _SCHEME.match(raw):
            scheme = raw.split(":", 1)[0].lower()
            if scheme not in ("http", "https"):
                self.problem(
                    _(
                        "%(where)s: the url “%(url)s” uses “%(scheme)s:”; Uptake launches AUs "
                        "in the browser (http or https)."
                    )
                    % {"where": where, "url": raw[:200], "scheme": scheme}
                )
            elif not urlsplit(raw).netloc:
                self.problem(
                    _("%(where)s: the url “%(url)s” has no host.")
                    % {"where": where, "url": raw[:200]}
                )
            return raw, False
        # A relative URL: only inside a zip, and it must name one of its files.
        if self.files is None:
            self.problem(
                _(
                    "%(where)s: the url “%(url)s” is relative, but a cmi5.xml uploaded on its "
                    "own must give full addresses (https://…); upload the zip with the AU files "
                    "instead."
                )
                % {"where": where, "url": raw[:200]}
            )
            return raw, True
        path = relative_path(raw)
        if raw.startswith("/") or any(part == ".." for part in path.split("/")):
            self.problem(
                _("%(where)s: the url “%(url)s” points outside the package.")
                % {"where": where, "url": raw[:200]}
            )
        elif path not in self.files:
            self.problem(
                _("%(where)s: the url “%(url)s” names “%(path)s”, which is not in the zip.")
                % {"where": where, "url": raw[:200], "path": path[:200]}
            )
        return raw, True

    def au(self, node: Any, *, block: str, level: int) -> None:
        where = _("AU %(n)d") % {"n": len(self.aus) + 1}
        au_id = self.identifier(node, where)
        if au_id:
            where = _("AU “%(id)s”") % {"id": au_id[:200]}
        title = self.langstrings(node, "title", where)
        description = self.langstrings(node, "description", where)
        move_on = (node.get("moveOn") or "NotApplicable").strip()
        if move_on not in MOVE_ON:
            self.problem(
                _("%(where)s: moveOn “%(value)s” is not one of %(allowed)s.")
                % {"where": where, "value": move_on[:60], "allowed": ", ".join(MOVE_ON)}
            )
        launch_method = (node.get("launchMethod") or "AnyWindow").strip()
        if launch_method not in LAUNCH_METHODS:
            self.problem(
                _("%(where)s: launchMethod “%(value)s” is not AnyWindow or OwnWindow.")
                % {"where": where, "value": launch_method[:60]}
            )
        mastery: Decimal | None = None
        raw_mastery = node.get("masteryScore")
        if raw_mastery is not None:
            try:
                mastery = Decimal(raw_mastery.strip()) if _DECIMAL.match(raw_mastery) else None
            except InvalidOperation:  # pragma: no cover - the pattern rules it out
                mastery = None
            if mastery is None or not (0 <= mastery <= 1):
                self.problem(
                    _("%(where)s: masteryScore “%(value)s” must be a decimal from 0 to 1.")
                    % {"where": where, "value": raw_mastery[:60]}
                )
                mastery = None
            elif mastery.as_tuple().exponent < -4:  # type: ignore[operator]
                self.problem(
                    _("%(where)s: masteryScore “%(value)s” has more than 4 decimal places.")
                    % {"where": where, "value": raw_mastery[:60]}
                )
        activity_type = (node.get("activityType") or "").strip()
        if activity_type and not is_iri(activity_type):
            self.problem(
                _("%(where)s: activityType “%(value)s” is not an IRI.")
                % {"where": where, "value": activity_type[:200]}
            )
        url, relative = self.url(_text(_child(node, "url")), where)
        self.aus.append(
            AU(
                id=au_id,
                title=title,
                description=description,
                url=url,
                launch_method=launch_method,
                move_on=move_on,
                mastery_score=mastery,
                launch_parameters=_text(_child(node, "launchParameters")),
                entitlement_key=_text(_child(node, "entitlementKey")),
                activity_type=activity_type,
                block=block,
                level=level,
                relative=relative,
            )
        )

    def members(self, node: Any, *, block: str, level: int, where: str) -> None:
        found = 0
        for child in _ours(node):
            name = _local(child.tag)
            if name == "au":
                found += 1
                self.au(child, block=block, level=level)
            elif name == "block":
                found += 1
                self.block(child, parent=block, level=level)
        if not found:
            self.problem(
                _("%(where)s holds no AU and no block; it needs at least one.") % {"where": where}
            )

    def block(self, node: Any, *, parent: str, level: int) -> None:
        where = _("block %(n)d") % {"n": len(self.blocks) + 1}
        block_id = self.identifier(node, where)
        if block_id:
            where = _("block “%(id)s”") % {"id": block_id[:200]}
        title = self.langstrings(node, "title", where)
        description = self.langstrings(node, "description", where)
        self.blocks.append(Block(block_id, title, description, parent=parent, level=level))
        self.members(node, block=block_id, level=level + 1, where=where)


def parse(xml: bytes, files: Collection[str] | None = None) -> CourseStructure:
    """The course structure of `xml`; `files`: the zip's files (None for a standalone
    cmi5.xml). StructureInvalid lists every problem found (up to MAX_PROBLEMS)."""

    def fail(messages: list[str]) -> StructureInvalid:
        shown = messages[:MAX_PROBLEMS]
        if len(messages) > MAX_PROBLEMS:
            shown.append(
                _("… and %(count)d more problems.") % {"count": len(messages) - MAX_PROBLEMS}
            )
        return StructureInvalid([FieldProblem(m, field=FIELD) for m in shown])

    try:
        root = fromstring(xml)
    except DefusedXmlException:
        raise fail(
            [_("cmi5.xml declares a DTD or entities, which are not allowed (they can be unsafe).")]
        ) from None
    except ParseError as exc:
        raise fail([_("cmi5.xml is not well-formed XML: %(error)s.") % {"error": exc}]) from None
    if _local(root.tag) != "courseStructure" or _ns(root.tag) != NS:
        raise fail(
            [
                _(
                    "cmi5.xml must have a <courseStructure> root element in the namespace "
                    "%(ns)s; found <%(tag)s>."
                )
                % {"ns": NS, "tag": root.tag[:200]}
            ]
        )
    reader = _Reader(files)
    course = _child(root, "course")
    if course is None:
        raise fail([_("cmi5.xml has no <course> element.")])
    course_id = reader.identifier(course, _("the course"))
    title = reader.langstrings(course, "title", _("the course"))
    description = reader.langstrings(course, "description", _("the course"))
    reader.members(root, block="", level=0, where=_("the course structure"))
    if reader.problems:
        raise fail(reader.problems)
    return CourseStructure(
        id=course_id,
        title=title,
        description=description,
        blocks=tuple(reader.blocks),
        aus=tuple(reader.aus),
    )
