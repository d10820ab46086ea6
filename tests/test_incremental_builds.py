"""Incremental builds (issue 12): after a full build, a build that recomputes only the months and
customers touched by new deliveries gives the marts a full rebuild of the same raw data gives.

One small generated landing folder; its last day is held back (bench/bench_pipeline.py). Build 1 is
a full build without that day. Then the day arrives together with the awkward deliveries of real
life, and build 2 runs incrementally: late survey responses (with item scores) and a late order for
an old month, an old month's orders re-delivered with a cancelled order (the customer's later orders
are renumbered) and a changed amount, a survey response re-delivered under another month and
customer (its old row must go), a customer re-delivered with another segment, a resolved complaint
re-delivered as reopened (the key-driver statistics of its survey response's quarter change), the
order and the agent an old complaint named, delivered late (its keys turn from NULL into keys). Build 3
is a full refresh of a copy of build 2's warehouse. Every mart must be the same (keys, texts, integers exactly;
unrounded doubles within 1e-9 relative: hash aggregation sums in no fixed order).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import bench_modules
import dagster as dg
import duckdb
import pytest
from working_files import copy_working, open_working

from csat_sample_data import generate_sample_data
from dagster_project import build_scope, build_state, settings
from dagster_project.assets.warehouse import DBT_PROJECT_DIR, ensure_manifest, get_dbt_project
from dagster_project.dbt_node_results import NODE_RESULTS_FILE, read_node_results
from dagster_project.definitions import PIPELINE_JOB, build_definitions
from dagster_project.ingestion.warehouse import connect
from dagster_project.publication.published_copy import parquet_source
from dagster_project.run_summary import failure_lines

pytestmark = pytest.mark.pipeline

bench_pipeline = bench_modules.load("bench_pipeline")
compare_engines = bench_modules.load("compare_engines")

# a table of the intermediate schema that no model builds (the grid's intermediate table, now gone)
LEFT_BEHIND = "intermediate.int_customer_months"
# the incremental models (schema.table)
INCREMENTAL_MODELS = (
    "intermediate.int_survey_responses_scored",
    "intermediate.int_servqual_item_gaps",
    "intermediate.int_orders_classified",
    "intermediate.int_customers_first_orders",
    "intermediate.int_analytics_responses",
    "intermediate.int_driver_observations",
    "intermediate.int_complaints_timed",
    "intermediate.int_analytics_complaints",
    "marts.fct_complaints",
    "marts.fct_customer_months",
    "marts.fct_orders",
    "marts.fct_survey_item_scores",
    "marts.fct_survey_responses",
)


def run(landing: Path, root: Path) -> dg.ExecuteInProcessResult:
    defs = build_definitions(
        landing_dir=landing,
        warehouse_path=root / "csat.duckdb",
        published_dir=root / "published",
        quality_dir=root / "quality",
        reports_dir=root / "reports",
    )
    result = defs.resolve_job_def(PIPELINE_JOB).execute_in_process(raise_on_error=False)
    assert result.success, failure_lines(result)
    return result


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path, fmt: str) -> None:
    options = "(format parquet)" if fmt == "parquet" else "(header, delimiter ',')"
    con.execute(f"copy ({query}) to '{target}' {options}")


def deliver_awkward_files(landing: Path) -> dict[str, str]:
    """Write the late, re-delivered and replaced rows as new files; returns what changed."""
    responses = sorted((landing / "survey" / "survey_responses").glob("*.csv"))
    items = sorted((landing / "survey" / "survey_item_scores").glob("*.parquet"))
    orders = sorted((landing / "crm" / "orders").glob("*.parquet"))
    con = duckdb.connect()
    old_responses = f"read_csv('{responses[1]}', all_varchar = true)"
    # Late responses for an old month (new keys), and item scores for them.
    late = con.execute(
        f"select response_id from {old_responses} where response_id in "
        f"(select response_id from read_parquet('{items[1]}')) order by response_id limit 3"
    ).fetchall()
    _copy(
        con,
        f"select * replace ('LATE-' || response_id as response_id) from {old_responses} "
        f"where response_id in ({', '.join(repr(r) for (r,) in late)})",
        landing / "survey" / "survey_responses" / "zz_late_responses.csv",
        "csv",
    )
    _copy(
        con,
        f"select * replace ('LATE-' || response_id as response_id) from read_parquet('{items[1]}') "
        f"where response_id in ({', '.join(repr(r) for (r,) in late)})",
        landing / "survey" / "survey_item_scores" / "zz_late_item_scores.parquet",
        "parquet",
    )
    # An order delivered again under another month and another customer, in the newest file (its old
    # row must go; survey responses cannot move: answers are immutable, the raw gate fails a re-delivery).
    # Its old customer has a later valid order, which must be renumbered, and nothing else delivered
    # for them (orders of the re-delivered month, the day or the last month would put them in scope).
    valid = "status not in ('cancelled', 'refunded')"
    untouched = [orders[0], orders[2], orders[-2], orders[-1]]
    moved, old_customer = con.execute(
        f"select order_id, customer_id from read_parquet('{orders[3]}') as o where {valid} "
        f"and customer_id in (select customer_id from read_parquet({[str(f) for f in orders[4:-2]]}) "
        f"where {valid} and ordered_at > o.ordered_at) "
        f"and customer_id not in (select customer_id from read_parquet({[str(f) for f in untouched]})) "
        "order by order_id limit 1"
    ).fetchone()
    new_customer = con.execute(
        f"select customer_id from read_parquet('{orders[-1]}') where customer_id <> '{old_customer}' limit 1"
    ).fetchone()[0]
    _copy(
        con,
        f"select * replace ('{new_customer}' as customer_id, "
        f"(select max(ordered_at) from read_parquet('{orders[len(orders) // 2]}')) as ordered_at) "
        f"from read_parquet('{orders[3]}') where order_id = '{moved}'",
        landing / "crm" / "orders" / "zzz_moved_order.parquet",
        "parquet",
    )
    # An old month's orders delivered again: its first valid order cancelled, another amount changed.
    month = f"read_parquet('{orders[2]}')"
    cancelled, changed = [
        r[0]
        for r in con.execute(
            f"select order_id from {month} where status not in ('cancelled', 'refunded') order by order_id limit 2"
        ).fetchall()
    ]
    _copy(
        con,
        f"select * replace (case when order_id = '{cancelled}' then 'cancelled' else status end as status, "
        f"case when order_id = '{changed}' then amount + 1 else amount end as amount) from {month}",
        landing / "crm" / "orders" / "zz_redelivered_month.parquet",
        "parquet",
    )
    # A late order in the first month for a customer who ordered since: renumbers the later orders.
    _copy(
        con,
        f"select * replace ('LATE-' || order_id as order_id, "
        f"(select min(ordered_at) from read_parquet('{orders[0]}')) as ordered_at) "
        f"from read_parquet('{orders[-1]}') where status not in ('cancelled', 'refunded') order by order_id limit 1",
        landing / "crm" / "orders" / "zz_late_order.parquet",
        "parquet",
    )
    con.close()
    moved_subscription, old_subscriber = move_a_subscription(landing / "churn" / "subscriptions")
    # A subscription that starts in the month after the data: the grid grows by a month, in which
    # every subscriber's row is new (int_rebuild_grid_months), not only this customer's.
    next_month = start_in_the_next_month(landing / "churn" / "subscriptions")
    # A customer with another segment (the CRM export is GB18030, as the generator writes it).
    folder = landing / "crm" / "customers"
    with open(sorted(folder.glob("*.csv"))[0], newline="", encoding="gb18030") as f:
        customer = next(csv.DictReader(f))
    segment = "Regular" if customer["segment"] != "Regular" else "VIP"
    customer = {**customer, "segment": segment, "updated_at": "2026-11-20T08:00:00Z"}
    with open(folder / "zz_customer_change.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(customer))
        writer.writeheader()
        writer.writerow(customer)
    reopened_ticket, reopened_quarter, reopening_agent = reopen_a_complaint(
        landing, avoid=[responses[1], responses[-1]], customer=customer, order_customers=[old_customer]
    )
    return {
        "moved": moved,
        "old_customer": old_customer,
        "new_customer": new_customer,
        "cancelled": cancelled,
        "customer": customer["customer_id"],
        "moved_subscription": moved_subscription,
        "old_subscriber": old_subscriber,
        "next_month": next_month,
        "reopened_ticket": reopened_ticket,
        "reopened_quarter": reopened_quarter,
        "reopening_agent": reopening_agent,
    }


def reopen_a_complaint(
    landing: Path, avoid: list[Path], customer: dict, order_customers: list[str]
) -> tuple[str, str, str]:
    """Deliver a resolved complaint again as reopened by another agent, in a new file. A survey
    response is about it, in a quarter nothing else delivered here touches (not the quarters of the
    response files `avoid`, nor of `customer`'s responses), so only the ticket puts that quarter in
    the key-driver statistics' scope; and in a month no order delivered since touches, of a customer
    whose orders were not delivered since (nor in `order_customers`), so only the ticket puts the
    response in the attributions' scope (its new agent). Returns the ticket, the quarter (YYYY-MM of
    its first month) and the new agent."""
    folder = landing / "complaints" / "tickets"
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")  # the reporting time zone of these builds
    responses = f"read_csv('{landing / 'survey' / 'survey_responses'}/*.csv', all_varchar = true)"
    quarter = "strftime(date_trunc('quarter', cast(submitted_at as timestamptz)), '%Y-%m')"
    avoided = f"read_csv({[str(f) for f in avoid]}, all_varchar = true)"
    new_orders = [
        str(f)
        for f in (landing / "crm" / "orders").glob("*.parquet")
        if f.name.startswith(("zz", bench_pipeline.DAY_PREFIX))
    ]
    touched_orders = f"read_parquet({new_orders})"
    month = "cast(date_trunc('month', cast(submitted_at as timestamptz)) as date)"
    ticket_id, quarter_of = con.execute(
        f"select ticket_id, {quarter} from {responses} "
        f"where ticket_id in (select ticket_id from read_json('{folder}/*.jsonl') "
        "where ticket_type = 'complaint' and status = 'resolved') "
        f"and {quarter} not in (select {quarter} from {avoided}) "
        f"and {quarter} not in (select {quarter} from {responses} where customer_id = ?) "
        f"and {month} not in (select cast(date_trunc('month', ordered_at) as date) from {touched_orders}) "
        f"and customer_id not in (select customer_id from {touched_orders}) "
        "and not list_contains(?, customer_id) "
        "order by ticket_id limit 1",
        [customer["customer_id"], order_customers],
    ).fetchone()
    con.close()
    rows = [
        json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text("utf-8").splitlines()
    ]
    ticket = next(r for r in rows if r["ticket_id"] == ticket_id)
    # reopened by another agent: the response about it is attributed to them (int_analytics_responses)
    agent = next(r["agent_id"] for r in rows if r.get("agent_id") not in (None, ticket.get("agent_id")))
    reopened = {
        **ticket,
        "status": "open",
        "resolved_at": None,
        "closed_at": None,
        "reopen_count": 1,
        "agent_id": agent,
    }
    (folder / "zz_reopened_ticket.jsonl").write_text(json.dumps(reopened, ensure_ascii=False) + "\n", encoding="utf-8")
    return ticket_id, quarter_of, agent


LATE_ORDER, LATE_AGENT = "ORDER-DELIVERED-AFTER-ITS-COMPLAINT", "AGENT-DELIVERED-AFTER-THEIR-COMPLAINT"


def point_a_complaint_at_later_deliveries(landing: Path) -> tuple[str, str]:
    """Before build 1: make an old closed complaint name an order and an agent that no file holds
    yet (deliver_the_complaint_s_order_and_agent brings them after build 1, when the complaint's
    order and agent keys must turn from NULL into keys). Its customer has no order in the files
    deliver_awkward_files re-delivers or moves orders from, nor in the month files the day's rows
    were taken from, and is not the customer it re-delivers, so only the order and the agent put
    the complaint in build 2's scope. Returns the ticket and its customer."""
    orders = sorted((landing / "crm" / "orders").glob("*.parquet"))
    busy = [str(f) for f in (orders[2], orders[3], *orders[-2:])]
    first_customers = sorted((landing / "crm" / "customers").glob("*.csv"))[0]
    with open(first_customers, newline="", encoding="gb18030") as f:
        changed_customer = next(csv.DictReader(f))["customer_id"]
    folder = landing / "complaints" / "tickets"
    files = sorted(folder.glob("*.jsonl"))
    con = duckdb.connect()
    ticket_id, customer_id = con.execute(
        f"select ticket_id, customer_id from read_json('{files[1]}') "
        "where ticket_type = 'complaint' and status = 'closed' and customer_id is not null "
        f"and customer_id not in (select customer_id from read_parquet({busy})) and customer_id <> ? "
        "order by ticket_id limit 1",
        [changed_customer],
    ).fetchone()
    con.close()
    lines = files[1].read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    rows = [{**r, "order_id": LATE_ORDER, "agent_id": LATE_AGENT} if r["ticket_id"] == ticket_id else r for r in rows]
    files[1].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return ticket_id, customer_id


