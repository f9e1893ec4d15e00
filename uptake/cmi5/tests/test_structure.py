"""cmi5.xml is read as the specification says, and every kind of invalid structure is named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from uptake.cmi5 import structure
from uptake.cmi5.tests.content import AU1, AU2, BLOCK, COURSE_ID, au, block, cmi5_xml


def problems(xml: bytes, files: list[str] | None = None) -> list[str]:
    with pytest.raises(structure.StructureInvalid) as exc:
        structure.parse(xml, files)
    return [p.message for p in exc.value.problems]


def test_a_course_with_a_block_and_aus_is_read_with_every_au_attribute():
    xml = cmi5_xml(
        au(
            AU1,
            attrs='moveOn="Completed" launchMethod="OwnWindow" '
            'activityType="http://adlnet.gov/expapi/activities/media"',
            extra="<launchParameters> level=1 </launchParameters>"
            "<entitlementKey>xyz-123</entitlementKey>",
        )
        + block(au(AU2, title="Quiz", attrs='moveOn="Passed" masteryScore="0.75"'))
    )
    parsed = structure.parse(xml)
    assert parsed.id == COURSE_ID
    assert parsed.title.default == "Fire safety"
    assert [b.id for b in parsed.blocks] == [BLOCK]
    first, second = parsed.aus
    assert (first.id, first.move_on, first.launch_method) == (AU1, "Completed", "OwnWindow")
    assert first.launch_parameters == "level=1"  # white space trimmed (13.1)
    assert first.entitlement_key == "xyz-123"
    assert first.activity_type == "http://adlnet.gov/expapi/activities/media"
    assert first.block == "" and first.mastery_score is None
    assert (second.block, second.move_on, second.mastery_score) == (
        BLOCK,
        "Passed",
        Decimal("0.75"),
    )


def test_defaults_are_not_applicable_and_any_window():
    parsed = structure.parse(cmi5_xml(au(attrs="")))
    assert (parsed.aus[0].move_on, parsed.aus[0].launch_method) == ("NotApplicable", "AnyWindow")


def test_vendor_extensions_in_other_namespaces_are_ignored():
    extra = '<ext:meta xmlns:ext="https://vendor.example.com/x"><ext:au id="nope"/></ext:meta>'
    parsed = structure.parse(cmi5_xml(au() + extra))
    assert len(parsed.aus) == 1


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (au(attrs='moveOn="Sometimes"'), "moveOn “Sometimes” is not one of"),
        (au(attrs='masteryScore="1.5"'), "masteryScore “1.5” must be a decimal from 0 to 1"),
        (au(attrs='masteryScore="high"'), "masteryScore “high” must be a decimal from 0 to 1"),
        (au(attrs='masteryScore="0.123456"'), "more than 4 decimal places"),
        (au(attrs='launchMethod="Popup"'), "launchMethod “Popup” is not AnyWindow or OwnWindow"),
        (au("not an iri"), "the id “not an iri” is not an IRI"),
        (au() + au(title="Again"), "is already used by"),
        (au(url=""), "has no <url>"),
        (au(url="ftp://example.com/a.html"), "uses “ftp:”"),
        (au(url="intro/index.html"), "is relative, but a cmi5.xml uploaded on its own"),
        (block(""), "holds no AU and no block"),
        ("", "the course structure holds no AU and no block"),
        (
            au().replace('<langstring lang="en-US">Introduction</langstring>', ""),
            "needs at least one",
        ),
    ],
)
def test_each_kind_of_invalid_structure_is_named(members, expected):
    found = problems(cmi5_xml(members))
    assert any(expected in message for message in found), found


def test_all_problems_are_listed_not_only_the_first():
    found = problems(cmi5_xml(au(attrs='moveOn="X"') + au(AU2, attrs='masteryScore="2"')))
    assert len(found) == 2


def test_a_relative_url_must_name_a_file_of_the_zip():
    xml = cmi5_xml(au(url="au/index.html?lang=en"))
    assert structure.parse(xml, ["cmi5.xml", "au/index.html"]).aus[0].relative
    assert any("not in the zip" in m for m in problems(xml, ["cmi5.xml"]))
    assert any(
        "points outside the package" in m
        for m in problems(cmi5_xml(au(url="../secret.html")), ["cmi5.xml"])
    )


def test_not_xml_wrong_root_and_entities_are_refused():
    assert "not well-formed XML" in problems(b"<courseStructure>")[0]
    assert "<courseStructure> root element" in problems(cmi5_xml(ns="http://other/ns"))[0]
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert "DTD or entities" in problems(bomb)[0]
    no_course = f'<courseStructure xmlns="{structure.NS}"/>'.encode()
    assert "no <course> element" in problems(no_course)[0]
