"""Readers, encodings, re-delivery, replacement by a later delivery, atomicity, wrong columns."""

from __future__ import annotations

import shutil

import pytest

from dagster_project.contract import CUSTOMERS, SURVEY_RESPONSES
from dagster_project.ingestion import files, loader
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import ingest_landing_entity, load_file, raise_for_errors

from deliveries import entity_folder, survey_response, write_csv, write_jsonl, write_parquet

COLUMNS = SURVEY_RESPONSES.column_names
ROWS = [
    survey_response("R1", submitted_at="2025-01-31T23:30:00-05:00", comment="very good"),
    survey_response("R2", submitted_at="2025-02-01 08:00:00", customer_id=None, comment="送货太慢了，客服态度很好"),
    survey_response("R3", submitted_at="2025-02-01T10:00:00+08:00", likelihood_to_recommend="3"),
]
EXPECTED = [
    ("R1", "2025-02-01 04:30:00", "C1", 9, "very good"),
    ("R2", "2025-02-01 08:00:00", None, 9, "送货太慢了，客服态度很好"),
    ("R3", "2025-02-01 02:00:00", "C1", 3, "fine"),
]


def loaded_responses(con):
    return con.execute(
        "select response_id, strftime(submitted_at, '%Y-%m-%d %H:%M:%S'), customer_id, "
        "likelihood_to_recommend, comment from raw.survey_responses order by 1"
    ).fetchall()


@pytest.mark.parametrize(
    "writer",
    [
        lambda folder: write_csv(folder / "d.csv", ROWS, COLUMNS),
        lambda folder: write_csv(folder / "d.csv", ROWS, COLUMNS, encoding="gb18030"),
        lambda folder: write_csv(folder / "d.csv", ROWS, COLUMNS, encoding="gbk"),
        lambda folder: write_csv(folder / "d.csv", ROWS, COLUMNS, encoding="utf-8-sig"),
        lambda folder: write_jsonl(folder / "d.jsonl", ROWS),
        lambda folder: write_parquet(folder / "d.parquet", ROWS, COLUMNS),
    ],
    ids=["csv-utf8", "csv-gb18030", "csv-gbk", "csv-utf8-bom", "jsonl", "parquet"],
)
def test_every_format_and_encoding_loads_the_same_rows_in_utc(con, landing, writer):
    path = writer(entity_folder(landing, SURVEY_RESPONSES))
    result = load_file(con, SURVEY_RESPONSES, path)
    assert (result.delivered, result.loaded, result.rejected) == (3, 3, 0)
    assert loaded_responses(con) == EXPECTED


def test_gb18030_file_is_recorded_with_its_encoding(con, landing):
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", ROWS, COLUMNS, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    load_file(con, SURVEY_RESPONSES, path)
    assert con.execute("select file_encoding from raw.load_manifest").fetchone() == ("gb18030",)


def test_header_case_and_extra_columns(con, landing):
    rows = [{**r, "Source_System": "qualtrics"} for r in ROWS]
    header = [c.upper() if c == "comment" else c for c in COLUMNS] + ["Source_System"]
    rows = [{("COMMENT" if k == "comment" else k): v for k, v in r.items()} for r in rows]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", rows, header)
    load_file(con, SURVEY_RESPONSES, path)
    assert loaded_responses(con) == EXPECTED
    assert con.execute("select distinct _extra ->> 'Source_System' from raw.survey_responses").fetchall() == [
        ("qualtrics",)
    ]


def test_same_file_twice_changes_nothing(con, landing):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-02.csv", ROWS, COLUMNS)
    first = ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    shutil.copy(folder / "2025-02.csv", folder / "2025-02-resent.csv")  # same bytes, another name
    second = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert first.total("loaded") == 3
    assert [f.skipped for f in second.files] == [True, True]
    assert con.execute("select count(*) from raw.survey_responses").fetchone() == (3,)
    assert con.execute("select count(*) from raw.load_manifest").fetchone() == (1,)


def test_a_file_loaded_before_is_known_by_its_checksum_alone(con, landing, monkeypatch):
    """Every run scans the whole landing folder: a file loaded before (whatever its name) is skipped
    on its checksum, without its encoding read again (the whole file: half a second per run at 1M
    responses); a new file is read for it."""
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-02.csv", ROWS, COLUMNS, encoding="gb18030")
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    read_for_encoding = []
    detect = files.detect_encoding
    monkeypatch.setattr(
        files, "detect_encoding", lambda path, *a, **k: read_for_encoding.append(path.name) or detect(path, *a, **k)
    )
    shutil.copy(folder / "2025-02.csv", folder / "2025-02-resent.csv")
    write_csv(folder / "2025-03.csv", [survey_response("R4")], COLUMNS)
    second = ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert [(f.skipped, f.loaded) for f in second.files] == [(True, 0), (True, 0), (False, 1)]
    assert read_for_encoding == ["2025-03.csv"]


def test_later_delivery_of_a_key_replaces_the_earlier_version(con, landing):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-02-01.csv", ROWS, COLUMNS)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    correction = [survey_response("R2", comment="corrected", likelihood_to_recommend="10"), survey_response("R4")]
    write_csv(folder / "2025-02-02.csv", correction, COLUMNS)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert con.execute(
        "select response_id, likelihood_to_recommend, comment, _source_file like '%2025-02-02.csv' "
        "from raw.survey_responses order by 1"
    ).fetchall() == [
        ("R1", 9, "very good", False),
        ("R2", 10, "corrected", True),
        ("R3", 3, "fine", False),
        ("R4", 9, "fine", True),
    ]


