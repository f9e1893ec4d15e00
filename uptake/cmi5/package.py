"""A cmi5 course package as uploaded: a standalone cmi5.xml, or a zip with cmi5.xml at its root
and the AU files. The zip gets the same safety checks as SCORM packages (uptake.scorm.archive:
paths that leave the package, links, encrypted members, programs, sizes), all problems listed;
members are extracted never writing more bytes than declared."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from uptake.core.errors import FieldProblem, ValidationFailed
from uptake.scorm import archive

FIELD = "package"
STRUCTURE = "cmi5.xml"
MAX_STRUCTURE_BYTES = 5 * 1024 * 1024


def refuse(problems: list[FieldProblem], detail: str | None = None) -> ValidationFailed:
    return ValidationFailed(
        detail or _("The cmi5 course was not imported: nothing was stored."), errors=problems
    )


def problem(message: str) -> ValidationFailed:
    return refuse([FieldProblem(message, field=FIELD)])


def limits() -> archive.Limits:
    return archive.Limits(
        max_total_bytes=getattr(settings, "UPTAKE_SCORM_MAX_TOTAL_BYTES", 500 * 1024 * 1024),
        max_file_bytes=getattr(settings, "UPTAKE_SCORM_MAX_FILE_BYTES", 200 * 1024 * 1024),
        max_files=getattr(settings, "UPTAKE_SCORM_MAX_FILES", 10_000),
    )


def max_upload_bytes() -> int:
    return int(getattr(settings, "UPTAKE_SCORM_MAX_UPLOAD_BYTES", settings.UPTAKE_MAX_UPLOAD_BYTES))


@dataclass(frozen=True)
class Upload:
    xml: bytes
    zip: zipfile.ZipFile | None
    members: tuple[archive.Member, ...] = ()

    @property
    def files(self) -> list[str] | None:
        return [m.name for m in self.members] if self.zip is not None else None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def check_members(
    infos: list[zipfile.ZipInfo], lim: archive.Limits
) -> tuple[list[archive.Member], list[str]]:
    """The files to store and every reason the zip is refused (archive.py's rules, with
    cmi5.xml instead of imsmanifest.xml at the root)."""
    problems: list[str] = []
    members: list[archive.Member] = []
    seen: set[str] = set()
    total = 0
    for info in infos:
        raw = info.filename
        reason = archive.member_name_problem(raw)
        if reason:
            problems.append(reason)
            continue
        name = archive.normalise(raw)
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
        ext = archive.extension(name)
        if ext in archive.REFUSED_EXTENSIONS:
            problems.append(
                _(
                    "“%(name)s” is a program or server script (.%(ext)s), which a package may "
                    "not contain."
                )
                % {"name": raw, "ext": ext}
            )
            continue
        if name.casefold() in seen:
            problems.append(_("“%(name)s” appears more than once in the zip.") % {"name": raw})
            continue
        seen.add(name.casefold())
        if info.file_size > lim.max_file_bytes:
            problems.append(
                _("“%(name)s” is %(size)s; a file in a package may be at most %(limit)s.")
                % {
                    "name": raw,
                    "size": archive.human_bytes(info.file_size),
                    "limit": archive.human_bytes(lim.max_file_bytes),
                }
            )
        total += info.file_size
        members.append(archive.Member(name=name, info=info))
    if len(members) > lim.max_files:
        problems.append(
            _("The package has %(count)d files; at most %(limit)d are allowed.")
            % {"count": len(members), "limit": lim.max_files}
        )
    if total > lim.max_total_bytes:
        problems.append(
            _("The package unpacks to %(size)s; at most %(limit)s is allowed.")
            % {
                "size": archive.human_bytes(total),
                "limit": archive.human_bytes(lim.max_total_bytes),
            }
        )
    if not problems and STRUCTURE not in {m.name for m in members}:
        nested = sorted(m.name for m in members if os.path.basename(m.name) == STRUCTURE)
        if nested:
            problems.append(
                _(
                    "cmi5.xml must be at the top of the zip, but it is at “%(path)s”: zip the "
                    "contents of the course folder, not the folder itself."
                )
                % {"path": nested[0]}
            )
        else:
            problems.append(_("The zip has no cmi5.xml at its top, so it is not a cmi5 package."))
    return members, problems


def open_upload(upload: File) -> Upload:
    """The cmi5.xml of the upload (and the zip, when it is one). ValidationFailed lists what is
    wrong with the file itself."""
    size = upload.size or 0
    name = os.path.basename(upload.name or "")
    if size == 0:
        raise problem(_("The file is empty."))
    if size > max_upload_bytes():
        raise problem(
            _("The file is %(size)s; the limit is %(limit)s.")
            % {
                "size": archive.human_bytes(size),
                "limit": archive.human_bytes(max_upload_bytes()),
            }
        )
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if not head.startswith(b"PK"):
        if size > MAX_STRUCTURE_BYTES:
            raise problem(_("cmi5.xml is larger than 5 MB."))
        data = upload.read()
        if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise problem(
                _("“%(name)s” is neither a cmi5.xml file nor a zip with cmi5.xml at its top.")
                % {"name": name}
            )
        return Upload(xml=data, zip=None)
    try:
        zf = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise problem(
            _("“%(name)s” is not a zip archive (or it is damaged).") % {"name": name}
        ) from None
    members, problems = check_members(zf.infolist(), limits())
    if problems:
        zf.close()
        shown = problems[: archive.MAX_PROBLEMS]
        if len(problems) > archive.MAX_PROBLEMS:
            shown.append(
                _("… and %(count)d more problems.")
                % {"count": len(problems) - archive.MAX_PROBLEMS}
            )
        raise refuse([FieldProblem(m, field=FIELD) for m in shown])
    member = next(m for m in members if m.name == STRUCTURE)
    if member.size > MAX_STRUCTURE_BYTES:
        zf.close()
        raise problem(_("cmi5.xml is larger than 5 MB."))
    try:
        xml = zf.read(member.info)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError):
        zf.close()
        raise problem(_("cmi5.xml is damaged in the zip.")) from None
    return Upload(xml=xml, zip=zf, members=tuple(members))


def extract(upload: Upload, directory: str) -> list[str]:
    """Store every member under `directory`; on failure, whatever was written is deleted."""
    assert upload.zip is not None
    written: list[str] = []
    try:
        for member in upload.members:
            written.append(
                archive.copy_member(
                    upload.zip,
                    member,
                    f"{directory}/{member.name}",
                    max_file_bytes=limits().max_file_bytes,
                    problem=problem,
                )
            )
    except BaseException:
        delete_files(written, directory)
        raise
    return written


def delete_files(names: Iterable[str], directory: str = "") -> None:
    for name in names:
        with contextlib.suppress(Exception):
            default_storage.delete(name)
    if directory:
        with contextlib.suppress(Exception):
            shutil.rmtree(default_storage.path(directory))
