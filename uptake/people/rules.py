"""Pure rules about people and roles (no ORM, no I/O).

Besides roles, this module owns the HR CSV format: decoding, header checks, one cleaner per
attribute (shared with the API's create/update), the manager graph checks (unknown manager,
self-management, cycles) and the attribute diff that becomes `PersonChanged.changes`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator

from uptake.core.errors import FieldProblem

MANAGER = "manager"
LEARNER = "learner"
PLATFORM_ADMIN = "platform_admin"
CONTENT_OWNER = "content_owner"
DATA_STEWARD = "data_steward"
BUSINESS_SPONSOR = "business_sponsor"

GRANTABLE_ROLES = (PLATFORM_ADMIN, CONTENT_OWNER, DATA_STEWARD, BUSINESS_SPONSOR)


def effective_roles(*, granted: Iterable[str], has_reports: bool) -> frozenset[str]:
    """Everyone is a learner; anyone with reports is a manager; the rest are granted."""
    roles = {LEARNER, *granted}
    if has_reports:
        roles.add(MANAGER)
    return frozenset(roles)


# --- HR attributes ---------------------------------------------------------------------------

# Person attributes a CSV or the API may set (model field names; `manager` is handled apart).
TEXT_LIMITS: dict[str, int] = {
    "employee_id": 64,
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "job_title": 200,
    "role_family": 100,
    "department": 100,
    "location": 100,
    "employment_type": 40,
}
REQUIRED_ATTRIBUTES = ("employee_id", "email", "last_name")
ATTRIBUTES = (
    "employee_id",
    "email",
    "first_name",
    "last_name",
    "job_title",
    "role_family",
    "department",
    "location",
    "country",
    "time_zone",
    "language",
    "hire_date",
    "employment_type",
    "is_active",
)
DEFAULTS: dict[str, Any] = {"time_zone": "UTC", "language": "en", "is_active": True}
# Attributes that, when changed, make an update a "move" in the import preview.
MOVE_ATTRIBUTES = frozenset({"department", "location", "job_title", "role_family", "manager"})

# CSV columns -> attribute names (identical except these two).
COLUMN_TO_ATTRIBUTE = {a: a for a in ATTRIBUTES if a != "is_active"} | {
    "active": "is_active",
    "manager_employee_id": "manager",
}
ATTRIBUTE_TO_COLUMN = {v: k for k, v in COLUMN_TO_ATTRIBUTE.items()}
KNOWN_COLUMNS = frozenset(COLUMN_TO_ATTRIBUTE)
REQUIRED_COLUMNS = ("employee_id", "email", "last_name")
CUSTOM_PREFIX = "custom."
CUSTOM_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$")

MAX_HIRE_DATE_AHEAD = dt.timedelta(days=365)
_COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")
_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_email_validator = EmailValidator()


class CellError(ValueError):
    """A value that cannot be accepted; the message is shown to the user as is."""


def _as_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _clean_text(name: str) -> Callable[[Any], str]:
    limit = TEXT_LIMITS[name]

    def clean(value: Any) -> str:
        text = value.strip() if type(value) is str else _as_text(value)
        if len(text) > limit:
            raise CellError(f"is longer than {limit} characters")
        return text

    return clean


def clean_email(value: Any) -> str:
    text = _as_text(value)
    if len(text) > TEXT_LIMITS["email"]:
        raise CellError(f"is longer than {TEXT_LIMITS['email']} characters")
    try:
        _email_validator(text)
    except DjangoValidationError:
        raise CellError(f"{text!r} is not a valid email address") from None
    return text


def clean_country(value: Any) -> str:
    text = _as_text(value)
    if text and not _COUNTRY_RE.match(text):
        raise CellError(f"{text!r} is not a 2-letter ISO 3166 country code (e.g. GB, FR)")
    return text.upper()


def clean_language(value: Any) -> str:
    text = _as_text(value)
    if not _LANGUAGE_RE.match(text) or len(text) > 12:
        raise CellError(f"{text!r} is not a language tag (e.g. en, fr-CA)")
    return text


def clean_active(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _as_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(f"{_as_text(value)!r} is not one of true/false/1/0/yes/no")


def make_time_zone_cleaner(time_zones: frozenset[str]) -> Callable[[Any], str]:
    def clean(value: Any) -> str:
        text = _as_text(value)
        if text not in time_zones:
            raise CellError(f"{text!r} is not a known IANA time zone (e.g. Europe/Paris)")
        return text

    return clean


def make_hire_date_cleaner(today: dt.date) -> Callable[[Any], dt.date | None]:
    latest = today + MAX_HIRE_DATE_AHEAD

    def clean(value: Any) -> dt.date | None:
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            day = value
        else:
            text = _as_text(value)
            if not text:
                return None
            try:
                if not _DATE_RE.match(text):
                    raise ValueError
                day = dt.date.fromisoformat(text)
            except ValueError:
                raise CellError(f"{text!r} is not a date in the form YYYY-MM-DD") from None
        if day > latest:
            raise CellError(f"{day.isoformat()} is more than a year in the future")
        return day

    return clean


@dataclass(frozen=True)
class Cleaners:
    """The cleaner of every attribute for one moment (today) and one time zone database."""

    by_attribute: Mapping[str, Callable[[Any], Any]]

    @classmethod
    def build(cls, *, today: dt.date, time_zones: frozenset[str]) -> Cleaners:
        cleaners: dict[str, Callable[[Any], Any]] = {
            name: _clean_text(name) for name in TEXT_LIMITS
        }
        cleaners["email"] = clean_email
        cleaners["country"] = clean_country
        cleaners["language"] = clean_language
        cleaners["time_zone"] = make_time_zone_cleaner(time_zones)
        cleaners["hire_date"] = make_hire_date_cleaner(today)
        cleaners["is_active"] = clean_active
        return cls(by_attribute=cleaners)


def clean_custom(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Custom attributes: short keys, scalar values (str, number, bool) or None to remove."""
    out: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for key, value in raw.items():
        if not isinstance(key, str) or not CUSTOM_KEY_RE.match(key):
            problems.append(FieldProblem(f"{key!r} is not a valid custom attribute name", "custom"))
        elif value is not None and not isinstance(value, str | int | float | bool):
            problems.append(FieldProblem("must be text, a number or true/false", f"custom.{key}"))
        else:
            out[key] = value.strip() if isinstance(value, str) else value
    return out, problems