def test_a_file_failing_midway_leaves_the_warehouse_as_it_was(con, landing, monkeypatch):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-02-01.csv", ROWS, COLUMNS)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    before = con.execute("select * from raw.survey_responses order by 1").fetchall()

    bad_and_new = [survey_response("R1", comment="changed"), survey_response("R9", likelihood_to_recommend="99")]
    path = write_csv(folder / "2025-02-02.csv", bad_and_new, COLUMNS)
    real_replace = loader._replace_rows

    def replace_then_fail(*args, **kwargs):
        real_replace(*args, **kwargs)  # rejects and rows are written ...
        raise OSError("disk full")  # ... and then the load dies before the manifest entry

    monkeypatch.setattr(loader, "_replace_rows", replace_then_fail)
    with pytest.raises(OSError, match="disk full"):
        load_file(con, SURVEY_RESPONSES, path)

    assert con.execute("select * from raw.survey_responses order by 1").fetchall() == before
    assert con.execute("select count(*) from raw.load_rejects").fetchone() == (0,)
    assert con.execute("select count(*) from raw.load_manifest").fetchone() == (1,)

    monkeypatch.setattr(loader, "_replace_rows", real_replace)
    result = load_file(con, SURVEY_RESPONSES, path)  # the retry loads it completely
    assert (result.loaded, result.rejected) == (1, 1)


def test_missing_required_columns_fail_the_file_by_name_and_the_others_still_load(con, landing):
    # Only required columns must be present (optional ones may be absent: tests/test_mapping.py).
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-02-01.csv", ROWS, [c for c in COLUMNS if c not in ("survey_id", "submitted_at")])
    write_csv(folder / "2025-02-02.csv", ROWS, COLUMNS)

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert report.total("loaded") == 3
    [error] = report.errors
    assert "2025-02-01.csv" in error and "survey_id, submitted_at" in error
    with pytest.raises(loader.IngestionError, match="2025-02-01.csv"):
        raise_for_errors(report)
    assert con.execute("select count(*) from raw.load_manifest").fetchone() == (1,)


@pytest.mark.parametrize("content", [b"", b"response_id,comment\n"])
def test_empty_file_or_header_without_contract_columns_is_an_error(con, landing, content):
    path = entity_folder(landing, SURVEY_RESPONSES) / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(ContractError, match="empty.csv"):
        load_file(con, SURVEY_RESPONSES, path)


def test_header_only_file_is_a_valid_empty_delivery(con, landing):
    path = write_csv(entity_folder(landing, CUSTOMERS) / "c.csv", [], CUSTOMERS.column_names)
    result = load_file(con, CUSTOMERS, path)
    assert (result.delivered, result.loaded, result.rejected, result.skipped) == (0, 0, 0, False)


def test_hidden_and_in_progress_files_are_ignored(con, landing):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / ".upload.csv", ROWS, COLUMNS)
    write_csv(folder / "_partial.csv", ROWS, COLUMNS)
    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert report.files == [] and report.errors == []


def test_files_loaded_together_keep_per_file_rows_counts_and_order(con, landing):
    """Files with one header load in one batch: results must equal loading them one by one."""
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-02-01.csv", ROWS, COLUMNS)
    write_csv(
        folder / "2025-02-02.csv",
        [
            survey_response("R2", comment="corrected"),
            survey_response("R5", csat_score="9"),
            survey_response("R5", comment="duplicate in one file"),
        ],
        COLUMNS,
    )
    text = (folder / "2025-02-02.csv").read_text(encoding="utf-8").splitlines()
    text.insert(2, "R6,S1,too,short")  # a malformed line as the file's 2nd record
    (folder / "2025-02-02.csv").write_text("\n".join(text) + "\n", encoding="utf-8")

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert [(f.delivered, f.loaded, f.rejected) for f in report.files] == [(3, 3, 0), (4, 2, 2)]
    assert con.execute(
        "select source_file like '%02-02.csv', row_number, rule from raw.load_rejects order by row_number"
    ).fetchall() == [(True, 2, "malformed"), (True, 3, "range")]
    assert con.execute(
        "select response_id, comment, _row_number, _source_file like '%02-02.csv' from raw.survey_responses order by 1"
    ).fetchall() == [
        ("R1", "very good", 1, False),
        ("R2", "corrected", 1, True),
        ("R3", "fine", 3, False),
        ("R5", "duplicate in one file", 4, True),
    ]
    assert con.execute("select count(*) from raw.load_manifest").fetchone() == (2,)


def test_a_key_repeated_in_a_file_and_across_the_batch_keeps_one_row(con, landing):
    """The batch's repeated keys (one aggregate) settle both cases: within a file the latest version
    wins, across files the latest file; keys carried once are inserted as delivered."""
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(
        folder / "2025-02-01.csv",
        [
            survey_response("R1", submitted_at="2025-02-01 09:00:00", comment="later version, earlier file"),
            survey_response("R1", submitted_at="2025-02-01 08:00:00", comment="earlier version"),
            survey_response("R2", submitted_at="2025-02-01 08:00:00", comment="earlier version"),
            survey_response("R2", submitted_at="2025-02-01 09:00:00", comment="later version"),
            survey_response("R3", comment="once"),
        ],
        COLUMNS,
    )
    write_csv(folder / "2025-02-02.csv", [survey_response("R1", comment="later file")], COLUMNS)

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert [(f.delivered, f.loaded, f.rejected) for f in report.files] == [(5, 3, 2), (1, 1, 0)]
    assert con.execute(
        "select response_id, comment, _row_number, _source_file like '%02-02.csv' from raw.survey_responses order by 1"
    ).fetchall() == [("R1", "later file", 1, True), ("R2", "later version", 4, False), ("R3", "once", 5, False)]
    assert con.execute("select rule, count(*) from raw.load_rejects group by all").fetchall() == [("duplicate", 2)]
