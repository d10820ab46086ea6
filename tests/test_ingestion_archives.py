"""Zip archives in the landing folder (survey tools' downloads and export APIs hand out zips): each
file in one is a delivery, labelled `<archive>/<file>`, known by the archive's checksum and its name
so a run after it unpacks nothing; a broken archive or a file of another type in it is refused,
naming it, and the rest loads."""

from __future__ import annotations

import zipfile

import pytest

from dagster_project.assets.ingestion import _file_table
from dagster_project.contract import SURVEY_RESPONSES
from dagster_project.ingestion import delivery_list
from dagster_project.ingestion.files import file_sha256, landing_file_of, part_id, short_label
from dagster_project.ingestion.loader import ingest_landing_entity

from deliveries import entity_folder

HEADER = "response_id,survey_id,submitted_at,channel,csat_score\n"
R1 = "R1,S1,2025-03-10T12:00:00Z,web,5\n"


def _zip(path, files: dict[str, str]):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def _responses(con):
    return con.execute("select response_id, csat_score, _source_file from raw.survey_responses order by 1").fetchall()


def test_each_file_of_an_archive_is_a_delivery_and_a_rerun_unpacks_nothing(con, landing, monkeypatch):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    archive = _zip(
        folder / "2025-03_export.zip",
        {
            "Survey export/responses.csv": HEADER
            + "R1,S1,2025-03-10T12:00:00Z,web,5\nR2,S1,2025-03-11T12:00:00Z,web,9\n",
            "Survey export/late.jsonl": '{"response_id": "R3", "survey_id": "S1", "submitted_at": "2025-03-12"}\n',
            "__MACOSX/Survey export/._responses.csv": "resource fork",  # what macOS' archiver adds
        },
    )

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    csv_label = f"{archive}/Survey export/responses.csv"
    assert [(f.source_file, f.loaded, f.rejected) for f in report.files] == [
        (f"{archive}/Survey export/late.jsonl", 1, 0),
        (csv_label, 1, 1),
    ]
    assert report.errors == []
    assert _responses(con) == [("R1", 5, csv_label), ("R3", None, f"{archive}/Survey export/late.jsonl")]
    # a reject names the file in the archive and its row
    assert con.execute("select source_file, row_number, rule from raw.load_rejects").fetchall() == [
        (csv_label, 2, "range")
    ]
    manifest = con.execute("select file_sha256 from raw.load_manifest where source_file = ?", [csv_label]).fetchone()
    assert manifest == (part_id(file_sha256(archive), "Survey export/responses.csv"),)

    def unpacked(*_):
        raise AssertionError("an archive loaded before was unpacked again")

    monkeypatch.setattr(delivery_list, "extract_member", unpacked)
    again = ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert [f.skipped for f in again.files] == [True, True] and again.errors == []


def test_a_file_of_another_type_in_an_archive_is_refused_and_the_rest_loads(con, landing):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    archive = _zip(
        folder / "export.zip",
        {"readme.pdf": "%PDF-1.4", "responses.csv": HEADER + "R1,S1,2025-03-10T12:00:00Z,web,5\n"},
    )

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert [f.source_file for f in report.files] == [f"{archive}/responses.csv"]
    [error] = report.errors
    assert error.startswith(f"{archive}/readme.pdf: unknown file type")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"PK\x03\x04 not really a zip", "not a readable zip archive"), (None, "the zip archive holds no file to load")],
)
def test_a_broken_or_empty_archive_is_refused_naming_it(con, landing, content, message):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    path = folder / "export.zip"
    if content is None:
        _zip(path, {"__MACOSX/._x.csv": "resource fork"})
    else:
        path.write_bytes(content)
    (folder / "2025-03.csv").write_text(HEADER + "R1,S1,2025-03-10T12:00:00Z,web,5\n", encoding="utf-8")

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert [f.loaded for f in report.files] == [1]  # the folder's other file still loads
    [error] = report.errors
    assert error.startswith(f"{path}: {message}")


def test_a_name_in_an_archive_is_never_a_path_written_to(con, landing, tmp_path):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    archive = _zip(folder / "export.zip", {"../../escaped.csv": HEADER + "R1,S1,2025-03-10T12:00:00Z,web,5\n"})

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert [f.source_file for f in report.files] == [f"{archive}/../../escaped.csv"]
    assert not list(tmp_path.rglob("escaped.csv"))


def test_an_archive_takes_its_place_in_the_delivery_order(con, landing):
    # The February archive, then a March correction of R1 delivered as a plain file: March wins.
    folder = entity_folder(landing, SURVEY_RESPONSES)
    _zip(folder / "2025-02.zip", {"r.csv": HEADER + "R1,S1,2025-02-10T12:00:00Z,web,2\n"})
    (folder / "2025-03.csv").write_text(HEADER + "R1,S1,2025-02-10T12:00:00Z,web,4\n", encoding="utf-8")

    ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert [(r, s) for r, s, _ in _responses(con)] == [("R1", 4)]


def test_a_part_is_shown_with_the_file_holding_it(con, landing):
    archive = _zip(entity_folder(landing, SURVEY_RESPONSES) / "export.zip", {"Export/responses.csv": HEADER + R1})

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    # the Dagster asset's table of files names the archive with its file, not the file alone
    assert "| export.zip/Export/responses.csv | 1 | 1 | 0 | 0 | loaded |" in _file_table(report).splitlines()
    assert landing_file_of(report.files[0].source_file) == str(archive)
    assert short_label("/landing/survey/survey_responses/log.xlsx/2025-01") == "log.xlsx/2025-01"
    assert short_label("/landing/survey/survey_responses/2025-01.csv") == "2025-01.csv"