def clean_attributes(
    raw: Mapping[str, Any], *, cleaners: Cleaners, creating: bool
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Clean the given attributes (model names); unknown names are reported, not ignored.

    Blank time_zone/language mean "keep" (the default for a new person). When `creating`, the
    required attributes must be present and non-blank. `manager`, `manager_id` and `custom` are
    left to the caller.
    """
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name, value in raw.items():
        cleaner = cleaners.by_attribute.get(name)
        if cleaner is None:
            problems.append(FieldProblem("is not a person attribute", name))
            continue
        if name in ("time_zone", "language") and not _as_text(value):
            continue
        if name in REQUIRED_ATTRIBUTES and not _as_text(value):
            problems.append(FieldProblem("is required", name))
            continue
        try:
            values[name] = cleaner(value)
        except CellError as exc:
            problems.append(FieldProblem(str(exc), name))
    if creating:
        for name in REQUIRED_ATTRIBUTES:
            if name not in raw:
                problems.append(FieldProblem("is required", name))
    return values, problems


# --- The CSV file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    """One valid CSV row. `values` holds only what the file sets (absent columns are kept).

    `manager` is the manager's employee id ("" = no manager, None = column absent); `custom`
    maps custom attribute names to values ("" removes the attribute).
    """

    line: int
    employee_id: str
    values: dict[str, Any]
    manager: str | None = None
    custom: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedFile:
    columns: list[str]
    rows: list[PersonRow]
    problems: list[FieldProblem]


def decode_csv(data: bytes | str) -> str:
    """The file's text: UTF-8 with or without a byte order mark. CellError if it is not UTF-8."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CellError(
            f"The file is not UTF-8 text (invalid byte at position {exc.start}); "
            "save it as 'CSV UTF-8' and upload it again."
        ) from None


