"""Issue 13, findings 2-9 and 14: bad files and values an operator met, each reproduced as a fixture.

Every test here failed on the loader before the hardening (the finding's reproduction) and passes
after it: implausible times, keys with spaces, glob characters in names, broken gzip, JSON lines that
are not objects, encodings, unknown folders and sub-folder order, duplicated headers, oversize fields,
numeric precision, symbolic links.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.contract import CUSTOMERS, ORDERS, SUBSCRIPTIONS, SURVEY_ITEM_SCORES, SURVEY_RESPONSES, TICKETS
from dagster_project.definitions import PIPELINE_JOB, build_definitions
from dagster_project.ingestion.files import ContractError, DeliveredFile, discover_files, scan_entity
from dagster_project.ingestion.loader import allowed_values_from_seeds, ingest_landing_entity, load_file
from dagster_project.ingestion.readers import json_member_lists
from dagster_project.settings import repo_root

from deliveries import entity_folder, survey_response, ticket, write_csv, write_jsonl

COLUMNS = SURVEY_RESPONSES.column_names


def rejects(con):
    return con.execute(
        "select source_file, row_number, rule, column_name, reason from raw.load_rejects order by row_number"
    ).fetchall()


def load_responses(con, landing, rows, name="d.csv"):
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / name, rows, COLUMNS)
    return path, load_file(con, SURVEY_RESPONSES, path)


# -------------------------------------------------------------------- 2. plausible times and offsets


@pytest.mark.parametrize(
    "submitted_at",
    [
        "1970-01-01T00:00:00Z",  # published 682 extra months
        "1900-01-01 00:00:00",  # blocked the run with dim_date failures that named no row
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2025-03-10T12:00:00+25:00",  # no such UTC offset
        "2025-03-10T12:00:00-14:30",
        "2025-03-10T12:00:00+0599",  # minutes beyond 59
    ],
)
def test_implausible_timestamp_or_offset_is_a_range_reject_naming_file_row_and_column(con, landing, submitted_at):
    rows = [survey_response("R1"), survey_response("R2", submitted_at=submitted_at), survey_response("R3")]
    path, result = load_responses(con, landing, rows)

    assert (result.delivered, result.loaded, result.rejected) == (3, 2, 1)
    [(source_file, row_number, rule, column, reason)] = rejects(con)
    assert (source_file, row_number, rule, column) == (str(path), 2, "range", "submitted_at")
    assert submitted_at in reason


@pytest.mark.parametrize(
    ("submitted_at", "stored"),
    [
        ("2025-03-10T12:00:00+14:00", "2025-03-09 22:00:00"),
        ("2025-03-10T12:00:00-12:00", "2025-03-11 00:00:00"),
        ("2025-03-10T12:00:00+05:45", "2025-03-10 06:15:00"),
        ("2025-03-10 12:00:00+0800", "2025-03-10 04:00:00"),
        ("2025-03-10", "2025-03-10 00:00:00"),  # a date alone: '-10' is not an offset
        ("2000-01-01T00:00:00Z", "2000-01-01 00:00:00"),
    ],
)
def test_real_offsets_and_the_earliest_day_load(con, landing, submitted_at, stored):
    _, result = load_responses(con, landing, [survey_response("R1", submitted_at=submitted_at)])
    assert result.rejected == 0, rejects(con)
    assert con.execute("select strftime(submitted_at, '%Y-%m-%d %H:%M:%S') from raw.survey_responses").fetchone() == (
        stored,
    )


def test_time_bounds_are_settings(con, landing, monkeypatch):
    monkeypatch.setenv("CSAT_EARLIEST_TIMESTAMP", "1960-01-01")
    _, result = load_responses(con, landing, [survey_response("R1", submitted_at="1970-01-01T00:00:00Z")])
    assert result.rejected == 0
    monkeypatch.setenv("CSAT_EARLIEST_TIMESTAMP", "2025-06-01T00:00:00+08:00")  # = 2025-05-31 16:00 UTC
    _, result = load_responses(
        con,
        landing,
        [
            survey_response("R2", submitted_at="2025-05-31T15:59:59Z"),
            survey_response("R3", submitted_at="2025-05-31T16:00:00Z"),
        ],
        name="e.csv",
    )
    assert (result.loaded, result.rejected) == (1, 1)
    assert [r[1:4] for r in rejects(con)] == [(1, "range", "submitted_at")]


def test_a_small_clock_skew_is_not_the_future(con, landing):
    now = datetime.now(UTC).replace(tzinfo=None)
    soon = (now + timedelta(seconds=60)).isoformat()
    later = (now + timedelta(hours=1)).isoformat()
    _, result = load_responses(
        con, landing, [survey_response("R1", submitted_at=soon), survey_response("R2", submitted_at=later)]
    )
    assert (result.loaded, result.rejected) == (1, 1)
    assert [r[1:4] for r in rejects(con)] == [(2, "future", "submitted_at")]


def test_scheduled_ends_and_dates_have_bounds_too(con, landing):
    base = {"customer_id": "C1", "plan": "basic", "started_at": "2025-01-01T00:00:00Z", "mrr": "10"}
    subscriptions = [
        {**base, "subscription_id": "S1", "ended_at": "2027-06-30T00:00:00Z"},  # a scheduled end: fine
        {**base, "subscription_id": "S2", "ended_at": "9999-12-31T00:00:00Z"},
    ]
    path = write_csv(entity_folder(landing, SUBSCRIPTIONS) / "s.csv", subscriptions, SUBSCRIPTIONS.column_names)
    assert (load_file(con, SUBSCRIPTIONS, path).rejected, rejects(con)[0][1:4]) == (1, (2, "range", "ended_at"))

    customers = [
        {"customer_id": "C1", "birth_date": "1950-05-01", "updated_at": "2025-01-01T00:00:00Z"},
        {"customer_id": "C2", "birth_date": "0001-01-01", "updated_at": "2025-01-01T00:00:00Z"},
    ]
    path = write_csv(entity_folder(landing, CUSTOMERS) / "c.csv", customers, CUSTOMERS.column_names)
    result = load_file(con, CUSTOMERS, path)
    assert (result.loaded, result.rejected) == (1, 1)
    assert ("customers", 2, "range", "birth_date") in con.execute(
        "select entity, row_number, rule, column_name from raw.load_rejects"
    ).fetchall()


# ---------------------------------------------------------------------- 3. keys normalised as staging


def test_keys_differing_only_by_surrounding_spaces_are_one_key(con, landing):
    rows = [
        survey_response(" R1", submitted_at="2025-03-10T12:00:00Z", comment="first"),
        survey_response("R1 ", submitted_at="2025-03-11T12:00:00Z", comment="latest"),
        survey_response("R2"),
    ]
    _, result = load_responses(con, landing, rows)

    assert (result.delivered, result.loaded, result.rejected) == (3, 2, 1)
    assert [r[1:4] for r in rejects(con)] == [(1, "duplicate", "response_id")]
    assert con.execute("select response_id, comment from raw.survey_responses order by 1").fetchall() == [
        ("R1", "latest"),
        ("R2", "fine"),
    ]
    # A later delivery with spaces replaces the row instead of adding a second one.
    load_responses(con, landing, [survey_response("  R2", comment="corrected")], name="e.csv")
    assert con.execute("select response_id, comment from raw.survey_responses order by 1").fetchall() == [
        ("R1", "latest"),
        ("R2", "corrected"),
    ]


def test_item_codes_are_keys_in_the_seed_spelling(con, landing):
    allowed = allowed_values_from_seeds(repo_root() / "seeds")["survey_item_scores"]
    rows = [
        {"response_id": "R1", "item_code": " tan1", "expectation_score": "5", "perception_score": "4"},
        {"response_id": "R1", "item_code": "TAN1", "expectation_score": "6", "perception_score": "6"},
    ]
    path = write_csv(entity_folder(landing, SURVEY_ITEM_SCORES) / "i.csv", rows, SURVEY_ITEM_SCORES.column_names)
    result = load_file(con, SURVEY_ITEM_SCORES, path, allowed=allowed)
    assert (result.loaded, result.rejected) == (1, 1)
    assert con.execute("select response_id, item_code, perception_score from raw.survey_item_scores").fetchall() == [
        ("R1", "TAN1", 6)
    ]


# ------------------------------------------------------------------- 4. file names are never patterns


@pytest.mark.parametrize("odd_name", ["2025-01-0?.csv", "2025-01-0*.csv", "2025-01-0[1].csv", "2025-01-{01,02}.csv"])
def test_glob_characters_in_a_file_name_are_read_literally(con, landing, odd_name):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-01-01.csv", [survey_response("R1"), survey_response("R2")], COLUMNS)
    write_csv(folder / "2025-01-02.csv", [survey_response("R4")], COLUMNS)
    write_csv(folder / odd_name, [survey_response("R3")], COLUMNS)

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert not report.errors
    delivered = {Path(f.source_file).name: (f.delivered, f.loaded, f.rejected) for f in report.files}
    assert delivered == {"2025-01-01.csv": (2, 2, 0), "2025-01-02.csv": (1, 1, 0), odd_name: (1, 1, 0)}
    assert con.execute("select count(*) from raw.load_rejects").fetchone() == (0,)


def test_a_landing_folder_with_glob_characters_is_read_literally(con, tmp_path):
    landing = tmp_path / "landing[1]"
    write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", [survey_response("R1")], COLUMNS)
    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert (report.errors, report.total("loaded")) == ([], 1)


# ------------------------------------------------------------------------ 5. broken compressed files


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_truncated_or_non_gzip_file_is_an_error_naming_it_and_the_other_files_load(con, landing, suffix):
    # a broken compressed file is refused when it is fingerprinted, before any member names are
    # read (readers.json_member_lists reads those of the good JSON Lines files together)
    folder = entity_folder(landing, SURVEY_RESPONSES)

    def write(path, response_id):
        if suffix == "csv":
            return write_csv(path, [survey_response(response_id)], COLUMNS)
        return write_jsonl(path, [survey_response(response_id)])

    good = write(folder / f"plain.{suffix}", "R1").read_bytes()
    (folder / f"plain.{suffix}").unlink()
    (folder / f"2025-01-01.{suffix}.gz").write_bytes(gzip.compress(good))
    (folder / f"2025-01-02.{suffix}.gz").write_bytes(gzip.compress(good.replace(b"R1", b"R2"))[:-12])  # truncated
    (folder / f"2025-01-03.{suffix}.gz").write_bytes(good.replace(b"R1", b"R3"))  # not gzip at all
    write(folder / f"2025-01-04.{suffix}", "R4")

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert sorted(r[0] for r in con.execute("select response_id from raw.survey_responses").fetchall()) == [
        "R1",
        "R4",
    ]
    assert len(report.errors) == 2
    truncated, not_gzip = sorted(report.errors)
    assert f"2025-01-02.{suffix}.gz" in truncated and "gzip" in truncated
    assert f"2025-01-03.{suffix}.gz" in not_gzip and "gzip" in not_gzip


# --------------------------------------------------------------- 6. JSON lines that are not objects


def test_json_lines_that_are_not_objects_are_malformed_rows(con, landing):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    path = folder / "d.jsonl"
    lines = [
        json.dumps(survey_response("R1")),
        "[1, 2, 3]",
        "42",
        '"a string"',
        "null",
        "{not json",
        json.dumps(survey_response("R7")),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = load_file(con, SURVEY_RESPONSES, path)

    assert (result.delivered, result.loaded, result.rejected) == (7, 2, 5)
    got = [(row, rule) for _, row, rule, _, _ in rejects(con)]
    assert got == [(2, "malformed"), (3, "malformed"), (4, "malformed"), (5, "malformed"), (6, "malformed")]
    reasons = [r[4] for r in rejects(con)]
    assert "array" in reasons[0] and "number" in reasons[1] and "string" in reasons[2]
    assert "not valid JSON" in reasons[4]


def test_json_files_read_together_keep_their_own_member_names(con, landing):
    # one statement reads the member names of every file (readers.json_member_lists): a member
    # of one file is not another's, also when it first appears on a later line of its file
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_jsonl(folder / "2025-01-01.jsonl", [survey_response("R1"), {**survey_response("R2"), "device": "ios"}])
    write_jsonl(folder / "2025-01-02.jsonl", [{**survey_response("R3"), "shop": "S9"}])
    write_jsonl(folder / "2025-01-03.jsonl", [survey_response("R4")])

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert report.errors == []
    extras = con.execute("select response_id, _extra from raw.survey_responses order by response_id").fetchall()
    assert [(r, json.loads(e) if e else None) for r, e in extras] == [
        ("R1", {"device": None}),  # a member of its file, absent from this line
        ("R2", {"device": "ios"}),
        ("R3", {"shop": "S9"}),
        ("R4", None),
    ]


def test_json_member_names_are_read_file_by_file_when_one_file_cannot_be_read(con, tmp_path):
    first, second = (
        write_jsonl(tmp_path / "a.jsonl", [{"x": 1}]),
        write_jsonl(tmp_path / "b.jsonl", [{"y": 1}, {"z": 2}]),
    )

    def jsonl(path):
        return path, DeliveredFile(path, path.name, "jsonl", sha256="", size=0, encoding="utf-8")

    assert json_member_lists(con, [jsonl(first), jsonl(second)]) == {first: [["x"]], second: [["y"], ["z"]]}
    # a statement that fails gives no lists: prepare_file then reads each file alone
    assert json_member_lists(con, [jsonl(first), jsonl(tmp_path / "gone.jsonl")]) == {}


def test_json_member_names_with_dots_or_slashes_are_members(con, landing):
    rows = [{**survey_response("R1"), "meta.source": "app", "a/b": "x"}]
    path = write_jsonl(entity_folder(landing, SURVEY_RESPONSES) / "d.jsonl", rows)
    load_file(con, SURVEY_RESPONSES, path)
    assert con.execute("select _extra ->> 'meta.source', _extra ->> 'a/b' from raw.survey_responses").fetchone() == (
        "app",
        "x",
    )


# ------------------------------------------------------------------------------------- 7. encodings

LATIN1_COMMENT = "Müller trouvait très gênant"  # every accented letter is followed by an ASCII letter


def test_latin1_text_that_happens_to_be_valid_gb18030_is_refused_not_loaded_as_mojibake(con, landing):
    rows = [survey_response("R1", comment=LATIN1_COMMENT)]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", rows, COLUMNS, encoding="latin-1")
    path.read_bytes().decode("gb18030")  # the finding: it decodes, into rare ideographs

    with pytest.raises(ContractError, match="Latin-1") as error:
        load_file(con, SURVEY_RESPONSES, path)
    assert str(path) in str(error.value) and "CSAT_FILE_ENCODINGS" in str(error.value)
    assert con.execute("select count(*) from raw.survey_responses").fetchone() == (0,)


def test_a_declared_encoding_reads_the_file(con, landing, monkeypatch):
    monkeypatch.setenv("CSAT_FILE_ENCODINGS", "survey_responses=latin-1, customers=cp1252")
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "d.csv", [survey_response("R1", comment=LATIN1_COMMENT + ", café")], COLUMNS, "latin-1")

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert report.errors == []
    assert con.execute("select comment from raw.survey_responses").fetchone() == (LATIN1_COMMENT + ", café",)
    assert con.execute("select file_encoding from raw.load_manifest").fetchone() == ("iso8859-1",)


def test_text_neither_utf8_nor_gb18030_is_refused_with_a_correct_message(con, landing):
    rows = [survey_response("R1", comment="Café, s'il vous plaît")]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", rows, COLUMNS, encoding="latin-1")
    with pytest.raises(ContractError) as error:
        load_file(con, SURVEY_RESPONSES, path)
    message = str(error.value)
    assert "not UTF-8" in message and "CSAT_FILE_ENCODINGS" in message and "codec can't decode" not in message


def test_utf16_with_a_byte_order_mark_is_decoded(con, landing):
    rows = [survey_response("R1", comment="送货太慢了")]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", rows, COLUMNS, encoding="utf-16")
    result = load_file(con, SURVEY_RESPONSES, path)
    assert (result.loaded, result.rejected) == (1, 0)
    assert con.execute("select comment from raw.survey_responses").fetchone() == ("送货太慢了",)


def test_utf16_without_a_byte_order_mark_is_refused_clearly(con, landing):
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", [survey_response("R1")], COLUMNS, "utf-16-le")
    with pytest.raises(ContractError, match="UTF-16") as error:
        load_file(con, SURVEY_RESPONSES, path)
    assert "gb18030" not in str(error.value)


# -------------------------------------------- 8. unknown folders and files; order across sub-folders


def test_unknown_folders_and_files_are_reported(con, landing):
    write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", [survey_response("R1")], COLUMNS)
    write_csv(landing / "survey" / "survey_answers" / "d.csv", [survey_response("R2")], COLUMNS)  # misspelled
    write_csv(landing / "surveys" / "survey_responses" / "d.csv", [survey_response("R3")], COLUMNS)
    (landing / "notes.txt").write_text("hello")
    (landing / "_incoming").mkdir()  # an upload in progress: not reported

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert report.total("loaded") == 1
    assert any(w.startswith("survey/survey_answers:") and "unknown" in w for w in report.warnings)
    assert any(w.startswith("surveys:") for w in report.warnings)
    assert any(w.startswith("notes.txt:") for w in report.warnings)
    assert not any("_incoming" in w for w in report.warnings)


def test_older_files_in_a_sub_folder_never_win_over_newer_top_level_files(con, landing):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2026-01.csv", [survey_response("R1", comment="new")], COLUMNS)
    write_csv(folder / "archive" / "2025-12.csv", [survey_response("R1", comment="old")], COLUMNS)
    write_csv(folder / "archive" / "2026-02.csv", [survey_response("R2", comment="newest")], COLUMNS)

    assert [p.relative_to(folder).as_posix() for p in discover_files(landing, SURVEY_RESPONSES)] == [
        "archive/2025-12.csv",
        "2026-01.csv",
        "archive/2026-02.csv",
    ]
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert con.execute("select response_id, comment from raw.survey_responses order by 1").fetchall() == [
        ("R1", "new"),
        ("R2", "newest"),
    ]


# ------------------------------------------------------------- 9. headers, field sizes, precision


@pytest.mark.parametrize("second", ["comment", "Comment", " COMMENT "])
def test_a_duplicated_header_column_is_a_file_error_naming_it(con, landing, second):
    path = entity_folder(landing, SURVEY_RESPONSES) / "d.csv"
    values = survey_response("R1")
    header = [*COLUMNS, second]
    path.write_text(",".join(header) + "\n" + ",".join(str(values.get(c) or "") for c in COLUMNS) + ",other\n")
    with pytest.raises(ContractError, match="duplicated column") as error:
        load_file(con, SURVEY_RESPONSES, path)
    assert "'comment'" in str(error.value) and str(path) in str(error.value)


def test_unnamed_columns_from_trailing_commas_are_not_duplicates(con, landing):
    path = entity_folder(landing, SURVEY_RESPONSES) / "d.csv"
    values = survey_response("R1")
    path.write_text(",".join(COLUMNS) + ",,\n" + ",".join(str(values.get(c) or "") for c in COLUMNS) + ",x,y\n")
    assert load_file(con, SURVEY_RESPONSES, path).loaded == 1


def test_a_json_member_twice_in_different_case_is_a_file_error(con, landing):
    path = write_jsonl(
        entity_folder(landing, SURVEY_RESPONSES) / "d.jsonl", [{**survey_response("R1"), "Comment": "x"}]
    )
    with pytest.raises(ContractError, match="duplicated column.*'comment'"):
        load_file(con, SURVEY_RESPONSES, path)


def test_an_oversize_field_is_a_size_reject_on_its_own_row(con, landing):
    big = "x" * (3 * 1024 * 1024)  # above DuckDB's default line limit (2 MB), which failed the file
    rows = [survey_response(f"R{i}") for i in range(1, 6)]
    rows[2]["comment"] = big
    path, result = load_responses(con, landing, rows)

    assert (result.delivered, result.loaded, result.rejected) == (5, 4, 1)
    [(source_file, row_number, rule, column, reason)] = rejects(con)
    assert (source_file, row_number, rule, column) == (str(path), 3, "size", "comment")
    assert str(len(big)) in reason and "CSAT_MAX_FIELD_BYTES" in reason and len(reason) < 300


def test_the_field_limit_is_a_setting(con, landing, monkeypatch):
    monkeypatch.setenv("CSAT_MAX_FIELD_BYTES", "100")
    _, result = load_responses(con, landing, [survey_response("R1", comment="好" * 40), survey_response("R2")])
    # 40 Chinese characters are 120 UTF-8 bytes
    assert (result.loaded, result.rejected) == (1, 1)
    assert rejects(con)[0][1:4] == (1, "size", "comment")


def test_64_bit_integers_are_exact(con, landing):
    values = ["9223372036854775807", "9007199254740993", "9223372036854775808", "9007199254740993.0", "1e3"]
    rows = [ticket(f"T{i}", contact_count=v) for i, v in enumerate(values, start=1)]
    path = write_csv(entity_folder(landing, TICKETS) / "t.csv", rows, TICKETS.column_names)
    result = load_file(con, TICKETS, path)

    assert (result.loaded, result.rejected) == (4, 1)
    assert [r[1:4] for r in rejects(con)] == [(3, "type", "contact_count")]  # beyond 2^63-1
    assert con.execute("select ticket_id, contact_count from raw.tickets order by 1").fetchall() == [
        ("T1", 9223372036854775807),
        ("T2", 9007199254740993),
        ("T4", 9007199254740993),
        ("T5", 1000),
    ]


def test_amounts_with_more_decimals_than_the_scale_are_rejected_not_rounded(con, landing):
    base = {"customer_id": "C1", "ordered_at": "2025-03-10T12:00:00Z", "status": "completed", "currency": "CNY"}
    amounts = ["12.3456", "12.340000", "12.34567", "99999999999999.9999", "0.00001"]
    rows = [{**base, "order_id": f"O{i}", "amount": a} for i, a in enumerate(amounts, start=1)]
    path = write_csv(entity_folder(landing, ORDERS) / "o.csv", rows, ORDERS.column_names)
    result = load_file(con, ORDERS, path)

    assert (result.loaded, result.rejected) == (3, 2)
    assert [r[1:4] for r in rejects(con)] == [(3, "type", "amount"), (5, "type", "amount")]
    assert "more than 4 decimal places" in rejects(con)[0][4]
    assert con.execute("select order_id, amount from raw.orders order by 1").fetchall() == [
        ("O1", Decimal("12.3456")),
        ("O2", Decimal("12.3400")),
        ("O4", Decimal("99999999999999.9999")),
    ]


# --------------------------------------------------------------------------------- 14. symbolic links

SECRET = "root:x:0:0:SECRET-MARKER-d41d8cd9:/root:/bin/bash"


@pytest.fixture
def outside_secret(tmp_path) -> Path:
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    return path


@pytest.mark.parametrize("follow", ["false", "true"])
def test_a_link_to_a_file_outside_the_landing_folder_is_never_read(con, landing, outside_secret, monkeypatch, follow):
    monkeypatch.setenv("CSAT_LANDING_FOLLOW_SYMLINKS", follow)
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-01.csv", [survey_response("R1")], COLUMNS)
    os.symlink(outside_secret, folder / "2025-02.csv")
    os.symlink("/etc/passwd", folder / "2025-03.csv")
    os.symlink(outside_secret.parent, folder / "more")  # a linked folder

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert report.total("loaded") == 1 and report.errors == []
    assert {w.split(":")[0] for w in report.warnings} == {
        "survey/survey_responses/2025-02.csv",
        "survey/survey_responses/2025-03.csv",
        "survey/survey_responses/more",
    }
    text = json.dumps([report.errors, report.warnings, [vars(f) for f in report.files]])
    assert "SECRET-MARKER" not in text and "root:" not in text
    assert con.execute("select count(*) from raw.load_rejects").fetchone() == (0,)


def test_links_inside_the_landing_folder_are_followed_only_when_allowed(landing, monkeypatch):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    target = write_csv(landing / "_store" / "2025-01.csv", [survey_response("R1")], COLUMNS)
    os.symlink(target, folder / "2025-01.csv")

    assert discover_files(landing, SURVEY_RESPONSES) == []
    monkeypatch.setenv("CSAT_LANDING_FOLLOW_SYMLINKS", "true")
    scan = scan_entity(landing, SURVEY_RESPONSES)
    assert (scan.files, scan.warnings) == ([folder / "2025-01.csv"], [])
    # A link up the tree would read the whole landing folder (other entities' files) as this entity.
    os.symlink(landing, folder / "everything")
    scan = scan_entity(landing, SURVEY_RESPONSES)
    assert scan.files == [folder / "2025-01.csv"]
    assert [w.split(":")[0] for w in scan.warnings] == ["survey/survey_responses/everything"]


def test_warnings_are_in_the_asset_metadata_and_a_linked_passwd_is_nowhere(landing, tmp_path, outside_secret):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-01.csv", [survey_response("R1")], COLUMNS)
    os.symlink(outside_secret, folder / "2025-02.csv")
    write_csv(landing / "survey" / "survey_answers" / "d.csv", [survey_response("R2")], COLUMNS)
    defs = build_definitions(landing_dir=str(landing), warehouse_path=str(tmp_path / "w.duckdb"))

    result = defs.resolve_job_def(PIPELINE_JOB).execute_in_process(
        asset_selection=[dg.AssetKey(["raw", "survey_responses"])], raise_on_error=False
    )

    assert "SECRET-MARKER" not in repr(list(result.all_events))
    [materialization] = result.asset_materializations_for_node("raw__survey_responses")
    assert materialization.metadata["rows_loaded"].value == 1
    warnings = materialization.metadata["landing_warnings"].value
    assert any(w.startswith("survey/survey_responses/2025-02.csv: symbolic link") for w in warnings)
    assert any(w.startswith("survey/survey_answers:") for w in warnings)
