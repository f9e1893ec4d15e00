"""The HR file format and the people rules: pure, no database."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hypothesis import given
from hypothesis import strategies as st

from uptake.core.errors import FieldProblem
from uptake.people import rules
from uptake.people.rules import PersonRow, check_managers, parse_people_csv

TODAY = dt.date(2025, 3, 10)
ZONES = frozenset(zoneinfo.available_timezones())
HEADER = "employee_id,email,first_name,last_name"


def parse(text: str | bytes) -> rules.ParsedFile:
    return parse_people_csv(text, today=TODAY, time_zones=ZONES)


def problems(text: str | bytes) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.field, p.message) for p in parse(text).problems]


def test_everyone_is_a_learner_and_reports_make_a_manager():
    assert rules.effective_roles(granted=[], has_reports=False) == {rules.LEARNER}
    assert rules.effective_roles(granted=[rules.DATA_STEWARD], has_reports=True) == {
        rules.LEARNER,
        rules.MANAGER,
        rules.DATA_STEWARD,
    }


def test_a_full_row_is_parsed_into_attributes():
    text = (
        "employee_id,email,first_name,last_name,job_title,role_family,department,location,"
        "country,time_zone,language,hire_date,manager_employee_id,employment_type,active,"
        "custom.cost_centre\n"
        "E1,ada@example.com,Ada,Lovelace,Engineer,Eng,R&D,London,gb,Europe/London,fr-CA,"
        "2024-01-31,,full_time,yes,CC-7\n"
    )
    parsed = parse(text)
    assert parsed.problems == []
    assert parsed.rows == [
        PersonRow(
            line=2,
            employee_id="E1",
            values={
                "employee_id": "E1",
                "email": "ada@example.com",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "job_title": "Engineer",
                "role_family": "Eng",
                "department": "R&D",
                "location": "London",
                "country": "GB",
                "time_zone": "Europe/London",
                "language": "fr-CA",
                "hire_date": dt.date(2024, 1, 31),
                "employment_type": "full_time",
                "is_active": True,
            },
            manager="",
            custom={"cost_centre": "CC-7"},
        )
    ]


def test_utf8_bom_and_semicolons_are_accepted():
    text = "\ufeffemployee_id;email;first_name;last_name\nE1;zoe@example.com;Zoë;Ng\n"
    parsed = parse(text.encode("utf-8"))
    assert parsed.problems == []
    assert parsed.rows[0].values["first_name"] == "Zoë"


def test_a_file_that_is_not_utf8_is_refused_clearly():
    [(row, field, message)] = problems(
        "employee_id,email,last_name\nE1,a@x.io,Müller\n".encode("latin-1")
    )
    assert (row, field) == (None, None)
    assert "not UTF-8" in message


def test_an_empty_file_is_refused():
    assert problems("") == [(1, None, "The file is empty; expected a header row.")]


def test_a_header_without_people_is_refused():
    assert problems(HEADER + "\n") == [(2, None, "The file has a header but no people.")]


def test_missing_required_columns_are_named_on_the_header_row():
    assert problems("employee_id,first_name\nE1,Ada\n") == [
        (1, "email", "Required column 'email' is missing"),
        (1, "last_name", "Required column 'last_name' is missing"),
    ]


def test_unknown_columns_are_errors_on_the_header_row():
    [(row, field, message)] = problems(HEADER + ",shoe_size\nE1,a@x.io,A,B,42\n")
    assert (row, field) == (1, "shoe_size")
    assert message.startswith("Unknown column 'shoe_size'")


def test_each_bad_cell_is_reported_with_its_line_and_column():
    text = (
        "employee_id,email,last_name,country,time_zone,language,hire_date,active\n"
        "E1,not-an-email,Ng,GBR,Mars/Olympus,english,2024-13-01,maybe\n"
        "E2,b@example.com,,gb,UTC,en,2026-03-11,true\n"
    )
    assert problems(text) == [
        (2, "email", "'not-an-email' is not a valid email address"),
        (2, "country", "'GBR' is not a 2-letter ISO 3166 country code (e.g. GB, FR)"),
        (2, "time_zone", "'Mars/Olympus' is not a known IANA time zone (e.g. Europe/Paris)"),
        (2, "language", "'english' is not a language tag (e.g. en, fr-CA)"),
        (2, "hire_date", "'2024-13-01' is not a date in the form YYYY-MM-DD"),
        (2, "active", "'maybe' is not one of true/false/1/0/yes/no"),
        (3, "last_name", "is required"),
        (3, "hire_date", "2026-03-11 is more than a year in the future"),
    ]


def test_a_hire_date_up_to_a_year_ahead_is_accepted():
    parsed = parse("employee_id,email,last_name,hire_date\nE1,a@example.com,Ng,2026-03-10\n")
    assert parsed.problems == []
    assert parsed.rows[0].values["hire_date"] == dt.date(2026, 3, 10)


def test_a_duplicate_employee_id_is_reported_on_the_second_row():
    text = HEADER + "\nE1,a@example.com,A,One\nE2,b@example.com,B,Two\nE1,c@example.com,C,Three\n"
    assert problems(text) == [(4, "employee_id", "Employee id 'E1' already appears on line 2")]


def test_row_numbers_are_file_lines_even_with_multiline_cells_and_blank_lines():
    text = HEADER + ',job_title\nE1,a@example.com,A,One,"Two\nlines"\n\nE2,bad,B,Two,x\n'
    assert problems(text) == [(5, "email", "'bad' is not a valid email address")]


def test_a_row_with_the_wrong_number_of_values_is_refused():
    assert problems(HEADER + "\nE1,a@example.com,A\n") == [
        (2, None, "This row has 3 values but the header has 4 columns")
    ]


def test_active_false_marks_a_leaver_and_blank_active_keeps_the_status():
    parsed = parse("employee_id,email,last_name,active\nE1,a@x.io,A,no\nE2,b@x.io,B,\n")
    assert parsed.rows[0].values["is_active"] is False
    assert "is_active" not in parsed.rows[1].values


def test_columns_absent_from_the_file_are_not_in_the_row_values():
    parsed = parse(HEADER + "\nE1,a@example.com,Ada,Lovelace\n")
    assert set(parsed.rows[0].values) == {"employee_id", "email", "first_name", "last_name"}
    assert parsed.rows[0].manager is None


def test_self_management_is_an_error():
    text = "employee_id,email,last_name,manager_employee_id\nE1,a@example.com,A,E1\n"
    assert problems(text) == [(2, "manager_employee_id", "A person cannot be their own manager")]


def _row(eid: str, manager: str | None, line: int) -> PersonRow:
    return PersonRow(line=line, employee_id=eid, values={"employee_id": eid}, manager=manager)


def test_a_manager_defined_later_in_the_file_or_existing_is_fine():
    rows = [_row("E1", "E2", 2), _row("E2", "BOSS", 3)]
    assert check_managers(rows, existing={"BOSS": None}) == []


def test_an_unknown_manager_is_an_error():
    assert check_managers([_row("E1", "E9", 2)], existing={}) == [
        FieldProblem(
            "Manager 'E9' is neither in this file nor an existing person",
            "manager_employee_id",
            2,
        )
    ]


def test_a_cycle_created_by_the_file_is_named():
    rows = [_row("A", "B", 2), _row("B", "C", 3), _row("C", "A", 4)]
    assert check_managers(rows, existing={}) == [
        FieldProblem("Manager cycle: A → B → C → A", "manager_employee_id", 2)
    ]


def test_a_cycle_through_existing_people_is_found():
    # X already reports to E1; the file makes E1 report to X.
    rows = [_row("E1", "X", 5)]
    assert check_managers(rows, existing={"E1": None, "X": "E1"}) == [
        FieldProblem("Manager cycle: E1 → X → E1", "manager_employee_id", 5)
    ]


def test_the_file_can_break_an_existing_cycle_free_chain():
    # Existing: B reports to A. The file moves A under B and B to no manager: no cycle.
    rows = [_row("A", "B", 2), _row("B", "", 3)]
    assert check_managers(rows, existing={"A": None, "B": "A"}) == []


def test_diff_attributes_reports_old_and_new_json_friendly():
    old = {"department": "Sales", "hire_date": dt.date(2020, 1, 1), "location": "Paris"}
    new = {"department": "Ops", "hire_date": dt.date(2021, 2, 3), "location": "Paris"}
    assert rules.diff_attributes(old, new) == {
        "department": ("Sales", "Ops"),
        "hire_date": ("2020-01-01", "2021-02-03"),
    }


def test_custom_attributes_merge_and_blank_removes():
    merged = rules.merge_custom({"a": "1", "b": "2"}, {"b": "", "c": "3"})
    assert merged == {"a": "1", "c": "3"}
    assert rules.custom_changes({"a": "1", "b": "2"}, merged) == {
        "custom.b": ("2", None),
        "custom.c": (None, "3"),
    }


def test_username_candidates_suffix_the_tenant_when_taken():
    names = rules.username_candidates(" Ada@Example.com ", tenant_slug="acme")
    assert [next(names) for _ in range(3)] == [
        "ada@example.com",
        "ada@example.com.acme",
        "ada@example.com.acme.2",
    ]


# --- Properties ------------------------------------------------------------------------------

_cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"'),
    max_size=30,
)
_eid = st.from_regex(r"[A-Z][0-9]{1,6}", fullmatch=True)
_names = st.from_regex(r"[A-Za-zÀ-ÿ' -]{1,40}", fullmatch=True).filter(lambda s: s.strip())


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@given(
    people=st.lists(
        st.tuples(_eid, _names, _names), min_size=1, max_size=20, unique_by=lambda t: t[0]
    ),
    delimiter=st.sampled_from([",", ";"]),
    bom=st.booleans(),
)
def test_valid_rows_round_trip_whatever_the_delimiter(people, delimiter, bom):
    lines = [delimiter.join(["employee_id", "email", "first_name", "last_name"])]
    for eid, first, last in people:
        cells = [eid, f"{eid.lower()}@example.com", first, last]
        lines.append(delimiter.join(_quote(c) for c in cells))
    text = ("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n"
    parsed = parse(text.encode("utf-8"))
    assert parsed.problems == []
    assert [
        (r.line, r.employee_id, r.values["first_name"], r.values["last_name"]) for r in parsed.rows
    ] == [(i + 2, eid, first.strip(), last.strip()) for i, (eid, first, last) in enumerate(people)]


@given(cells=st.lists(_cell_text, min_size=4, max_size=4))
def test_any_row_either_parses_or_reports_problems_on_its_line(cells):
    text = HEADER + "\n" + ",".join(_quote(c) for c in cells) + "\n"
    parsed = parse(text)
    if parsed.rows:
        assert parsed.problems == []
        assert parsed.rows[0].line == 2
    else:
        assert parsed.problems
        # The row is line 2 unless the cells were all blank (then there are no people).
        assert all(p.row == 2 for p in parsed.problems)
        assert all(
            p.field in (None, "employee_id", "email", "first_name", "last_name")
            for p in parsed.problems
        )


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_parser(data):
    parsed = parse(data)
    assert parsed.rows == [] or parsed.problems == []
    assert all(isinstance(p, FieldProblem) for p in parsed.problems)


@given(
    edges=st.dictionaries(
        st.sampled_from("ABCDEFGH"), st.sampled_from("ABCDEFGH") | st.just(""), min_size=1
    )
)
def test_check_managers_accepts_a_file_exactly_when_its_hierarchy_is_a_forest(edges):
    rows = [_row(eid, manager, i + 2) for i, (eid, manager) in enumerate(edges.items())]
    found = check_managers(rows, existing={})
    unknown = {m for m in edges.values() if m and m not in edges}

    # A forest: walking up from anyone ends without revisiting a person.
    def has_cycle() -> bool:
        for start in edges:
            seen, node = set(), start
            while node and node in edges and node not in seen:
                seen.add(node)
                node = edges[node] or None
                if node in seen:
                    return True
                if node == start:
                    return True
        return False

    if not unknown and not any(e == m for e, m in edges.items()):
        assert (found == []) == (not has_cycle())
    assert all(p.field == "manager_employee_id" for p in found)