def sniff_delimiter(text: str) -> str:
    """Comma or semicolon, whichever the header line uses more (column names contain neither)."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _normalise_column(name: str) -> str:
    name = name.strip()
    if name.lower().startswith(CUSTOM_PREFIX):
        return CUSTOM_PREFIX + name[len(CUSTOM_PREFIX) :].strip()
    return name.lower()


def _check_header(columns: list[str]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            problems.append(FieldProblem(f"Column {column!r} appears twice", column, 1))
        seen.add(column)
        if column.startswith(CUSTOM_PREFIX):
            key = column[len(CUSTOM_PREFIX) :]
            if not CUSTOM_KEY_RE.match(key):
                problems.append(
                    FieldProblem(f"{column!r} is not a valid custom attribute column", column, 1)
                )
        elif column not in KNOWN_COLUMNS:
            allowed = ", ".join(sorted(KNOWN_COLUMNS))
            problems.append(
                FieldProblem(
                    f"Unknown column {column!r}; expected {allowed} or custom.<name>",
                    column or None,
                    1,
                )
            )
    for required in REQUIRED_COLUMNS:
        if required not in seen:
            problems.append(FieldProblem(f"Required column {required!r} is missing", required, 1))
    return problems


_KEEP_IF_BLANK = frozenset({"time_zone", "language", "is_active"})


class _RowParser:
    """Cleans rows of one header: the work per column is decided once, not once per cell."""

    def __init__(self, columns: list[str], cleaners: Cleaners) -> None:
        self.layout: list[tuple[int, str, str, Callable[[Any], Any] | None]] = []
        for index, column in enumerate(columns):
            if column.startswith(CUSTOM_PREFIX):
                self.layout.append((index, column, "custom", None))
            elif column == "manager_employee_id":
                self.layout.append((index, column, "manager", None))
            else:
                attribute = COLUMN_TO_ATTRIBUTE[column]
                self.layout.append((index, column, attribute, cleaners.by_attribute[attribute]))

    def parse(self, cells: list[str], line: int) -> tuple[PersonRow | None, list[FieldProblem]]:
        values: dict[str, Any] = {}
        custom: dict[str, str] = {}
        manager: str | None = None
        problems: list[FieldProblem] = []
        for index, column, attribute, cleaner in self.layout:
            text = cells[index].strip()
            if cleaner is None:
                if attribute == "manager":
                    manager = text
                else:
                    custom[column[len(CUSTOM_PREFIX) :]] = text
                continue
            if not text:
                if attribute in REQUIRED_ATTRIBUTES:
                    problems.append(FieldProblem("is required", column, line))
                    continue
                if attribute in _KEEP_IF_BLANK:
                    continue  # blank: keep the current value (a new person gets the default)
            try:
                values[attribute] = cleaner(text)
            except CellError as exc:
                problems.append(FieldProblem(str(exc), column, line))
        employee_id = values.get("employee_id", "")
        if manager and manager == employee_id:
            problems.append(
                FieldProblem("A person cannot be their own manager", "manager_employee_id", line)
            )
        if problems:
            return None, problems
        return PersonRow(line, employee_id, values, manager, custom), []


def parse_row(
    cells: Mapping[str, str], *, line: int, cleaners: Cleaners
) -> tuple[PersonRow | None, list[FieldProblem]]:
    """Clean one row (column name -> raw text). Problems carry the row's line and column.

    Blank time_zone, language and active cells keep the current value (the default for a new
    person); a blank manager_employee_id removes the manager; a blank custom.<name> removes it.
    """
    columns = list(cells)
    return _RowParser(columns, cleaners).parse([cells[c] for c in columns], line)


def parse_people_csv(
    data: bytes | str, *, today: dt.date, time_zones: frozenset[str]
) -> ParsedFile:
    """Parse and clean a whole HR file; every problem is collected, nothing is raised.

    Rows are numbered by the file line they start on (the header is line 1). Duplicate employee
    ids are reported on the later row. Manager references are checked by `check_managers`.
    """
    try:
        text = decode_csv(data)
    except CellError as exc:
        return ParsedFile([], [], [FieldProblem(str(exc))])
    if not text.strip():
        return ParsedFile(
            [], [], [FieldProblem("The file is empty; expected a header row.", None, 1)]
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    cleaners = Cleaners.build(today=today, time_zones=time_zones)
    problems: list[FieldProblem] = []
    rows: list[PersonRow] = []
    try:
        header = next(reader)
    except csv.Error as exc:
        return ParsedFile([], [], [FieldProblem(f"The header cannot be read: {exc}", None, 1)])
    columns = [_normalise_column(c) for c in header]
    problems.extend(_check_header(columns))
    if problems:
        return ParsedFile(columns, [], problems)
    parser = _RowParser(columns, cleaners)
    first_line: dict[str, int] = {}
    previous_end = reader.line_num
    while True:
        line = previous_end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(FieldProblem(f"This row cannot be read: {exc}", None, line))
            previous_end = reader.line_num
            continue
        previous_end = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank lines are not people
        if len(cells) != len(columns):
            problems.append(
                FieldProblem(
                    f"This row has {len(cells)} values but the header has {len(columns)} columns",
                    None,
                    line,
                )
            )
            continue
        row, row_problems = parser.parse(cells, line)
        problems.extend(row_problems)
        if row is None:
            continue
        if row.employee_id in first_line:
            problems.append(
                FieldProblem(
                    f"Employee id {row.employee_id!r} already appears on line "
                    f"{first_line[row.employee_id]}",
                    "employee_id",
                    line,
                )
            )
            continue
        first_line[row.employee_id] = line
        rows.append(row)
    if not rows and not problems:
        problems.append(FieldProblem("The file has a header but no people.", None, 2))
    return ParsedFile(columns, rows, problems)


def check_managers(
    rows: list[PersonRow], *, existing: Mapping[str, str | None]
) -> list[FieldProblem]:
    """Manager references must name someone in the file or the tenant, and form no cycle.

    `existing` maps every employee id already in the tenant to their manager's employee id.
    The resulting hierarchy (the tenant's with the file's changes applied) must have no cycle
    through a person in the file; each such cycle is reported once, naming its members.
    """
    problems: list[FieldProblem] = []
    in_file = {row.employee_id: row for row in rows}
    graph: dict[str, str | None] = dict(existing)
    for row in rows:
        graph.setdefault(row.employee_id, None)
        if row.manager is None:
            continue
        if row.manager and row.manager not in in_file and row.manager not in existing:
            problems.append(
                FieldProblem(
                    f"Manager {row.manager!r} is neither in this file nor an existing person",
                    "manager_employee_id",
                    row.line,
                )
            )
            graph[row.employee_id] = None
        else:
            graph[row.employee_id] = row.manager or None
    # Walk up from each person in the file; colours: 1 = on the current path, 2 = done.
    state: dict[str, int] = {}
    for start in in_file:
        path: list[str] = []
        node: str | None = start
        while node is not None and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = graph.get(node)
        if node is not None and state.get(node) == 1:
            cycle = path[path.index(node) :]
            members = [m for m in cycle if m in in_file]
            first = min(members, key=lambda m: in_file[m].line)
            # Name the cycle starting from the earliest row, in reporting order.
            i = cycle.index(first)
            ordered = cycle[i:] + cycle[:i] + [first]
            problems.append(
                FieldProblem(
                    "Manager cycle: " + " → ".join(ordered),
                    "manager_employee_id",
                    in_file[first].line,
                )
            )
        for visited in path:
            state[visited] = 2
    return problems


# --- Changes ---------------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """A JSON-friendly form of an attribute value (dates as ISO strings)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def diff_attributes(
    current: Mapping[str, Any], wanted: Mapping[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """{name: (old, new)} for each wanted attribute that differs, JSON-friendly."""
    changes: dict[str, tuple[Any, Any]] = {}
    for name, new in wanted.items():
        old = current.get(name)
        if old != new:
            changes[name] = (json_value(old), json_value(new))
    return changes


def merge_custom(current: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The custom attributes after applying `given` ("" or None removes a key)."""
    merged = dict(current)
    for key, value in given.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def custom_changes(
    current: Mapping[str, Any], merged: Mapping[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """Changed custom attributes as {"custom.<key>": (old, new)}."""
    keys = set(current) | set(merged)
    return {
        f"{CUSTOM_PREFIX}{k}": (current.get(k), merged.get(k))
        for k in sorted(keys)
        if current.get(k) != merged.get(k)
    }


def username_candidates(email: str, *, tenant_slug: str) -> Iterator[str]:
    """Login names to try for a person, in order: the email, then suffixed by the tenant."""
    base = email.strip().lower()[:130]
    yield base
    yield f"{base}.{tenant_slug}"[:150]
    n = 2
    while True:
        yield f"{base}.{tenant_slug}.{n}"[:150]
        n += 1
