"""Reading imsmanifest.xml: versions, items, resources, and precise refusals."""

from __future__ import annotations

import pytest

from uptake.scorm.manifest import ManifestInvalid, launch_path, parse
from uptake.scorm.tests.packages import Package, Sco, simple_12, simple_2004


def _messages(xml: str, files: set[str]) -> list[str]:
    with pytest.raises(ManifestInvalid) as caught:
        parse(xml.encode(), files)
    return [p.message for p in caught.value.problems]


def test_scorm_12_manifest_gives_version_title_and_launchable_sco():
    manifest = parse(simple_12().manifest().encode(), {"index.html", "imsmanifest.xml"})
    assert manifest.version == "1.2"
    assert manifest.edition == "SCORM 1.2"
    assert manifest.title == "Test package"
    assert [(i.identifier, i.title, i.href, i.scorm_type) for i in manifest.items] == [
        ("sco1", "Lesson one", "index.html", "sco")
    ]


def test_scorm_2004_4th_edition_is_detected():
    manifest = parse(simple_2004().manifest().encode(), {"index.html"})
    assert (manifest.version, manifest.edition) == ("2004", "SCORM 2004 4th Edition")


def test_version_comes_from_the_adlcp_namespace_without_schemaversion():
    xml = simple_2004().manifest().replace("<schemaversion>2004 4th Edition</schemaversion>", "")
    assert parse(xml.encode(), {"index.html"}).version == "2004"


def test_unknown_schema_version_is_refused_with_what_was_found():
    xml = (
        simple_12()
        .manifest()
        .replace("<schemaversion>1.2</schemaversion>", "<schemaversion>1.1</schemaversion>")
    )
    assert any("“1.1”" in m for m in _messages(xml, {"index.html"}))


def test_headings_parameters_and_mastery_score_are_read():
    package = Package(
        version="1.2",
        scos=[
            Sco("a", "Intro", "a.html?x=1", extra="<adlcp:masteryscore>80</adlcp:masteryscore>"),
        ],
    )
    xml = (
        package.manifest()
        .replace(
            '<item identifier="a"',
            '<item identifier="chapter"><title>Chapter 1</title><item identifier="a" parameters="?y=2"',
        )
        .replace("</item>\n    </organization>", "</item></item>\n    </organization>")
    )
    manifest = parse(xml.encode(), {"a.html"})
    heading, sco = manifest.items
    assert (heading.identifier, heading.href, heading.level) == ("chapter", "", 0)
    assert (sco.identifier, sco.href, sco.level, sco.mastery_score) == (
        "a",
        "a.html?x=1&y=2",
        1,
        80.0,
    )


def test_2004_passing_score_and_completion_threshold_are_read():
    extra = (
        '<adlcp:completionThreshold minProgressMeasure="0.75"/>'
        '<imsss:sequencing><imsss:objectives><imsss:primaryObjective objectiveID="p" '
        'satisfiedByMeasure="true"><imsss:minNormalizedMeasure>0.6</imsss:minNormalizedMeasure>'
        "</imsss:primaryObjective></imsss:objectives></imsss:sequencing>"
    )
    package = Package(version="2004", scos=[Sco("a", "A", "a.html", extra=extra)])
    item = parse(package.manifest().encode(), {"a.html"}).items[0]
    assert (item.completion_threshold, item.scaled_passing_score) == (0.75, 0.6)


def test_missing_launch_file_missing_resource_and_bad_scormtype_are_each_reported():
    package = Package(
        version="1.2",
        scos=[Sco("a", "A", "a.html"), Sco("b", "B", "b.html", scorm_type="lesson")],
    )
    xml = package.manifest().replace('identifierref="res-a"', 'identifierref="res-zzz"')
    messages = _messages(xml, {"a.html"})
    assert any("“res-zzz”, which the manifest does not list" in m for m in messages)
    assert any("adlcp:scormtype" in m and "“lesson”" in m for m in messages)
    assert any("“b.html”, which is not in the zip" in m for m in messages)


def test_outside_and_escaping_launch_addresses_are_refused():
    messages = _messages(
        Package(version="1.2", scos=[Sco("a", "A", "https://evil.example/x.html")]).manifest(),
        set(),
    )
    assert any("an outside address" in m for m in messages)
    messages = _messages(
        Package(version="1.2", scos=[Sco("a", "A", "../x.html")]).manifest(), set()
    )
    assert any("outside the package" in m for m in messages)


def test_not_xml_dtd_and_wrong_root_are_refused():
    assert "not well-formed XML" in _messages("<manifest><oops></manifest>", set())[0]
    bomb = '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa">]><manifest>&a;</manifest>'
    assert "DTD or entities" in _messages(bomb, set())[0]
    assert "must start with <manifest>" in _messages("<html/>", set())[0]


def test_manifest_without_organization_has_nothing_to_launch():
    xml = simple_12().manifest()
    start, end = (
        xml.index("<organizations"),
        xml.index("</organizations>") + len("</organizations>"),
    )
    assert any("no <organization>" in m for m in _messages(xml[:start] + xml[end:], {"index.html"}))


def test_launch_path_drops_query_and_decodes():
    assert launch_path("a%20b/c.html?x=1#top") == "a b/c.html"


def test_hrefs_are_stored_decoded_and_matched_regardless_of_case():
    package = Package(version="1.2", scos=[Sco("a", "A", "My%20Lesson/Index.HTML?x=1")])
    item = parse(package.manifest().encode(), {"my lesson/index.html"}).items[0]
    assert item.href == "my lesson/index.html?x=1"
