"""Issue 10 acceptance: six real deployment shapes, each end to end through the Dagster job.

Each fixture under tests/fixtures_deployments/<shape>/ is what a user brings: landing files in the
layout of a public export, a deployment file, mapping files and (where the company has its own
taxonomy or questionnaire) the seeds it edits. The job (`build_definitions` + `csat_pipeline`) must
publish with the gate passing; every KPI whose inputs the shape delivers equals a pandas computation
from the fixture files written here (not from the warehouse); every KPI whose inputs it does not
deliver is NULL with its reason in kpi_monthly.null_reason; the scorecard shows those "No data".

These are the suite's heaviest tests after test_quality_pipeline.py: one full pipeline run per shape
(a few hundred rows each, about half a minute per shape).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from dagster_project.definitions import PIPELINE_JOB, build_definitions
from dagster_project.publication.published_copy import DATABASE_FILE
from dagster_project.scorecard import SCORECARD_FILE

import kpi_reference as ref

FIXTURES = Path(__file__).parent / "fixtures_deployments"
DBT_PROJECT = Path(__file__).parent.parent / "dbt_project"
pytestmark = pytest.mark.pipeline

ENV_NOT_INHERITED = (
    "CSAT_SEEDS_DIR",
    "CSAT_DBT_SEED_PATH",
    "CSAT_REPORTING_TIME_ZONE",
    "CSAT_CRM_DATABASE_URL",
    "CSAT_PUBLISH_POSTGRES_URL",
)
ALL_UP = (
    "segment = 'all' and region = 'all' and channel = 'all' and touchpoint = 'all' and category = 'all'"
    " and attribute_name = 'all'"
)

SURVEY_KPIS = ["nps", "csat_pct", "ces", "ces_easy_pct", "csi", "satisfied_pct"]
ITEM_KPIS = ["servqual_gap", "servqual_gap_weighted", "perception_score"]
ORDER_KPIS = ["repeat_purchase_rate", "repurchase_90d_rate"]
CHURN_KPIS = ["logo_churn_rate", "gross_revenue_churn_rate", "retention_rate"]
# complaint_rate also needs orders: the shapes name its reason on their own
COMPLAINT_KPIS = [k for k in ref.COMPLAINT_KPIS if k != "complaint_rate"]


# ------------------------------------------------------------------------------------------ harness


class Deployment:
    """One pipeline run on a fixture, and read access to what it published."""

    def __init__(self, shape: str, root: Path, result: dg.ExecuteInProcessResult):
        self.shape = shape
        self.root = root
        self.result = result
        self.fixture = FIXTURES / shape
        self.database = root / "published" / DATABASE_FILE
        self.scorecard = root / "reports" / SCORECARD_FILE

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.execute(sql, params or []).df()

    def kpi(self, kpi: str, where: str = ALL_UP) -> dict[date, dict]:
        rows = self.query(f"select * from marts.kpi_monthly where kpi = ? and {where} order by month_start_date", [kpi])
        return {pd.Timestamp(r["month_start_date"]).date(): r for r in rows.to_dict("records")}


def run_deployment(shape: str, root: Path) -> Deployment:
    """Copy the fixture (its seeds folder holds only the seeds the company changed: the pipeline
    takes the others from the repo's seeds/), point CSAT_DEPLOYMENT_CONFIG at its deployment file and
    run the whole job. Nothing may be written into dbt_project/ outside target/ and logs/."""
    deployment = root / "deployment"
    shutil.copytree(FIXTURES / shape, deployment, ignore=shutil.ignore_patterns("README.md"))
    project_entries = {p.name for p in DBT_PROJECT.iterdir()} | {"target", "logs"}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CSAT_DEPLOYMENT_CONFIG", str(deployment / "deployment.yml"))
        for name in ENV_NOT_INHERITED:
            env.delenv(name, raising=False)
        defs = build_definitions(
            landing_dir=str(deployment / "landing"),
            warehouse_path=str(root / "warehouse" / "csat.duckdb"),
            published_dir=str(root / "published"),
            quality_dir=str(root / "quality"),
            reports_dir=str(root / "reports"),
        )
        result = defs.resolve_job_def(PIPELINE_JOB).execute_in_process(raise_on_error=False)
    assert {p.name for p in DBT_PROJECT.iterdir()} <= project_entries
    return Deployment(shape, root, result)


def assert_published_with_the_gate_passing(run: Deployment) -> None:
    failures = [e.step_key for e in run.result.all_node_events if e.event_type_value == "STEP_FAILURE"]
    assert failures == []
    blocking = [
        (e.asset_key.to_user_string(), e.check_name)
        for e in run.result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert blocking == []
    materialized = {e.asset_key for e in run.result.get_asset_materialization_events()}
    assert dg.AssetKey(["published_warehouse"]) in materialized
    assert dg.AssetKey(["scorecard"]) in materialized
    assert run.database.is_file() and run.scorecard.is_file()


def assert_no_rejects(run: Deployment, answers: dict[str, int] | None = None) -> None:
    """The mapping alone loads the export: no row rejected (raw.load_rejects is empty), and every
    delivered file's rows were loaded (`answers`: the rows of an entity loaded from a wide file)."""
    with duckdb.connect(str(root_warehouse(run)), read_only=True) as con:
        rejects = con.execute("select entity, rule, count(*) from raw.load_rejects group by all").fetchall()
        loaded = dict(con.execute("select entity, rows_loaded from raw.entity_delivery where is_delivered").fetchall())
    assert rejects == []
    delivered = {}
    for path in (run.fixture / "landing").glob("*/*/*.csv"):
        delivered[path.parent.name] = delivered.get(path.parent.name, 0) + len(pd.read_csv(path))
    assert loaded == delivered | (answers or {})


def root_warehouse(run: Deployment) -> Path:
    return run.root / "warehouse" / "csat.duckdb"


def assert_equal_by_month(run: Deployment, kpi: str, expected: dict[date, float | None], where: str = ALL_UP) -> None:
    """kpi_monthly's value of every month equals the independent computation (rounded as published,
    4 decimals); months the computation has no value for are NULL, never 0; at least one value."""
    published = run.kpi(kpi, where)
    assert published, f"{kpi}: no rows in kpi_monthly"
    got = {m: (None if pd.isna(r["value"]) else float(r["value"])) for m, r in published.items()}
    want = {m: (None if expected.get(m) is None else round(expected[m], 4)) for m in published}
    assert got == pytest.approx(want, abs=1e-4), kpi
    assert any(v is not None for v in got.values()), f"{kpi}: every month NULL"
    # every month the computation has a value for is published
    assert {m for m, v in expected.items() if v is not None} <= set(published), kpi


def assert_null_with_reason(run: Deployment, kpis: list[str], reason: str) -> None:
    """Every row of each KPI (every month, every slice) is NULL with `reason`."""
    for kpi in kpis:
        rows = run.query("select value, null_reason from marts.kpi_monthly where kpi = ?", [kpi])
        assert len(rows), f"{kpi}: no rows in kpi_monthly"
        assert rows["value"].isna().all(), f"{kpi}: a value although its inputs were not delivered"
        assert set(rows["null_reason"]) == {reason}, kpi


def assert_scorecard_no_data(run: Deployment, kpis: list[str]) -> None:
    """The scorecard's cards of these headline KPIs are grey "No data" with the reason; and
    scorecard_monthly gives every such KPI the status no_data (never green or red)."""
    page = run.scorecard.read_text(encoding="utf-8")
    for kpi in kpis:
        start = page.index(f'<section class="card status-no_data" data-kpi="{kpi}">')
        card = page[start : page.index("</section>", start)]
        assert 'data-status="no_data"' in card and ">No data<" in card, kpi
        assert 'class="kpi-null-reason"' in card, kpi
    statuses = run.query(
        "select distinct status from marts.scorecard_monthly where null_reason like 'not delivered%'"
        " or null_reason like 'column never delivered%'"
    )
    assert set(statuses["status"]) == {"no_data"}


def month_of(ts: pd.Series) -> pd.Series:
    return ts.dt.to_period("M").dt.start_time.dt.date


# ------------------------------------------------------------------- (a) CRM + subscriptions only


@pytest.fixture(scope="module")
def telco(tmp_path_factory) -> Deployment:
    return run_deployment("telco_crm_subscriptions", tmp_path_factory.mktemp("telco"))


def churn_by_month(subscriptions: pd.DataFrame, months: list[date]) -> dict[str, dict[date, float | None]]:
    """KPIS.md churn formulas; one subscription per customer in this export."""
    started = pd.to_datetime(subscriptions["StartDate"])
    ended = pd.to_datetime(subscriptions["EndDate"])
    out: dict[str, dict[date, float | None]] = {k: {} for k in CHURN_KPIS}
    for month in months:
        start = pd.Timestamp(month)
        end = start + pd.offsets.MonthBegin(1)
        active = (started < start) & (ended.isna() | (ended >= start))
        churned = active & ended.notna() & (ended < end)
        n, mrr = int(active.sum()), float(subscriptions.loc[active, "MonthlyCharges"].sum())
        logo = 100.0 * churned.sum() / n if n else None
        out["logo_churn_rate"][month] = logo
        out["retention_rate"][month] = None if logo is None else 100.0 - logo
        out["gross_revenue_churn_rate"][month] = (
            100.0 * subscriptions.loc[churned, "MonthlyCharges"].sum() / mrr if mrr else None
        )
    return out


def test_telco_crm_and_subscriptions_only(telco):
    assert_published_with_the_gate_passing(telco)
    assert_no_rejects(telco)
    landing = telco.fixture / "landing"
    subscriptions = pd.read_csv(landing / "churn/subscriptions/2024-07-01_subscriptions.csv")
    months = sorted(telco.kpi("logo_churn_rate"))
    expected = churn_by_month(subscriptions, months)
    for kpi in CHURN_KPIS:
        assert_equal_by_month(telco, kpi, expected[kpi])
    # sliced by the CRM's segment (the export's contract type), lower-cased
    customers = pd.read_csv(landing / "crm/customers/2024-07-01_customers.csv")
    for contract in ("Month-to-month", "Two year"):
        ids = set(customers.loc[customers["Contract"] == contract, "customerID"])
        sliced = churn_by_month(subscriptions[subscriptions["customerID"].isin(ids)], months)
        where = f"segment = '{contract.lower()}' and region = 'all' and channel = 'all' and touchpoint = 'all'"
        assert_equal_by_month(telco, "logo_churn_rate", sliced["logo_churn_rate"], where + " and category = 'all'")

    assert_null_with_reason(telco, SURVEY_KPIS, "not delivered: survey_responses")
    assert_null_with_reason(telco, ITEM_KPIS, "not delivered: survey_item_scores")
    assert_null_with_reason(telco, ORDER_KPIS, "not delivered: orders")
    assert_null_with_reason(telco, COMPLAINT_KPIS, "not delivered: tickets")
    rate = telco.query("select distinct null_reason from marts.kpi_monthly where kpi = 'complaint_rate'")
    assert set(rate["null_reason"]) <= {"not delivered: orders", "not delivered: tickets"}
    assert_scorecard_no_data(
        telco,
        ["csi", "nps", "csat_pct", "ces", "repeat_purchase_rate", "complaint_rate", "resolution_hours_median"],
    )


# ------------------------------------------------- (b) e-commerce review export: CSAT only, local time


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Deployment:
    return run_deployment("ecommerce_reviews", tmp_path_factory.mktemp("reviews"))


def test_ecommerce_reviews_csat_only_in_local_time(reviews):
    assert_published_with_the_gate_passing(reviews)
    assert_no_rejects(reviews)
    export = pd.read_csv(reviews.fixture / "landing/survey/survey_responses/2024-07-01_order_reviews.csv")
    # the shop's naive local time is also the reporting time zone: its calendar month is the month
    local = pd.to_datetime(export["review_answer_timestamp"])
    export["month"] = month_of(local)
    top2 = export.assign(top=export["review_score"] >= 4).groupby("month")["top"]
    expected = (100.0 * top2.sum() / top2.count()).to_dict()
    assert_equal_by_month(reviews, "csat_pct", expected)
    # a review at 23:30 on 31 March in Sao Paulo is 02:30 on 1 April in UTC, and counts in March
    with duckdb.connect(str(root_warehouse(reviews)), read_only=True) as con:
        utc = con.execute("select submitted_at from raw.survey_responses where response_id = 'late1'").fetchone()[0]
    assert str(utc)[:16] == "2024-04-01 02:30"
    march = reviews.kpi("csat_pct")[date(2024, 3, 1)]
    assert march["sample_size"] == (export["month"] == date(2024, 3, 1)).sum()

    assert_null_with_reason(reviews, ["nps"], "column never delivered: survey_responses.likelihood_to_recommend")
    assert_null_with_reason(reviews, ["ces", "ces_easy_pct"], "column never delivered: survey_responses.effort_score")
    assert_null_with_reason(reviews, ["satisfied_pct"], "column never delivered: survey_responses.is_satisfied")
    csi = reviews.query("select distinct null_reason from marts.kpi_monthly where kpi = 'csi'")
    reasons = list(csi["null_reason"])
    assert reasons and all(r.startswith("column never delivered: survey_responses.") for r in reasons)
    assert_null_with_reason(reviews, ITEM_KPIS, "not delivered: survey_item_scores")
    assert_null_with_reason(reviews, CHURN_KPIS, "not delivered: subscriptions")
    assert_null_with_reason(reviews, ORDER_KPIS, "not delivered: orders")
    assert_null_with_reason(reviews, COMPLAINT_KPIS, "not delivered: tickets")
    assert_scorecard_no_data(
        reviews, ["csi", "nps", "ces", "logo_churn_rate", "repeat_purchase_rate", "resolution_hours_median"]
    )
    # the CSAT card has a number: June is the latest complete month in Sao Paulo
    page = reviews.scorecard.read_text(encoding="utf-8")
    start = page.index('data-kpi="csat_pct">')
    assert f'data-actual="{round(expected[date(2024, 6, 1)], 4)}' in page[start : page.index("</section>", start)]


# -------------------------------------------------------------------- (c) a public complaints register


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> Deployment:
    return run_deployment("complaints_register", tmp_path_factory.mktemp("register"))


def test_public_complaints_register(register):
    assert_published_with_the_gate_passing(register)
    assert_no_rejects(register)
    export = pd.read_csv(register.fixture / "landing/complaints/tickets/2024-06-01_register.csv", keep_default_na=False)
    opened = pd.to_datetime(export["Date received"])  # a New York date = a New York reporting month
    export["month"] = month_of(opened)
    months = sorted(register.kpi("complaint_volume"))
    volume = export.groupby("month").size().to_dict()
    assert_equal_by_month(register, "complaint_volume", {m: float(volume.get(m, 0)) for m in months})

    flagged = export[export["Timely response?"].isin(["Yes", "No"])]
    timely = flagged.assign(yes=flagged["Timely response?"] == "Yes").groupby("month")["yes"]
    assert_equal_by_month(register, "timely_response_rate", (100.0 * timely.sum() / timely.count()).to_dict())

    # backlog: status is authoritative; closed complaints have no resolution date and are never open
    is_open = ~export["Company response to consumer"].str.startswith("Closed")
    backlog = {}
    for month in months:
        end = pd.Timestamp(month) + pd.offsets.MonthBegin(1)
        backlog[month] = float((is_open & (opened < end)).sum())
    assert_equal_by_month(register, "backlog", backlog)

    # volume by the company's own issue taxonomy (the category slice)
    issues = {
        "Attempts to collect debt not owed": "debt_not_owed",
        "Managing an account": "managing_account",
    }
    for issue, code in issues.items():
        by_month = export[export["Issue"] == issue].groupby("month").size().to_dict()
        where = f"segment = 'all' and region = 'all' and channel = 'all' and touchpoint = 'all' and category = '{code}'"
        assert_equal_by_month(register, "complaint_volume", {m: float(by_month.get(m, 0)) for m in months}, where)

    for kpi in ("first_response_hours_median", "first_response_hours_p90"):
        assert_null_with_reason(register, [kpi], "column never delivered: tickets.first_response_at")
    for kpi in ("resolution_hours_median", "resolution_hours_p90", "sla_attainment_rate"):
        assert_null_with_reason(register, [kpi], "column never delivered: tickets.resolved_at")
    # two missing inputs: the reason names one of them
    for kpi, other in (("reopen_rate", "reopen_count"), ("first_contact_resolution_rate", "contact_count")):
        rows = register.query("select value, null_reason from marts.kpi_monthly where kpi = ?", [kpi])
        assert len(rows) and rows["value"].isna().all(), kpi
        assert set(rows["null_reason"]) <= {
            "column never delivered: tickets.resolved_at",
            f"column never delivered: tickets.{other}",
        }, kpi
    assert_null_with_reason(register, ["escalation_rate"], "column never delivered: tickets.escalated")
    assert_null_with_reason(register, ["complaint_rate"], "not delivered: orders")
    assert_null_with_reason(register, SURVEY_KPIS, "not delivered: survey_responses")
    assert_null_with_reason(register, CHURN_KPIS, "not delivered: subscriptions")
    assert_scorecard_no_data(
        register,
        ["csi", "nps", "csat_pct", "ces", "logo_churn_rate", "complaint_rate", "resolution_hours_median"],
    )
    # anonymous complaints: no customer key anywhere, and the raw layer keeps the delivered texts
    with duckdb.connect(str(root_warehouse(register)), read_only=True) as con:
        anonymous, closed = con.execute(
            "select count(*) filter (where customer_id is null), count(*) filter (where status = 'closed'"
            " and resolved_at is null) from raw.tickets"
        ).fetchone()
        extra = con.execute("select _extra from raw.tickets where ticket_id = ?", [str(export["Complaint ID"][0])])
        extra = extra.fetchone()[0]
    assert anonymous == len(export) and closed == export["Company response to consumer"].str.startswith("Closed").sum()
    assert export["Product"][0] in extra and export["Submitted via"][0] in extra


# --------------------------------------------------------------- (d) a passenger satisfaction survey


@pytest.fixture(scope="module")
def passengers(tmp_path_factory) -> Deployment:
    return run_deployment("passenger_survey", tmp_path_factory.mktemp("passengers"))


def test_passenger_survey_perception_only(passengers):
    assert_published_with_the_gate_passing(passengers)
    landing = passengers.fixture / "landing/survey"
    respondents = pd.read_csv(landing / "survey_responses/passenger_survey.csv")
    catalogue = pd.read_csv(passengers.fixture / "seeds/survey_items.csv")
    # the export is wide: a column per item, named by the catalogue's item text
    answers = respondents.melt(id_vars="id", value_vars=list(catalogue["item_text"]), var_name="question")
    answers = answers.rename(columns={"value": "answer"})
    assert_no_rejects(passengers, {"survey_item_scores": 210 * 14})  # every cell of the wide file is one answer
    may = date(2024, 5, 1)  # the mapping's constant submitted_at: 2024-05-31

    satisfied = respondents["satisfaction"] == "satisfied"
    assert_equal_by_month(passengers, "satisfied_pct", {may: 100.0 * satisfied.mean()})

    # SERVPERF: 0 = not applicable is left out; each item rescaled on its own scale to 0-100
    scored = answers.merge(catalogue, left_on="question", right_on="item_text")
    scored = scored[scored["answer"] != scored["na_code"]]
    scored["index"] = (scored["answer"] - scored["scale_min"]) / (scored["scale_max"] - scored["scale_min"]) * 100
    by_dimension = scored.groupby("dimension")["index"].mean()
    assert set(by_dimension.index) == {"digital", "comfort", "service"}
    for dimension, value in by_dimension.items():
        assert_equal_by_month(passengers, f"perception_score_{dimension}", {may: value})
    assert_equal_by_month(passengers, "perception_score", {may: by_dimension.mean()})

    expectations = "column never delivered: survey_item_scores.expectation_score"
    assert_null_with_reason(passengers, ["servqual_gap", "servqual_gap_weighted"], expectations)
    for kpi in ("nps", "csat_pct", "ces", "ces_easy_pct"):
        rows = passengers.query("select distinct null_reason from marts.kpi_monthly where kpi = ?", [kpi])
        assert list(rows["null_reason"]) and all(r.startswith("column never delivered") for r in rows["null_reason"])
    assert_null_with_reason(passengers, CHURN_KPIS, "not delivered: subscriptions")
    assert_null_with_reason(passengers, COMPLAINT_KPIS, "not delivered: tickets")
    assert_scorecard_no_data(
        passengers,
        ["csi", "nps", "csat_pct", "ces", "logo_churn_rate", "repeat_purchase_rate", "resolution_hours_median"],
    )
    # respondent attributes are kept, under the export's names
    with duckdb.connect(str(root_warehouse(passengers)), read_only=True) as con:
        extra = con.execute("select _extra from raw.survey_responses where response_id = '100001'").fetchone()[0]
    assert '"Class"' in extra and '"Type of Travel"' in extra


def test_passenger_kpis_slice_by_travel_class_and_trip_purpose(passengers):
    """The deployment's seed slice_attributes names two export columns kept in _extra: the survey KPIs
    are sliced by them (attribute_name / attribute_value), values trimmed and lower-cased."""
    respondents = pd.read_csv(passengers.fixture / "landing/survey/survey_responses/passenger_survey.csv")
    respondents["satisfied"] = respondents["satisfaction"] == "satisfied"
    for column, label in (("Class", "travel_class"), ("Type of Travel", "trip_purpose")):
        expected = (
            100.0 * respondents.groupby(respondents[column].str.strip().str.lower())["satisfied"].mean()
        ).to_dict()
        rows = passengers.query(
            "select attribute_value, value, sample_size from marts.kpi_monthly where kpi = 'satisfied_pct'"
            " and attribute_name = ? and month_start_date = date '2024-05-01'",
            [label],
        )
        got = dict(zip(rows["attribute_value"], rows["value"], strict=True))
        assert set(got) == set(expected), label
        for value, pct in expected.items():
            assert got[value] == pytest.approx(pct, abs=1e-4), (label, value)  # the mart rounds to 4 places
        assert rows["sample_size"].sum() == len(respondents), label


# ------------------------------------------------------ (e) a form tool's cumulative exports, no ids


@pytest.fixture(scope="module")
def form(tmp_path_factory) -> Deployment:
    return run_deployment("form_survey", tmp_path_factory.mktemp("form"))


def test_form_survey_cumulative_exports_without_ids(form):
    """Two downloads of a form's responses, the second holding the first's rows again: the key made
    of the timestamp and answers (`key_from`) replaces them, so every response counts once; the
    timestamps written two ways (`formats` list) and the satisfaction labels (`values`) load
    without a reject. NPS and CSAT equal a computation from the latest download alone."""
    assert_published_with_the_gate_passing(form)
    folder = form.fixture / "landing/survey/survey_responses"
    first = pd.read_csv(folder / "2024-02-29_form_responses.csv", keep_default_na=False)
    latest = pd.read_csv(folder / "2024-04-30_form_responses.csv", keep_default_na=False)
    with duckdb.connect(str(root_warehouse(form)), read_only=True) as con:
        assert con.execute("select count(*) from raw.load_rejects").fetchone()[0] == 0
        assert con.execute("select count(*) from raw.survey_responses").fetchone()[0] == len(latest)
        manifest = con.execute("select rows_loaded from raw.load_manifest order by source_file").fetchall()
    assert manifest == [(len(first),), (len(latest),)]

    at = pd.to_datetime(latest["Timestamp"], format="mixed")
    assert (latest["Timestamp"].str.contains("-")).any() and (latest["Timestamp"].str.contains("/")).any()
    latest["month"] = month_of(at)
    score = latest["How likely are you to recommend Acme to a friend or colleague?"]
    latest["nps_points"] = (score >= 9).astype(int) - (score <= 6).astype(int)
    assert_equal_by_month(form, "nps", (100.0 * latest.groupby("month")["nps_points"].mean()).to_dict())
    satisfied = latest["Overall, how satisfied are you with Acme?"].isin(["Satisfied", "Very satisfied"])
    assert_equal_by_month(form, "csat_pct", (100.0 * satisfied.groupby(latest["month"]).mean()).to_dict())
    assert form.kpi("nps")[date(2024, 1, 1)]["sample_size"] == (latest["month"] == date(2024, 1, 1)).sum()


# ---------------------------------------------- (f) a survey tool's answers in long form, one table


@pytest.fixture(scope="module")
def connector(tmp_path_factory) -> Deployment:
    return run_deployment("survey_connector", tmp_path_factory.mktemp("connector"))


def test_survey_connector_answers_in_long_form(connector):
    """One table, a row per response and question: the responses pivot their NPS and CSAT rows
    (`pivot`), the item scores take the item rows (`files_of`, `where`), unfinished responses are
    left out of both. NPS and CSAT equal a computation from the long table."""
    assert_published_with_the_gate_passing(connector)
    long = pd.read_csv(connector.fixture / "landing/survey/survey_responses/question_response.csv")
    finished = long[long["finished"]]
    items = finished[~finished["question_id"].isin(["NPS", "CSAT"])]
    with duckdb.connect(str(root_warehouse(connector)), read_only=True) as con:
        assert con.execute("select count(*) from raw.load_rejects").fetchone()[0] == 0
        counts = dict(con.execute("select entity, rows_left_out from raw.load_manifest").fetchall())
        loaded = dict(con.execute("select entity, rows_loaded from raw.entity_delivery where is_delivered").fetchall())
    assert loaded == {"survey_responses": finished["response_id"].nunique(), "survey_item_scores": len(items)}
    assert counts == {"survey_responses": len(long) - len(finished), "survey_item_scores": len(long) - len(items)}

    responses = finished.pivot(index="response_id", columns="question_id", values="value")
    responses["month"] = month_of(pd.to_datetime(finished.groupby("response_id")["recorded_date"].first()))
    nps = responses.dropna(subset=["NPS"])
    points = (nps["NPS"] >= 9).astype(int) - (nps["NPS"] <= 6).astype(int)
    assert_equal_by_month(connector, "nps", (100.0 * points.groupby(nps["month"]).mean()).to_dict())
    csat = responses.dropna(subset=["CSAT"])
    assert_equal_by_month(connector, "csat_pct", (100.0 * (csat["CSAT"] >= 4).groupby(csat["month"]).mean()).to_dict())
    assert_null_with_reason(connector, ["servqual_gap"], "column never delivered: survey_item_scores.expectation_score")
