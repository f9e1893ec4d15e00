"""Zip safety for uploaded packages (no ORM): which members of a zip may be stored, and why not.

A package is refused as a whole when any member is unsafe: a path that leaves the package
(absolute, drive letter, "..", backslash tricks), a symbolic link, an encrypted member, a name
that repeats, a file type that never belongs in web content (programs, scripts run by servers),
or when the sizes or the number of files pass the limits. Every problem is reported (up to
MAX_PROBLEMS), not only the first, as `FieldProblem`s on the field "package".
`copy_member` then extracts a checked member to storage (SCORM and cmi5 packages).
"""

from __future__ import annotations

import os
import posixpath
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from uptake.core.errors import FieldProblem

FIELD = "package"
MAX_PROBLEMS = 20
MANIFEST = "imsmanifest.xml"
# Programs and server-side scripts: never web content, often malware carried by a zip.
REFUSED_EXTENSIONS = frozenset(
    {"exe", "dll", "msi", "bat", "cmd", "com", "scr", "ps1", "vbs", "sh", "php", "phtml", "jsp",
     "asp", "aspx", "cgi", "pl", "py", "jar", "apk", "app", "dmg", "so", "dylib"}
)  # fmt: skip


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int
    max_file_bytes: int
    max_files: int


@dataclass(frozen=True)
class Member:
    name: str  # normalised, relative, "/"-separated
    info: zipfile.ZipInfo

    @property
    def size(self) -> int:
        return self.info.file_size


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


def member_name_problem(raw: str) -> str | None:
    """Why a member name is unsafe, or None."""
    if "\x00" in raw or any(ord(c) < 32 for c in raw):
        return _("“%(name)s” has control characters in its name.") % {"name": raw.encode()[:80]}
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return _("“%(name)s” is an absolute path; a package holds relative paths only.") % {
            "name": raw
        }
    parts = name.split("/")
    if any(part == ".." for part in parts):
        return _("“%(name)s” points outside the package (“..”).") % {"name": raw}
    if len(name) > 400:
        return _("“%(name)s…” has a name longer than 400 characters.") % {"name": raw[:60]}
    return None


def normalise(raw: str) -> str:
    """The stored path of a (safe) member name: "/"-separated, no "." or empty parts."""
    parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def extension(name: str) -> str:
    base = posixpath.basename(name)
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def check_members(
    infos: list[zipfile.ZipInfo], limits: Limits
) -> tuple[list[Member], list[FieldProblem]]:
    """The files to store (directories left out) and every problem that refuses the package."""
    problems: list[str] = []
    members: list[Member] = []
    seen: set[str] = set()
    total = 0
    for info in infos:
        raw = info.filename
        problem = member_name_problem(raw)
        if problem:
            problems.append(problem)
            continue
        name = normalise(raw)
        if info.is_dir() or not name:
            continue
        if _is_symlink(info):
            problems.append(
                _("“%(name)s” is a symbolic link; links are not allowed.") % {"name": raw}
            )
            continue
        if info.flag_bits & 0x1:
            problems.append(
                _("“%(name)s” is encrypted; upload a zip without a password.") % {"name": raw}
            )
            continue
        if extension(name) in REFUSED_EXTENSIONS:
            problems.append(
                _(
                    "“%(name)s” is a program or server script (.%(ext)s), which a package may "
                    "not contain."
                )
                % {"name": raw, "ext": extension(name)}
            )
            continue
        key = name.casefold()
        if key in seen:
            problems.append(_("“%(name)s” appears more than once in the zip.") % {"name": raw})
            continue
        seen.add(key)
        if info.file_size > limits.max_file_bytes:
            problems.append(
                _("“%(name)s” is %(size)s; a file in a package may be at most %(limit)s.")
                % {
                    "name": raw,
                    "size": human_bytes(info.file_size),
                    "limit": human_bytes(limits.max_file_bytes),
                }
            )
        total += info.file_size
        members.append(Member(name=name, info=info))
    if len(members) > limits.max_files:
        problems.append(
            _("The package has %(count)d files; at most %(limit)d are allowed.")
            % {"count": len(members), "limit": limits.max_files}
        )
    if total > limits.max_total_bytes:
        problems.append(
            _("The package unpacks to %(size)s; at most %(limit)s is allowed.")
            % {"size": human_bytes(total), "limit": human_bytes(limits.max_total_bytes)}
        )
    if not problems and MANIFEST not in {m.name for m in members}:
        nested = sorted(m.name for m in members if posixpath.basename(m.name) == MANIFEST)
        if nested:
            problems.append(
                _(
                    "imsmanifest.xml must be at the top of the zip, but it is at “%(path)s”: "
                    "zip the contents of the package folder, not the folder itself."
                )
                % {"path": nested[0]}
            )
        else:
            problems.append(
                _("The zip has no imsmanifest.xml at its top, so it is not a SCORM package.")
            )
    shown = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        shown.append(_("… and %(count)d more problems.") % {"count": len(problems) - MAX_PROBLEMS})
    return members, [FieldProblem(message, field=FIELD) for message in shown]


COPY_CHUNK = 1024 * 1024


def copy_member(
    zf: zipfile.ZipFile,
    member: Member,
    target: str,
    *,
    max_file_bytes: int,
    problem: Callable[[str], Exception],
) -> str:
    """Extract one checked member to storage under `target`, never writing more than it
    declared (zip bombs lie) nor more than `max_file_bytes`; `problem(message)` builds the
    error raised for a damaged or lying member. Returns the stored name."""
    allowed = min(member.size, max_file_bytes)
    with tempfile.SpooledTemporaryFile(max_size=8 * COPY_CHUNK) as tmp:
        written = 0
        try:
            with zf.open(member.info) as source:
                while chunk := source.read(COPY_CHUNK):
                    written += len(chunk)
                    if written > allowed:
                        raise problem(
                            _("“%(name)s” unpacks to more than the size the zip declares.")
                            % {"name": member.name}
                        )
                    tmp.write(chunk)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError):
            raise problem(
                _("“%(name)s” is damaged in the zip (its checksum or compression is wrong).")
                % {"name": member.name}
            ) from None
        tmp.seek(0)
        saved = default_storage.save(target, File(tmp, name=os.path.basename(target)))
    if saved != target:
        default_storage.delete(saved)
        raise problem(
            _("“%(name)s” could not be stored under its own name.") % {"name": member.name}
        )
    return saved
