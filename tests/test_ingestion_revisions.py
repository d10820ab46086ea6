"""Survey answers are immutable: a later delivery that changes one is recorded (raw.revised_rows,
which the raw suite's `redeliveries` check blocks on); one that repeats it as it was, as a form
tool's cumulative export does, is not."""

from __future__ import annotations

from dagster_project.contract import CUSTOMERS, SURVEY_RESPONSES
from dagster_project.ingestion.loader import ingest_landing_entity

from deliveries import entity_folder

HEADER = "response_id,survey_id,submitted_at,likelihood_to_recommend"
R1 = "R1,S1,2025-03-05T10:00:00Z,9"
R2 = "R2,S1,2025-03-06T10:00:00Z,3"


def _deliver(landing, name, lines, entity=SURVEY_RESPONSES, header=HEADER):
    (entity_folder(landing, entity) / name).write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")


def _revised(con):
    return con.execute(
        "select m.source_file, b.source_file, r.rows_revised from raw.revised_rows r"
        " join raw.load_manifest m on m.file_sha256 = r.file_sha256 and m.entity = r.entity"
        " join raw.load_manifest b on b.file_sha256 = r.revised_by_sha256 and b.entity = r.entity order by all"
    ).fetchall()


def _names(rows):
    return [tuple(None if isinstance(v, int) else v.rsplit("/", 1)[-1] for v in row[:2]) + row[2:] for row in rows]


def test_a_cumulative_export_repeats_its_rows_without_a_revision(con, landing):
    _deliver(landing, "1_export.csv", [R1])
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    _deliver(landing, "2_export.csv", [R1, R2])  # the next download: every response so far
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert _revised(con) == []
    assert con.execute("select count(*) from raw.survey_responses").fetchone()[0] == 2


def test_a_changed_answer_in_a_later_run_is_recorded_against_the_earlier_file(con, landing):
    _deliver(landing, "1_export.csv", [R1, R2])
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    _deliver(landing, "2_export.csv", [R1, "R2,S1,2025-03-06T10:00:00Z,10"])
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert _names(_revised(con)) == [("1_export.csv", "2_export.csv", 1)]


def test_files_of_one_batch_are_compared_too(con, landing):
    _deliver(landing, "1_export.csv", [R1, R2])
    _deliver(landing, "2_export.csv", [R1, "R2,S1,2025-03-06T10:00:00Z,"])  # R2's answer blanked
    _deliver(landing, "3_export.csv", [R1, "R2,S1,2025-03-06T10:00:00Z,", "R3,S1,2025-03-07T10:00:00Z,7"])

    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert (report.total("loaded"), len(report.files)) == (7, 3)
    # R2 of the first file is changed by the latest file; the second file's R2 is the latest's, unchanged
    assert _names(_revised(con)) == [("1_export.csv", "3_export.csv", 1)]


def test_columns_beyond_the_contract_are_no_answer(con, landing):
    _deliver(landing, "1_export.csv", [R1])
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    _deliver(landing, "2_export.csv", [R1 + ",new question"], header=HEADER + ",Added later")
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert _revised(con) == []


def test_entities_whose_rows_change_record_no_revision(con, landing):
    header = "customer_id,segment"
    _deliver(landing, "1_customers.csv", ["C1,retail"], entity=CUSTOMERS, header=header)
    ingest_landing_entity(con, CUSTOMERS, landing)
    _deliver(landing, "2_customers.csv", ["C1,business"], entity=CUSTOMERS, header=header)
    ingest_landing_entity(con, CUSTOMERS, landing)

    assert _revised(con) == []
