"""Zip safety: what may be stored, and every reason a zip is refused."""

from __future__ import annotations

import io
import zipfile

from uptake.scorm.archive import Limits, check_members
from uptake.scorm.tests.packages import build_zip

LIMITS = Limits(max_total_bytes=10_000, max_file_bytes=5_000, max_files=5)


def _check(files: dict[str, bytes], limits: Limits = LIMITS, **kw):  # type: ignore[no-untyped-def]
    data = build_zip(files, **kw)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members, problems = check_members(zf.infolist(), limits)
    return [m.name for m in members], [p.message for p in problems]


def test_a_clean_package_keeps_every_file_and_no_problem():
    names, problems = _check({"imsmanifest.xml": b"<m/>", "a/b.html": b"x", "./c.js": b"y"})
    assert problems == []
    assert names == ["imsmanifest.xml", "a/b.html", "c.js"]


def test_zip_slip_and_absolute_paths_are_refused():
    _names, problems = _check(
        {
            "imsmanifest.xml": b"",
            "../evil.html": b"",
            "/etc/passwd": b"",
            "C:/win.ini": b"",
            "a\\..\\..\\b.html": b"",
        }
    )
    assert sum("outside the package" in p for p in problems) == 2
    assert sum("absolute path" in p for p in problems) == 2


def test_symlinks_are_refused():
    _names, problems = _check({"imsmanifest.xml": b""}, symlinks={"link.html": "/etc/passwd"})
    assert problems == ["“link.html” is a symbolic link; links are not allowed."]


def test_programs_and_duplicates_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("imsmanifest.xml", b"")
        zf.writestr("setup.exe", b"MZ")
        zf.writestr("Page.html", b"")
        zf.writestr("page.html", b"")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as zf:
        _members, problems = check_members(zf.infolist(), LIMITS)
    messages = [p.message for p in problems]
    assert any("setup.exe" in m and "program" in m for m in messages)
    assert any("page.html” appears more than once" in m for m in messages)


def test_size_and_count_limits_are_reported_with_figures():
    _names, problems = _check(
        {
            "imsmanifest.xml": b"",
            "big.mp4": b"0" * 6_000,
            "a": b"0" * 4_500,
            "b": b"",
            "c": b"",
            "d": b"",
        }
    )
    assert "“big.mp4” is 5.9 KB; a file in a package may be at most 4.9 KB." in problems
    assert "The package has 6 files; at most 5 are allowed." in problems
    assert "The package unpacks to 10.3 KB; at most 9.8 KB is allowed." in problems


def test_manifest_must_be_at_the_top():
    _names, problems = _check({"course/imsmanifest.xml": b"", "course/index.html": b""})
    assert "“course/imsmanifest.xml”" in problems[0]
    assert "zip the contents of the package folder" in problems[0]
    _names, problems = _check({"index.html": b""})
    assert problems == ["The zip has no imsmanifest.xml at its top, so it is not a SCORM package."]
