"""Reading imsmanifest.xml (no ORM, no I/O): the SCORM version, the organisation's items, the
resource each launches, and every reason a manifest cannot be played.

Elements are matched by their local name (authoring tools disagree on namespace prefixes), but
the adlcp attributes are read in their namespace, as the standards write them: `adlcp:scormtype`
(1.2) and `adlcp:scormType` (2004). XML with a DTD or entity declarations is refused (defusedxml):
a manifest never needs them and they are how "billion laughs" attacks arrive.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.utils.translation import gettext as _

from uptake.core.errors import FieldProblem
from uptake.scorm.archive import member_name_problem, normalise
from uptake.scorm.datamodel import V12, V2004

FIELD = "package"
XML_NS = "{http://www.w3.org/XML/1998/namespace}"
ADLCP_12 = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
ADLCP_2004 = "http://www.adlnet.org/xsd/adlcp_v1p3"
SCHEMA_VERSIONS = {
    "1.2": (V12, "SCORM 1.2"),
    "cam 1.3": (V2004, "SCORM 2004 2nd Edition"),
    "2004 2nd edition": (V2004, "SCORM 2004 2nd Edition"),
    "2004 3rd edition": (V2004, "SCORM 2004 3rd Edition"),
    "2004 4th edition": (V2004, "SCORM 2004 4th Edition"),
}
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Item:
    """One item of the organisation, in document order; `level` 0 is a top-level item. An item
    without `href` is a heading (an aggregation of the items below it)."""

    identifier: str
    title: str
    level: int
    href: str = ""  # launch path relative to the package, with query/fragment
    resource: str = ""
    scorm_type: str = ""  # "sco" (talks to the API) or "asset"
    visible: bool = True
    mastery_score: float | None = None  # 1.2, 0..100
    scaled_passing_score: float | None = None  # 2004, -1..1
    completion_threshold: float | None = None  # 2004, 0..1
    launch_data: str = ""
    max_time_allowed: str = ""
    time_limit_action: str = ""


@dataclass(frozen=True)
class Manifest:
    version: str
    edition: str
    identifier: str
    title: str
    items: tuple[Item, ...] = field(default_factory=tuple)

    @property
    def launchable(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.href)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "edition": self.edition,
            "identifier": self.identifier,
            "title": self.title,
            "items": [item.__dict__ for item in self.items],
        }


class ManifestInvalid(Exception):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(node: Any, name: str) -> list[Any]:
    return [child for child in node if _local(child.tag) == name]


def _child(node: Any, name: str) -> Any | None:
    found = _children(node, name)
    return found[0] if found else None


def _text(node: Any | None) -> str:
    return (node.text or "").strip() if node is not None else ""


def _detect_version(root: Any, problems: list[str]) -> tuple[str, str]:
    metadata = _child(root, "metadata")
    schema = _text(_child(metadata, "schemaversion")) if metadata is not None else ""
    if schema:
        found = SCHEMA_VERSIONS.get(schema.casefold())
        if found:
            return found
        problems.append(
            _(
                "imsmanifest.xml says its schema version is “%(version)s”; Uptake plays SCORM 1.2 "
                "(“1.2”) and SCORM 2004 (“2004 3rd Edition”, “2004 4th Edition”)."
            )
            % {"version": schema[:60]}
        )
        return "", ""
    # No schemaversion: the adlcp namespace in use tells.
    namespaces = {tag.split("}")[0][1:] for tag in (el.tag for el in root.iter()) if "}" in tag}
    for el in root.iter():
        namespaces.update(k.split("}")[0][1:] for k in el.attrib if k.startswith("{"))
    if ADLCP_2004 in namespaces:
        return V2004, "SCORM 2004"
    if ADLCP_12 in namespaces:
        return V12, "SCORM 1.2"
    problems.append(
        _(
            "imsmanifest.xml does not say which SCORM version it is (no <schemaversion> and no "
            "adlcp namespace)."
        )
    )
    return "", ""


def _float(text: str, lo: float, hi: float) -> float | None:
    if not text or not _DECIMAL.match(text.strip()):
        return None
    value = float(text)
    return value if lo <= value <= hi else None


def _launch_href(base: str, href: str, parameters: str) -> str:
    url = base + href
    if parameters:
        if parameters.startswith("?") and "?" in url:
            url += "&" + parameters[1:]
        elif parameters.startswith("#") and "#" in url:
            pass
        elif parameters.startswith(("?", "#")):
            url += parameters
        else:
            url += ("&" if "?" in url else "?") + parameters
    return url


def launch_path(href: str) -> str:
    """The file a launch URL names (query and fragment removed, percent-decoding undone)."""
    return normalise(unquote(urlsplit(href).path))


def parse(xml: bytes, files: Collection[str]) -> Manifest:
    """The manifest of a package whose files are `files` (normalised paths). ManifestInvalid
    lists every problem found."""
    problems: list[str] = []
    by_case = {name.casefold(): name for name in files}
    try:
        root = fromstring(xml)
    except DefusedXmlException:
        raise ManifestInvalid(
            [
                FieldProblem(
                    _("imsmanifest.xml declares a DTD or entities, which are not allowed."),
                    field=FIELD,
                )
            ]
        ) from None
    except ParseError as exc:
        raise ManifestInvalid(
            [
                FieldProblem(
                    _("imsmanifest.xml is not well-formed XML: %(error)s.") % {"error": exc},
                    field=FIELD,
                )
            ]
        ) from None
    if _local(root.tag) != "manifest":
        raise ManifestInvalid(
            [
                FieldProblem(
                    _("imsmanifest.xml must start with <manifest>, not <%(tag)s>.")
                    % {"tag": _local(root.tag)},
                    field=FIELD,
                )
            ]
        )
    version, edition = _detect_version(root, problems)
    resources_node = _child(root, "resources")
    resources_base = resources_node.get(XML_NS + "base", "") if resources_node is not None else ""
    resources: dict[str, Any] = {}
    for res in _children(resources_node, "resource") if resources_node is not None else []:
        ident = res.get("identifier", "")
        if not ident:
            problems.append(_("A <resource> has no identifier."))
        elif ident in resources:
            problems.append(_("Two resources have the identifier “%(id)s”.") % {"id": ident})
        else:
            resources[ident] = res
    orgs_node = _child(root, "organizations")
    organizations = _children(orgs_node, "organization") if orgs_node is not None else []
    organization = None
    if not organizations:
        problems.append(_("imsmanifest.xml has no <organization>: there is nothing to launch."))
    else:
        default = orgs_node.get("default", "") if orgs_node is not None else ""
        if default:
            organization = next((o for o in organizations if o.get("identifier") == default), None)
            if organization is None:
                problems.append(
                    _("The default organization “%(id)s” is not in the manifest.") % {"id": default}
                )
        else:
            organization = organizations[0]
    items: list[Item] = []
    seen: set[str] = set()
    adlcp = ADLCP_12 if version == V12 else ADLCP_2004
    type_attr = "scormtype" if version == V12 else "scormType"

    def walk(node: Any, level: int) -> None:
        for item in _children(node, "item"):
            ident = item.get("identifier", "")
            title = _text(_child(item, "title")) or ident
            if not ident:
                problems.append(_("An <item> (“%(title)s”) has no identifier.") % {"title": title})
            elif ident in seen:
                problems.append(_("Two items have the identifier “%(id)s”.") % {"id": ident})
            seen.add(ident)
            sub_items = _children(item, "item")
            ref = item.get("identifierref", "")
            href = scorm_type = ""
            if ref:
                res = resources.get(ref)
                if res is None:
                    problems.append(
                        _(
                            "The item “%(item)s” refers to the resource “%(ref)s”, which the "
                            "manifest does not list."
                        )
                        % {"item": ident, "ref": ref}
                    )
                else:
                    href, scorm_type = _resource_launch(res, ident, item, files)
            elif not sub_items:
                problems.append(
                    _("The item “%(item)s” has neither a resource to launch nor items below it.")
                    % {"item": ident}
                )
            items.append(_item(item, ident, title, level, href, ref, scorm_type))
            walk(item, level + 1)

    def _resource_launch(
        res: Any, ident: str, item: Any, files: Collection[str]
    ) -> tuple[str, str]:
        ref = res.get("identifier", "")
        raw_type = res.get(f"{{{adlcp}}}{type_attr}")
        if raw_type is None:
            # Tolerate the other spelling, which some tools write, but say which one is wrong.
            other = "scormType" if version == V12 else "scormtype"
            raw_type = res.get(f"{{{adlcp}}}{other}")
        scorm_type = (raw_type or "").strip().lower()
        if scorm_type not in ("sco", "asset"):
            problems.append(
                _(
                    "The resource “%(ref)s” must say adlcp:%(attr)s=“sco” or “asset” "
                    "(it says “%(value)s”)."
                )
                % {"ref": ref, "attr": type_attr, "value": raw_type or _("nothing")}
            )
        href = (res.get("href") or "").strip()
        if not href:
            problems.append(
                _("The resource “%(ref)s” of the item “%(item)s” has no href to launch.")
                % {"ref": ref, "item": ident}
            )
            return "", scorm_type
        url = _launch_href(
            resources_base + res.get(XML_NS + "base", ""), href, item.get("parameters", "")
        )
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            problems.append(
                _(
                    "The resource “%(ref)s” launches “%(href)s”, an outside address; a package "
                    "must contain its content."
                )
                % {"ref": ref, "href": href}
            )
            return "", scorm_type
        unsafe = member_name_problem(unquote(parts.path))
        if unsafe:
            problems.append(unsafe)
            return "", scorm_type
        path = launch_path(url)
        if path not in files:
            # Tools on Windows often get the case wrong; the zip has no two names differing
            # only by case (archive.py refuses them), so the match is unambiguous.
            path = by_case.get(path.casefold(), path)
        if path not in files:
            problems.append(
                _("The resource “%(ref)s” launches “%(path)s”, which is not in the zip.")
                % {"ref": ref, "path": path}
            )
            return "", scorm_type
        # The stored href is the file's real (decoded) path; the player quotes it again.
        return path + (f"?{parts.query}" if parts.query else "") + (
            f"#{parts.fragment}" if parts.fragment else ""
        ), scorm_type

    def _item(
        item: Any, ident: str, title: str, level: int, href: str, ref: str, scorm_type: str
    ) -> Item:
        extra: dict[str, Any] = {}
        if version == V12:
            mastery = _text(_child(item, "masteryscore"))
            if mastery:
                extra["mastery_score"] = _float(mastery, 0, 100)
                if extra["mastery_score"] is None:
                    problems.append(
                        _(
                            "The mastery score of the item “%(item)s” must be a number from 0 "
                            "to 100 (it is “%(value)s”)."
                        )
                        % {"item": ident, "value": mastery}
                    )
            extra["launch_data"] = _text(_child(item, "datafromlms"))
            extra["max_time_allowed"] = _text(_child(item, "maxtimeallowed"))
            extra["time_limit_action"] = _text(_child(item, "timelimitaction"))
        else:
            extra["launch_data"] = _text(_child(item, "dataFromLMS"))
            extra["time_limit_action"] = _text(_child(item, "timeLimitAction"))
            threshold = _child(item, "completionThreshold")
            if threshold is not None:
                value = threshold.get("minProgressMeasure") or _text(threshold)
                extra["completion_threshold"] = _float(value, 0, 1)
            sequencing = _child(item, "sequencing")
            objectives = _child(sequencing, "objectives") if sequencing is not None else None
            primary = _child(objectives, "primaryObjective") if objectives is not None else None
            if primary is not None and primary.get("satisfiedByMeasure", "").lower() == "true":
                measure = _text(_child(primary, "minNormalizedMeasure")) or "1.0"
                extra["scaled_passing_score"] = _float(measure, -1, 1)
        return Item(
            identifier=ident,
            title=title[:200],
            level=level,
            href=href,
            resource=ref,
            scorm_type=scorm_type if href else "",
            visible=item.get("isvisible", "true").strip().lower() != "false",
            **extra,
        )

    if organization is not None and version:
        walk(organization, 0)
        if not items:
            problems.append(_("The organization has no items: there is nothing to launch."))
        elif not any(item.href for item in items) and not problems:
            problems.append(_("No item of the organization launches anything."))
    if problems:
        raise ManifestInvalid([FieldProblem(message, field=FIELD) for message in problems[:20]])
    title = _text(_child(organization, "title")) if organization is not None else ""
    return Manifest(
        version=version,
        edition=edition,
        identifier=root.get("identifier", ""),
        title=(title or root.get("identifier", "") or _("SCORM package"))[:200],
        items=tuple(items),
    )