def deliver_the_complaint_s_order_and_agent(landing: Path, customer_id: str) -> None:
    """After build 1: deliver the order and the agent point_a_complaint_at_later_deliveries named,
    each in a new file; the order is another customer's, cancelled (it renumbers none of their
    orders, whose months the publication test expects to stay)."""
    orders = sorted((landing / "crm" / "orders").glob("*.parquet"))
    con = duckdb.connect()
    _copy(
        con,
        f"select * replace ('{LATE_ORDER}' as order_id, 'cancelled' as status) from read_parquet('{orders[2]}') "
        f"where customer_id <> '{customer_id}' order by order_id limit 1",
        landing / "crm" / "orders" / "zz_complaint_s_order.parquet",
        "parquet",
    )
    con.close()
    folder = landing / "crm" / "employees"
    with open(sorted(folder.glob("*.csv"))[0], newline="", encoding="utf-8") as f:
        agent = {**next(csv.DictReader(f)), "employee_id": LATE_AGENT}
    with open(folder / "zz_late_agent.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(agent))
        writer.writeheader()
        writer.writerow(agent)


def start_in_the_next_month(folder: Path) -> str:
    """Deliver a new subscription of an existing customer that starts in the month after every
    delivered row, in a new file; returns that month (YYYY-MM)."""
    files = sorted(folder.glob("*.jsonl"))
    rows = [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    last = max(r["started_at"] for r in rows)
    month = f"{int(last[:4]) + int(last[5:7]) // 12}-{int(last[5:7]) % 12 + 1:02d}"
    starter = {**rows[0], "subscription_id": "NEXT-MONTH-1", "started_at": f"{month}-02T09:00:00Z", "ended_at": None}
    (folder / "zz_next_month_subscription.jsonl").write_text(json.dumps(starter) + "\n", encoding="utf-8")
    return month


def move_a_subscription(folder: Path) -> tuple[str, str]:
    """Deliver an old subscription again under another customer, in a new file. Its old customer has
    no other subscription, so their customer x month rows must all go (only the previous build's
    fct_subscriptions knew them as its owner). Returns the subscription and its old customer."""
    files = sorted(folder.glob("*.jsonl"))
    rows = [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    subscriptions_of: dict[str, int] = {}
    for row in rows:
        subscriptions_of[row["customer_id"]] = subscriptions_of.get(row["customer_id"], 0) + 1
    first_file = [json.loads(line) for line in files[1].read_text(encoding="utf-8").splitlines()]
    moved = next(
        r for r in sorted(first_file, key=lambda r: r["subscription_id"]) if subscriptions_of[r["customer_id"]] == 1
    )
    new_customer = next(r["customer_id"] for r in rows if r["customer_id"] != moved["customer_id"])
    (folder / "zz_moved_subscription.jsonl").write_text(
        json.dumps({**moved, "customer_id": new_customer}) + "\n", encoding="utf-8"
    )
    return moved["subscription_id"], moved["customer_id"]


KEPT_TARGETS: dict[str, Path] = {}  # a build's run id -> a copy of its dbt target folder


def keep_target_folder(run_id: str, into: Path) -> None:
    """Copy build `run_id`'s dbt target folder (its dbt.log, node results, the SQL it ran) for the
    tests to read, as soon as the build ends: every build prunes `dbt_project/target` to
    CSAT_DBT_TARGET_KEEP folders, so other tests' builds (another pytest worker's, under xdist)
    remove this module's."""
    KEPT_TARGETS[run_id] = shutil.copytree(target_folder(run_id), into / run_id)


def target_folder(run_id: str) -> Path:
    """Build `run_id`'s dbt target folder: the copy kept by keep_target_folder, else dbt's own."""
    if run_id in KEPT_TARGETS:
        return KEPT_TARGETS[run_id]
    [folder] = (DBT_PROJECT_DIR / "target").glob(f"warehouse_models-{run_id[:7]}-*")
    return folder


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    landing, day = root / "landing", root / "day"
    generate_sample_data(landing, responses=1200, months=12, seed=11)
    bench_pipeline.hold_back_last_day(landing, day)
    late_ticket, late_ticket_customer = point_a_complaint_at_later_deliveries(landing)
    incremental = root / "incremental"
    with pytest.MonkeyPatch.context() as env:
        # dbt says whether it reused its parse only at debug level (its log file is at info)
        env.setenv("DBT_LOG_LEVEL_FILE", "debug")
        ensure_manifest(force=True)  # `csat parse`, as the test command runs it first
        first = run(landing, incremental)  # build 1: full
        keep_target_folder(first.run_id, root / "targets")
        copy_working(incremental / "csat.duckdb", root / "after_first.duckdb")  # what build 2 started from
        shutil.copytree(day, landing, dirs_exist_ok=True)
        changed = deliver_awkward_files(landing)
        deliver_the_complaint_s_order_and_agent(landing, late_ticket_customer)
        changed |= {"late_ticket": late_ticket, "late_ticket_customer": late_ticket_customer}
        with connect(incremental / "csat.duckdb") as con:  # what a model removed by an upgrade leaves
            con.execute(f"create table {LEFT_BEHIND} as select 1 as x")
        second = run(landing, incremental)  # build 2: incremental
        keep_target_folder(second.run_id, root / "targets")
        full = root / "full"
        full.mkdir()
        copy_working(incremental / "csat.duckdb", full / "csat.duckdb")
        with connect(full / "csat.duckdb") as con:  # what `csat run --full-refresh` does first
            build_state.forget(con)
        third = run(landing, full)  # build 3: full refresh of the same raw data, another warehouse file
        keep_target_folder(third.run_id, root / "targets")
    runs = {"first_run_id": first.run_id, "second_run_id": second.run_id, "third_run_id": third.run_id}
    published = {"second_publication": publication_changes(second)}
    return {
        "landing": landing,
        "incremental": incremental,
        "after_first": root / "after_first.duckdb",
        "full": full,
        "changed": changed,
        **runs,
        **published,
    }


def test_what_a_removed_model_left_is_dropped_by_the_next_full_refresh(builds):
    # the incremental build (same project) leaves it; the full refresh, the build a changed project
    # gets, drops it (stale_relations.py)
    held = "select count(*) from information_schema.tables where table_schema || '.' || table_name = ?"
    for warehouse, count in ((builds["incremental"], 1), (builds["full"], 0)):
        with connect(warehouse / "csat.duckdb", read_only=True) as con:
            assert con.execute(held, [LEFT_BEHIND]).fetchone()[0] == count, warehouse
            assert con.execute(held, ["marts.fct_customer_months"]).fetchone()[0] == 1


def publication_changes(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """What the run's publication did to each mart (its materialization's table: mart, rows, change)."""
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(["published_warehouse"])
    ]
    lines = event.materialization.metadata["marts"].value.splitlines()[2:]
    return {cells[0]: cells[2] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)}


def rebuilt_months(warehouse: Path) -> set[str]:
    with connect(warehouse / "csat.duckdb", read_only=True) as con:
        rows = con.execute("select strftime(month_start_date, '%Y-%m') from intermediate.int_rebuild_months")
        return {m for (m,) in rows.fetchall()}


def test_the_incremental_build_recomputed_only_the_touched_months(builds):
    everything = rebuilt_months(builds["full"])  # a full refresh: no watermark, every month
    touched = rebuilt_months(builds["incremental"])
    assert len(everything) == 12
    # the day (2026-10), the late responses' and orders' months, the re-delivered orders' month, the
    # moved order's new month; not the rest
    assert "2026-10" in touched and len(touched) < len(everything)


def rebuilt_quarters(warehouse: Path) -> set[str]:
    with connect(warehouse / "csat.duckdb", read_only=True) as con:
        rows = con.execute("select strftime(quarter_start_date, '%Y-%m') from intermediate.int_rebuild_quarters")
        return {q for (q,) in rows.fetchall()}


def test_the_key_driver_statistics_recomputed_only_the_touched_quarters(builds):
    """The late responses' quarter, the day's and the reopened complaint's response's are recomputed,
    not every quarter; the published key-driver mart equals a full rebuild's (the test above), so
    the quarters left alone were right to be."""
    everything = rebuilt_quarters(builds["full"])
    touched = rebuilt_quarters(builds["incremental"])
    assert len(everything) == 5
    assert {"2025-10", "2026-10", builds["changed"]["reopened_quarter"]} <= touched
    assert len(touched) < len(everything)


def test_the_key_driver_statistics_recompute_every_quarter_when_the_pairs_change(builds, tmp_path):
    """Every quarter's statistics are made of the pairs of outcomes and drivers of the whole history
    (int_driver_pairs): an item delivered for the first time, or an outcome delivered at last, changes
    them all. Simulated by changing one driver's scale in the statistics the previous build left: with
    only the store list delivered again since (every delivery reaches the statistics, through the
    record of what was delivered), the next build recomputes every quarter, and its statistics are a
    full rebuild's again."""
    again, landing = tmp_path / "again", tmp_path / "landing"
    shutil.copytree(builds["incremental"], again)
    shutil.copytree(builds["landing"], landing)
    redeliver_the_stores(landing)
    statistics = "intermediate.int_driver_correlations"
    with connect(again / "csat.duckdb") as con:
        con.execute(
            f"update {statistics} set scale_max = scale_max + 1 where driver = (select min(driver) from {statistics})"
        )
    run(landing, again)
    assert rebuilt_quarters(again) == rebuilt_quarters(builds["full"])
    con = duckdb.connect()
    con.execute(f"attach '{again / 'csat.duckdb'}' as again (read_only)")
    con.execute(f"attach '{builds['full'] / 'csat.duckdb'}' as rebuilt (read_only)")
    exact = "quarter_start_date, segment, outcome, is_outcome_delivered, driver, scale_min, scale_max, sample_size"
    for a, b in (("again", "rebuilt"), ("rebuilt", "again")):
        difference = f"select {exact} from {a}.{statistics} except all select {exact} from {b}.{statistics}"
        extra = con.execute(f"select count(*) from ({difference})")
        assert extra.fetchone()[0] == 0, a


@pytest.mark.parametrize("run_id", ["first_run_id", "second_run_id", "third_run_id"])
def test_a_build_reuses_the_previous_build_s_parse(builds, run_id):
    """dbt parses the whole project again (10-26 s) when a var or the profile changed. `csat parse`
    parses with the vars of a build, so the first build starts from its parse (build 1); the
    watermark is read from the warehouse, not passed as a var that changes every run (build 2); dbt
    reaches every warehouse file through the same link, so another warehouse file needs no new parse
    (build 3)."""
    text = (target_folder(builds[run_id]) / "dbt.log").read_text(encoding="utf-8")
    assert "Unable to do partial parsing" not in text
    assert "Partial parsing enabled" in text


def watermark_reads(run_id: str) -> Counter:
    """How many times each node of build `run_id` (a Dagster run id) read the previous build's
    watermark: dbt's statements, in its debug log (JSON lines), with the node that ran each."""
    reads = Counter()
    for line in (target_folder(run_id) / "dbt.log").read_text(encoding="utf-8").splitlines():
        if "max(watermark)" in line:  # a cheap filter first: the log has thousands of other lines
            event = json.loads(line)["data"]
            if "select cast(max(watermark) as varchar)" in event.get("sql", ""):
                reads[event["node_info"]["unique_id"]] += 1
    return reads


def test_a_node_reads_the_watermark_once_and_a_test_of_a_table_not_at_all(builds):
    """The incremental build (build 2) reads the previous build's watermark once per test and at most
    twice per model (its SQL, then its pre-hook, which dbt renders in a context of its own), where
    each asked for it up to a dozen times, a connection dbt opens each time
    (macros/incremental_scope.sql). Tests of tables and seeds, never limited, do not read it; the
    full builds do not read it at all."""
    nodes = get_manifest()["nodes"]
    reads = watermark_reads(builds["second_run_id"])
    assert {u for u, n in reads.items() if n > (2 if u.startswith("model.") else 1)} == set()
    tests = {u: nodes[u]["attached_node"] for u in reads if u.startswith("test.")}
    assert tests and {nodes[m]["config"]["materialized"] for m in tests.values()} == {"incremental", "view"}
    assert any(u.startswith("model.") for u in reads)
    for run_id in ("first_run_id", "third_run_id"):
        assert not watermark_reads(builds[run_id]), run_id


@pytest.mark.parametrize("run_id", ["first_run_id", "second_run_id", "third_run_id"])
def test_a_build_records_its_nodes_and_writes_no_manifest(builds, run_id):
    """A pipeline build runs dbt with --no-write-json (dbt_node_results.py): its folder holds neither
    dbt's manifests (about 14 MB of JSON, written twice) nor run_results.json, but the node results
    the pipeline recorded from dbt's events, a status, a time and a thread for every node."""
    folder = target_folder(builds[run_id])
    assert not {"manifest.json", "semantic_manifest.json", "run_results.json"} & {p.name for p in folder.iterdir()}
    results = read_node_results(folder / NODE_RESULTS_FILE)
    assert len(results) > 100 if run_id == "first_run_id" else results
    for result in results:
        assert result["status"] in ("success", "pass", "warn"), result
        assert result["execution_time"] >= 0 and result["thread"] and result["finished_at"] >= result["started_at"]


def redeliver_the_stores(landing: Path) -> None:
    """The store list delivered again unchanged, in a new file (its rows in another order, so the
    file is new to ingestion)."""
    [stores] = (landing / "crm" / "stores").glob("*.csv")
    header, *rows = stores.read_text(encoding="utf-8").splitlines(keepends=True)
    (stores.parent / "zz_stores_again.csv").write_text(header + "".join(reversed(rows)), encoding="utf-8")


def get_manifest() -> dict:
    return json.loads(get_dbt_project().manifest_path.read_text(encoding="utf-8"))


def nodes_run(run_id: str) -> set[str]:
    return {r["unique_id"] for r in read_node_results(target_folder(run_id) / NODE_RESULTS_FILE)}


def test_an_incremental_build_leaves_out_only_what_no_delivered_row_reaches(builds):
    """Build 2 had every entity but the stores delivered since build 1: it leaves out what no
    delivered row reaches (build_scope.py): the seeds and the tests of seeds alone (the same files,
    tested by build 1), the store staging model; everything else runs, the tests of models against
    seeds included."""
    manifest = get_manifest()
    nodes = manifest["nodes"]
    full, incremental = nodes_run(builds["first_run_id"]), nodes_run(builds["second_run_id"])
    with connect(builds["incremental"] / "csat.duckdb", read_only=True) as con:
        # build 2's files: the held-back day and deliver_awkward_files' (named zz...)
        delivered = {
            entity
            for (entity,) in con.execute(
                "select distinct entity from raw.load_manifest where regexp_matches(source_file, ?)",
                [f"(^|/)(zz|{bench_pipeline.DAY_PREFIX})[^/]*$"],
            ).fetchall()
        }
    assert delivered and "stores" not in delivered
    left_out = set(build_scope.left_out_nodes(manifest, delivered))
    seed_tests = {
        u
        for u, node in nodes.items()
        if node["resource_type"] == "test" and all(p.startswith("seed.") for p in node["depends_on"]["nodes"])
    }
    assert incremental == full - left_out
    assert len(seed_tests) > 30 and seed_tests <= left_out
    assert "model.csat_warehouse.stg_crm__stores" in left_out
    assert not any(u.startswith("seed.") for u in incremental)
    assert any("seed." in str(nodes[u]["depends_on"]["nodes"]) for u in incremental if u.startswith("test."))


def test_a_run_with_nothing_delivered_builds_nothing_until_a_month_ends(builds, tmp_path):
    """A run with no new file since the previous build, in the month of that build, builds nothing:
    dbt is not started (every model holds what a rebuild would write), and checks and publication
    still run on the marts the previous build left, which equal a full rebuild's. Once a month has
    ended since (here: the recorded clock of the previous build moved back a month), the run rebuilds
    scorecard_latest alone (the build's clock decides its month) and runs its tests."""
    again = tmp_path / "again"
    shutil.copytree(builds["incremental"], again)
    result = run(builds["landing"], again)
    assert not list((DBT_PROJECT_DIR / "target").glob(f"warehouse_models-{result.run_id[:7]}-*"))  # no dbt
    rebuilt = {
        m.asset_key.path[-1]: m.metadata["rebuilt"].value
        for m in result.asset_materializations_for_node("warehouse_models")
    }
    assert len(rebuilt) > 70 and set(rebuilt.values()) == {False}
    assert publication_changes(result) and set(publication_changes(result).values()) == {"unchanged"}
    results = compare_engines.compare_published(
        settings.marts_path(again / "csat.duckdb"), settings.marts_path(builds["full"] / "csat.duckdb"), skip=set()
    )
    assert len(results) > 20
    assert {r.mart: str(r) for r in results if not r.same} == {}

    with connect(again / "csat.duckdb") as con:
        con.execute(f"update {build_state.STATE_TABLE} set clock = clock - interval 1 month")
    result = run(builds["landing"], again)
    ran = {u for u in nodes_run(result.run_id) if u.startswith(("model.", "seed.", "test."))}
    latest = "model.csat_warehouse.scorecard_latest"
    tests = {u for u, node in get_manifest()["nodes"].items() if node["depends_on"].get("nodes") == [latest]}
    assert len(tests) == 1 and ran == {latest, *tests}
    assert set(publication_changes(result).values()) == {"unchanged"}  # the same month is the latest complete


def test_incremental_marts_equal_a_full_rebuild(builds):
    results = compare_engines.compare_published(
        settings.marts_path(builds["incremental"] / "csat.duckdb"),
        settings.marts_path(builds["full"] / "csat.duckdb"),
        skip=set(),
    )
    assert len(results) > 20
    assert {r.mart: str(r) for r in results if not r.same} == {}


def test_the_publication_took_the_changed_rows_and_equals_a_fresh_one(builds):
    """The incremental build's publication started from the first one's copy and replaced the months
    that changed in the facts, not all of them (12 months of responses and orders; the grid grew
    by a 13th); its copy and Parquet files equal the full rebuild's fresh publication."""
    changes = builds["second_publication"]
    assert "unchanged" in changes.values()
    incremental, fresh = builds["incremental"] / "published", builds["full"] / "published"
    with duckdb.connect(str(incremental / "csat.duckdb"), read_only=True) as con:
        for fact in ("fct_survey_responses", "fct_orders", "fct_customer_months"):
            replaced = re.fullmatch(r"months replaced: (\d+) \(-\d+ \+\d+ rows\)", changes[fact])
            months = con.execute(f"select count(distinct month_start_date) from marts.{fact}").fetchone()[0]
            assert replaced and 1 <= int(replaced.group(1)) < months, (fact, changes[fact], months)
    results = compare_engines.compare_published(incremental / "csat.duckdb", fresh / "csat.duckdb", skip=set())
    assert len(results) > 20
    assert {r.mart: str(r) for r in results if not r.same} == {}
    con = duckdb.connect(str(incremental / "csat.duckdb"), read_only=True)
    for mart in changes:
        parquet = parquet_source(incremental, mart)
        for a, b in ((f"marts.{mart}", parquet), (parquet, f"marts.{mart}")):
            assert con.execute(f"select count(*) from (from {a} except all from {b})").fetchone()[0] == 0, (mart, a)


def test_incremental_models_equal_a_full_rebuild_row_for_row(builds):
    con = duckdb.connect()
    for name, build in (("inc", builds["incremental"]), ("rebuilt", builds["full"])):
        con.execute(f"attach '{build / 'csat.duckdb'}' as {name} (read_only)")
        con.execute(f"attach '{settings.marts_path(build / 'csat.duckdb')}' as {name}_marts (read_only)")
    for model in INCREMENTAL_MODELS:
        catalog = "_marts" if model.startswith("marts.") else ""  # the marts are in the marts file
        for a, b in (("inc", "rebuilt"), ("rebuilt", "inc")):
            extra = con.execute(
                f"select count(*) from (from {a}{catalog}.{model} except all from {b}{catalog}.{model})"
            )
            assert extra.fetchone()[0] == 0, (model, a)


def test_the_edge_cases_reached_the_incremental_facts(builds):
    changed = builds["changed"]
    con = connect(builds["incremental"] / "csat.duckdb", read_only=True)
    moved = con.execute("select customer_id from marts.fct_orders where order_id = ?", [changed["moved"]]).fetchall()
    assert moved == [(changed["new_customer"],)]  # one row: the old version is gone
    # the old customer's later orders moved up a rank (only the previous build knew them as its owner)
    assert changed["old_customer"] != changed["customer"]
    ranks = con.execute(
        "select list(valid_order_number order by ordered_at) from marts.fct_orders where customer_id = ? and is_valid",
        [changed["old_customer"]],
    ).fetchone()[0]
    assert len(ranks) >= 1 and ranks == list(range(1, len(ranks) + 1))
    assert (
        con.execute("select count(*) from marts.fct_survey_responses where response_id like 'LATE-%'").fetchone()[0]
        == 3
    )
    # the moved subscription's old customer has no subscription left, so no customer x month rows
    subscriber = con.execute(
        "select customer_id from marts.fct_subscriptions where subscription_id = ?", [changed["moved_subscription"]]
    ).fetchone()[0]
    assert subscriber != changed["old_subscriber"]
    months_left = "select count(*) from marts.fct_customer_months where customer_id = ?"
    assert con.execute(months_left, [changed["old_subscriber"]]).fetchone()[0] == 0
    # the grid's new month holds every active subscriber's row, not only the new subscription's
    new_month = "select count(*) from marts.fct_customer_months where strftime(month_start_date, '%Y-%m') = ?"
    assert con.execute(new_month, [changed["next_month"]]).fetchone()[0] > 10
    assert (
        con.execute("select count(*) from marts.fct_survey_item_scores where response_id like 'LATE-%'").fetchone()[0]
        > 0
    )
    assert con.execute(
        "select is_valid, valid_order_number from marts.fct_orders where order_id = ?", [changed["cancelled"]]
    ).fetchone() == (False, None)
    assert con.execute("select valid_order_number from marts.fct_orders where order_id like 'LATE-%'").fetchone() == (
        1,
    )
    # the response about the reopened ticket, in a month nothing else touched, has its new agent
    agents = con.execute(
        "select distinct agent_id from intermediate.int_analytics_responses where ticket_id = ?",
        [changed["reopened_ticket"]],
    ).fetchall()
    assert agents == [(changed["reopening_agent"],)]
    # the complaint whose order and agent arrived late has their keys; neither its ticket nor its
    # customer was in the build's scope, only the late order and agent
    keys = con.execute(
        "select order_key is not null, employee_key is not null from marts.fct_complaints where ticket_id = ?",
        [changed["late_ticket"]],
    ).fetchall()
    assert keys == [(True, True)]
    in_scope = "select count(*) from intermediate.int_rebuild_customers where customer_id = ?"
    assert con.execute(in_scope, [changed["late_ticket_customer"]]).fetchone()[0] == 0


def test_the_build_state_decides_between_incremental_and_full_refresh(builds, tmp_path):
    path = tmp_path / "csat.duckdb"
    copy_working(builds["incremental"] / "csat.duckdb", path)
    with connect(path) as con:
        before = build_state.plan(con, "fingerprint")
        assert before.full_refresh  # another fingerprint: full refresh
        stored = con.execute(f"select fingerprint from {build_state.STATE_TABLE}").fetchone()[0]
        assert not build_state.plan(con, stored).full_refresh
        build_state.forget(con)
        assert build_state.plan(con, stored).full_refresh


def executed_tests(run_id: str, nodes: dict[str, dict]) -> dict[str, str]:
    """The SQL each data test of a build ran (dbt's run folder in the build's target folder), by the
    test's unique id; `nodes` are the manifest's."""
    folder = target_folder(run_id)
    executed = {}
    for unique_id, node in nodes.items():
        path = folder / "run" / "csat_warehouse" / node["original_file_path"] / node["path"]
        if node["resource_type"] == "test" and path.exists():
            executed[unique_id] = path.read_text(encoding="utf-8")
    return executed


def written_rows_scope(sql: str) -> tuple[str, str]:
    """The relation a test read and the condition that limited it to the rows the build wrote, as
    macros/tested_rows.sql wraps the test's model."""
    # the first wrapper, not greedy: a test that reads its model twice holds two
    found = re.search(r"\(select \* from (\S+) where \((.*?)\)\) dbt_subquery", sql, re.DOTALL)
    assert found, sql
    return found.group(1), found.group(2)


def declared_models(nodes: dict[str, dict]) -> dict[str, dict]:
    """The models that declare the rows an incremental build writes (meta rebuilt_rows), of the
    manifest's `nodes`."""
    return {
        node["unique_id"]: node
        for node in nodes.values()
        if node["resource_type"] == "model" and node["config"].get("meta", {}).get("rebuilt_rows")
    }


def test_the_incremental_build_tested_the_rows_it_wrote_and_the_full_builds_every_row(builds):
    """In build 2 (incremental) every error-severity test of rows on a model that declares its written
    rows read only those rows (and, for a key, every row sharing one); builds 1 and 3 (full) tested
    every row, and no warning-severity test was limited."""
    nodes = get_manifest()["nodes"]
    declared = declared_models(nodes)
    assert len(declared) == 19
    incremental = executed_tests(builds["second_run_id"], nodes)
    limited = {u for u, sql in incremental.items() if "dbt_subquery" in sql}
    for unique_id in incremental:
        node = nodes[unique_id]
        of_declared = node.get("attached_node") in declared and node.get("test_metadata")
        error = node["config"]["severity"].lower() == "error"
        assert (unique_id in limited) == bool(of_declared and error), unique_id
    assert len(limited) >= 35
    for run_id in ("first_run_id", "third_run_id"):
        assert not [u for u, sql in executed_tests(builds[run_id], nodes).items() if "dbt_subquery" in sql], run_id


def test_every_row_the_incremental_build_wrote_was_tested(builds):
    """What makes the limit safe: each incremental model's rows that build 2 added or changed (its
    table against the one build 1 left, as multisets: a duplicate counts) all lie in the scope its
    tests read, evaluated on the warehouse build 2 left (its int_rebuild_* tables) with the SQL the
    tests ran. A declaration narrower than what the model's filter writes fails here."""
    nodes = get_manifest()["nodes"]  # read once: about 14 MB of JSON
    declared = declared_models(nodes)
    scopes = {}
    for unique_id, sql in executed_tests(builds["second_run_id"], nodes).items():
        node = nodes[unique_id]
        if "dbt_subquery" in sql and node["test_metadata"]["name"] in ("not_null_columns", "key_and_not_null_columns"):
            scopes[node["attached_node"]] = written_rows_scope(sql)
    incremental = {u for u, node in declared.items() if node["config"]["materialized"] == "incremental"}
    assert incremental == set(scopes) - {u for u, node in declared.items() if node["config"]["materialized"] == "view"}
    assert len(incremental) == 13
    con = connect(builds["incremental"] / "csat.duckdb", read_only=True)
    con.execute(f"attach '{builds['after_first']}' as before (read_only)")
    con.execute(f"attach '{settings.marts_path(builds['after_first'])}' as before_marts (read_only)")
    written_somewhere = 0
    for unique_id in sorted(incremental):
        relation, scope = scopes[unique_id]
        table = f"{declared[unique_id]['schema']}.{declared[unique_id]['alias']}"
        before = "before_marts" if table.startswith("marts.") else "before"  # the marts are in the marts file
        written = f"select * from {relation} except all select * from {before}.{table}"
        counts = con.execute(
            f"select count(*), count(*) filter (where not coalesce({scope}, false)) from ({written})"
        ).fetchone()
        assert counts[1] == 0, (unique_id, counts)
        written_somewhere += counts[0] > 0
    assert written_somewhere == len(incremental)  # the edge cases reached every incremental model


def test_a_limited_key_test_still_finds_a_duplicate_of_a_written_row(builds, tmp_path):
    """The uniqueness test of an incremental fact, as build 2 ran it, fails on a second copy of a
    row the build wrote, whether the copy lies in the scope or not (an earlier version a build failed
    to delete); a duplicate of two old rows is the full build's to find."""
    [(unique_id, sql)] = [
        (u, sql)
        for u, sql in executed_tests(builds["second_run_id"], get_manifest()["nodes"]).items()
        if u.startswith("test.csat_warehouse.key_and_not_null_columns_fct_orders_")
    ]
    relation, scope = written_rows_scope(sql)
    path = tmp_path / "csat.duckdb"
    copy_working(builds["incremental"] / "csat.duckdb", path)
    con = open_working(path)
    failures = f"select failures from ({sql})"  # dbt's run folder holds the test as dbt ran it
    assert con.execute(failures).fetchone()[0] == 0
    written = con.execute(f"select order_id from {relation} where {scope} order by order_id limit 1").fetchone()[0]
    old = con.execute(f"select order_id from {relation} where not ({scope}) order by order_id limit 1").fetchone()[0]
    # an old version under another month and customer, outside the scope
    con.execute(
        f"insert into {relation} select * replace ('1999-01-01'::date as month_start_date, 'nobody' as customer_id) "
        f"from {relation} where order_id = ?",
        [written],
    )
    assert con.execute(failures).fetchone()[0] == 1
    con.execute(f"insert into {relation} select * from {relation} where order_id = ?", [old])
    assert con.execute(failures).fetchone()[0] == 1  # the old rows' duplicate: not read
