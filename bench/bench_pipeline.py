"""Whole-pipeline benchmark: `csat run` against a bare-DuckDB yardstick on the same landing folder.

    python bench/bench_pipeline.py --responses 200000

1. Generates sample data once per scale (`csat generate`, seed 42) under bench/data/pipeline-<N>/,
   then holds back the last day of the transactional files (surveys, item scores, tickets, orders,
   subscriptions) as a separate delivery: the daily increment.
2. Yardstick: DuckDB alone doing the essential work on that landing folder (typed loads of every
   entity with the latest row per key, the headline KPIs by month and slice, a Parquet copy), after
   the landing files were read once untimed, so both sides find them in the page cache.
3. Full build: `csat run` on a fresh warehouse, after `csat parse` (the one parse of a checkout, which
   the test command or a first `csat run` makes; not timed); wall time per stage from the run log's stage tallies
   (dbt's share split into models and tests by dbt's own node times, which the pipeline records).
4. Daily increment: the held-back day is delivered and `csat run` runs again.
5. Nothing new: `csat run` once more on the same landing folder, as on a day whose delivery has not
   come: what a run costs whatever the day brings (start-up, the checks over whole tables, a
   publication that finds every mart as published), the floor under the daily increment's share of
   a full build.

`--history N` runs `csat run` N times with nothing new between the full build and the increment,
untimed: the Great Expectations Data Docs' history of daily use. Every render of the Data Docs reads
each kept result, and each round starts with an empty quality folder, where a run in daily use
finds the latest quality.validation.KEEP_RUNS runs kept (`--history 8`, FULL_HISTORY, fills it
before the increment and the run with nothing new). Without it, the run with nothing new costs less than in daily use
(about 1 s at 1M: DECISIONLOG "The Data Docs keep ten runs").

`--rounds N` runs steps 2-5 N times back to back (each full build into a fresh warehouse): the
ratios reported are the medians over the rounds, each round's own beside them, and the table of
stages is the round of median full-build ratio (one whole run, whose stages add up). On a shared
machine one round tells a ratio to within about a seventh; the median of three is steadier.

`--engine spark` runs the pipeline with dbt on local Spark (CSAT_ENGINE=spark, README "Running on
Spark"; results in pipeline_<N>_spark.*); the yardstick stays bare DuckDB.

Peak memory is the peak of the summed memory of the whole process tree (csat, dbt and their
children: the JVM in Spark mode), as proportional set size (shared pages counted once), sampled
every 0.2 s. Results go to bench/results/pipeline_<N>.{json,md}. The
machine may be shared: absolute times are noisy, the ratios inside one run are what counts.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

from dagster_project.cli import STAGES_LOG_PREFIX, run_log_path  # noqa: E402
from dagster_project.contract import ENTITIES  # noqa: E402
from dagster_project.dbt_node_results import NODE_RESULTS_FILE, read_node_results  # noqa: E402
from dagster_project.quality.validation import KEEP_RUNS  # noqa: E402
from dagster_project.settings import SETTINGS  # noqa: E402

LAST_DAY = "2026-10-31"  # the generator's default history ends on 2026-11-01 (exclusive)
DAY_PREFIX = "2026-10-31_day_"  # name of the held-back delivery's files
DBT_TARGET = REPO / "dbt_project" / "target"
CSAT = str(Path(sys.executable).with_name("csat"))
STAGE_ORDER = ("ingestion", "dbt models", "dbt tests", "quality checks", "publication", "scorecard")
# The runs after the full build, in order, with their names in the rounds' line, and their shares of it.
LATER_RUNS = {"daily": "daily", "nothing_new": "nothing new"}
# Runs with nothing new that fill the Data Docs' history before the increment (`--history`): the
# runs kept, less the full build and the increment, which are kept too.
FULL_HISTORY = KEEP_RUNS - 2
SHARES = tuple(f"{run}_share_of_full" for run in LATER_RUNS)


# --- process tree memory -------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _rss_kb(pid: int) -> int:
    """The process's proportional set size (PSS: shared pages divided among their sharers), so a
    tree's sum counts memory once even when a process forks (a JVM starting a helper would add its
    whole resident size twice); VmRSS where smaps_rollup is not readable."""
    for path, field in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1])
        except OSError:
            continue
    return 0


def tree_rss_mb(root: int) -> float:
    tree, todo, total = _children(), [root], 0
    while todo:
        pid = todo.pop()
        total += _rss_kb(pid)
        todo += tree.get(pid, [])
    return total / 1024


def run_measured(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run `command`, returning its wall time, exit code and the peak memory (PSS) of its process tree."""
    peak = 0.0
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss_mb(process.pid))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    return {"seconds": time.perf_counter() - started, "returncode": code, "peak_rss_mb": peak}


# --- data ----------------------------------------------------------------------------------------


def prepare_data(responses: int, root: Path) -> tuple[Path, Path]:
    """Generated landing folder without its last day, and that day's files (created once per scale)."""
    landing, day = root / "landing", root / "day"
    if (root / "ready").exists():
        for path in landing.rglob(f"{DAY_PREFIX}*"):  # a previous bench run delivered the day
            path.unlink()
        return landing, day
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("csat")),
            "generate",
            "--responses",
            str(responses),
            "--landing",
            str(landing),
        ],
        check=True,
        cwd=REPO,
    )
    print(f"generated {responses:,} responses in {time.perf_counter() - started:.1f} s")
    hold_back_last_day(landing, day)
    (root / "ready").write_text("")
    return landing, day


def _last_file(folder: Path) -> Path:
    return sorted(p for p in folder.iterdir() if p.is_file())[-1]


def hold_back_last_day(landing: Path, day: Path) -> None:
    """Move the rows of the history's last day out of the last monthly file of each transactional
    entity into `day/<source>/<entity>/2026-10-31_day_<file>` (same format)."""
    import duckdb

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")

    def split_text(path: Path, is_day) -> None:  # CSV and JSON Lines, rewritten byte for byte
        target = day / path.relative_to(landing).parent / f"{DAY_PREFIX}{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        header = lines[:1] if path.suffix == ".csv" else []
        body = lines[len(header) :]
        keep = [line for line in body if not is_day(line)]
        moved = [line for line in body if is_day(line)]
        if not moved:  # an empty file is not a delivery (ingestion rejects it)
            return
        path.write_text("".join(header + keep), encoding="utf-8")
        target.write_text("".join(header + moved), encoding="utf-8")

    responses = _last_file(landing / "survey" / "survey_responses")
    fields = next(csv.reader([responses.open(encoding="utf-8").readline()]))
    at = fields.index("submitted_at")
    day_responses: set[str] = set()

    def response_on_day(line: str) -> bool:
        row = next(csv.reader([line]))
        if row[at].startswith(LAST_DAY):
            day_responses.add(row[0])
            return True
        return False

    split_text(responses, response_on_day)
    for folder, columns in (
        ("complaints/tickets", ("opened_at",)),
        ("churn/subscriptions", ("started_at", "ended_at")),
    ):
        split_text(
            _last_file(landing / folder),
            lambda line, cols=columns: any(str(json.loads(line).get(c) or "").startswith(LAST_DAY) for c in cols),
        )
    con.execute("create table day_responses (response_id varchar)")
    con.executemany("insert into day_responses values (?)", [(r,) for r in sorted(day_responses)])
    for folder, condition in (
        ("crm/orders", f"cast(ordered_at as date) = date '{LAST_DAY}'"),
        ("survey/survey_item_scores", "response_id in (select response_id from day_responses)"),
    ):
        path = _last_file(landing / folder)
        target = day / folder / f"{DAY_PREFIX}{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        rest = path.with_suffix(".rest.parquet")
        if not con.execute(f"select count(*) from read_parquet('{path}') where {condition}").fetchone()[0]:
            continue
        con.execute(f"copy (select * from read_parquet('{path}') where {condition}) to '{target}' (format parquet)")
        con.execute(f"copy (select * from read_parquet('{path}') where not ({condition})) to '{rest}' (format parquet)")
        rest.replace(path)


# --- the bare-DuckDB yardstick -------------------------------------------------------------------

_LATEST_BY = {"customers": "updated_at", "tickets": "closed_at", "subscriptions": "ended_at"}


def _utf8(path: Path, workdir: Path) -> Path:
    """The file itself when it is UTF-8, else a UTF-8 copy (Chinese exports come in GB18030)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        return path
    except UnicodeDecodeError:
        copy = workdir / f"{path.parent.name}-{path.name}"
        copy.write_text(data.decode("gb18030"), encoding="utf-8")
        return copy


def _typed(column, present: set[str]) -> str:
    name = f'"{column.name}"'
    if column.name not in present:  # an optional column the export does not carry
        return f"cast(null as {column.duckdb_type}) as {name}"
    if column.type == "ts":
        return f"timezone('UTC', try_cast({name} as timestamptz)) as {name}"
    return f"try_cast({name} as {column.duckdb_type}) as {name}"


def _reader(entity, files: list[Path]) -> str:
    paths = [str(p) for p in files]
    kind = files[0].suffix
    if kind == ".parquet":
        return f"read_parquet({paths!r}, union_by_name = true, filename = true)"
    columns = {c.name: "VARCHAR" for c in entity.columns}
    if kind == ".jsonl":
        return f"read_json({paths!r}, format = 'newline_delimited', columns = {columns!r}, filename = true)"
    return f"read_csv({paths!r}, header = true, all_varchar = true, union_by_name = true, filename = true)"


def yardstick(landing: Path, workdir: Path, memory_limit: str | None) -> None:
    """The essential work, done by DuckDB alone: typed loads of every entity (the latest row per key),
    the headline KPIs by month and slice, and a Parquet copy of the result tables."""
    import duckdb

    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "parquet").mkdir(parents=True)
    con = duckdb.connect(str(workdir / "yardstick.duckdb"))
    con.execute("set TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")
    for entity in ENTITIES:
        folder = landing / entity.source / entity.name
        by_kind: dict[str, list[Path]] = {}
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_"))):
            by_kind.setdefault(path.suffix, []).append(_utf8(path, workdir) if path.suffix == ".csv" else path)
        parts = []
        for files in by_kind.values():
            reader = _reader(entity, files)
            present = {row[0] for row in con.execute(f"describe select * from {reader}").fetchall()}
            parts.append(f"select {', '.join(_typed(c, present) for c in entity.columns)}, filename from {reader}")
        version = _LATEST_BY.get(entity.name)
        order = (f'"{version}" desc nulls last, ' if version else "") + "filename desc"
        keys = ", ".join(f'"{k}"' for k in entity.key)
        con.execute(
            f"create or replace table {entity.name} as select * exclude (rn, filename) from ("
            f"select *, row_number() over (partition by {keys} order by {order}) as rn "
            f"from ({' union all by name '.join(parts)})) where rn = 1"
        )
    con.execute(KPI_SQL)
    for table in [e.name for e in ENTITIES] + ["kpi_survey", "kpi_complaints", "kpi_orders", "kpi_churn"]:
        con.execute(f"copy {table} to '{workdir / 'parquet' / table}.parquet' (format parquet)")
    con.close()


KPI_SQL = """
create or replace table kpi_survey as
with r as (
    select s.response_id, date_trunc('month', s.submitted_at) as month, s.channel, s.touchpoint,
        coalesce(c.segment, 'unknown') as segment, coalesce(c.region, 'unknown') as region,
        s.likelihood_to_recommend as ltr, s.csat_score, s.effort_score
    from survey_responses as s left join customers as c using (customer_id)
),
gaps as (
    select response_id, avg(perception_score - expectation_score) as gap
    from survey_item_scores group by response_id
)
select month, channel, touchpoint, segment, region,
    100.0 * (count(*) filter (where ltr >= 9) - count(*) filter (where ltr <= 6)) / nullif(count(ltr), 0) as nps,
    100.0 * count(*) filter (where csat_score >= 4) / nullif(count(csat_score), 0) as csat,
    avg(effort_score) as ces, avg(gap) as servqual_gap, count(*) as responses
from r left join gaps using (response_id)
group by grouping sets ((month), (month, channel), (month, touchpoint), (month, segment), (month, region));

create or replace table kpi_complaints as
select date_trunc('month', t.opened_at) as month, t.category, coalesce(c.segment, 'unknown') as segment,
    count(*) as complaints,
    avg(epoch(t.resolved_at) - epoch(t.opened_at)) / 3600 as mean_resolution_hours,
    100.0 * count(*) filter (where t.contact_count = 1 and coalesce(t.reopen_count, 0) = 0)
        / nullif(count(*) filter (where t.resolved_at is not null), 0) as fcr
from tickets as t left join customers as c using (customer_id)
where t.ticket_type = 'complaint'
group by grouping sets ((1), (1, 2), (1, 3));

create or replace table kpi_orders as
with valid as (
    select o.*, min(ordered_at) over (partition by customer_id) as first_at
    from orders as o where coalesce(status, '') not in ('cancelled', 'refunded')
)
select date_trunc('month', first_at) as month, channel,
    count(distinct customer_id) as buyers,
    count(distinct customer_id) filter (
        where ordered_at > first_at and ordered_at <= first_at + interval 90 day) as repeaters,
    sum(amount) as revenue
from valid group by grouping sets ((1), (1, 2));

create or replace table kpi_churn as
with months as (
    select unnest(generate_series(
        (select date_trunc('month', min(started_at)) from subscriptions),
        (select date_trunc('month', max(started_at)) from subscriptions), interval 1 month)) as month
),
state as (
    select m.month, s.customer_id,
        bool_or(s.started_at < m.month and (s.ended_at is null or s.ended_at >= m.month)) as at_start,
        bool_or(s.started_at < m.month + interval 1 month
            and (s.ended_at is null or s.ended_at >= m.month + interval 1 month)) as at_end
    from months as m join subscriptions as s
        on s.started_at < m.month + interval 1 month and (s.ended_at is null or s.ended_at >= m.month)
    group by all
)
select month, count(*) filter (where at_start) as active_at_start,
    count(*) filter (where at_start and not at_end) as churned
from state group by month;
"""


# --- the pipeline ---------------------------------------------------------------------------------


def _dbt_node_seconds(since: float) -> dict:
    """Sum of dbt's own node times by kind, from the newest node results (dbt_node_results.py) written
    after `since`."""
    results = [p for p in DBT_TARGET.glob(f"*/{NODE_RESULTS_FILE}") if p.stat().st_mtime >= since]
    if not results:
        return {}
    sums: dict[str, float] = {}
    nodes = []
    for result in read_node_results(max(results, key=lambda p: p.stat().st_mtime)):
        kind = result["unique_id"].split(".")[0]
        kind = "tests" if kind in ("test", "unit_test") else "models"
        sums[kind] = sums.get(kind, 0.0) + result["execution_time"]
        nodes.append((result["execution_time"], result["unique_id"]))
    sums["top_nodes"] = [{"node": n, "seconds": round(s, 2)} for s, n in sorted(nodes, reverse=True)[:15]]
    sums["nodes"] = len(nodes)
    return sums


def _stage_seconds(stages: list[dict], dbt: dict) -> dict[str, float]:
    by_name = {s["stage"]: s["seconds"] for s in stages}
    dbt_wall = by_name.get("dbt build", 0.0)
    node_total = dbt.get("models", 0.0) + dbt.get("tests", 0.0)
    models_share = dbt.get("models", 0.0) / node_total if node_total else 1.0
    return {
        "ingestion": by_name.get("ingestion", 0.0),
        # dbt builds models and tests interleaved on its threads: its wall time is split by node times.
        "dbt models": dbt_wall * models_share,
        "dbt tests": dbt_wall * (1 - models_share),
        "quality checks": by_name.get("raw checks", 0.0) + by_name.get("mart checks", 0.0),
        "publication": by_name.get("publication", 0.0),
        "scorecard": by_name.get("scorecard", 0.0),
    }


def run_pipeline(label: str, landing: Path, workdir: Path, env: dict[str, str]) -> dict:
    warehouse = workdir / "warehouse" / "csat.duckdb"
    started = time.time()
    command = [
        str(Path(sys.executable).with_name("csat")),
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
    ]
    measured = run_measured(command, env, workdir / f"{label}.out")
    if measured["returncode"] != 0:
        raise SystemExit(f"csat run ({label}) failed: see {workdir / f'{label}.out'} and {run_log_path(warehouse)}")
    last = [line for line in run_log_path(warehouse).read_text().splitlines() if line.startswith(STAGES_LOG_PREFIX)]
    stages = json.loads(last[-1].removeprefix(STAGES_LOG_PREFIX))
    dbt = _dbt_node_seconds(started)
    return {**measured, "stages": stages, "stage_seconds": _stage_seconds(stages, dbt), "dbt_node_seconds": dbt}


def bench(
    responses: int,
    memory_limit: str | None,
    increment: bool = True,
    engine: str = "duckdb",
    dbt_threads: int | None = None,
    rounds: int = 1,
    history: int = 0,
) -> dict:
    root = BENCH_DIR / "data" / f"pipeline-{responses}"
    landing, day = prepare_data(responses, root)
    workdir = root / ("run" if engine == "duckdb" else f"run-{engine}")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    env = {
        **os.environ,
        "CSAT_PUBLISHED_DIR": str(workdir / "published"),
        "CSAT_QUALITY_DIR": str(workdir / "quality"),
        "CSAT_REPORTS_DIR": str(workdir / "reports"),
    }
    env.pop("CSAT_PUBLISH_POSTGRES_URL", None)
    env.pop("CSAT_CRM_DATABASE_URL", None)
    env["CSAT_ENGINE"] = engine
    env.pop("CSAT_SPARK_DIR", None)  # Spark's folder beside this run's warehouse
    if memory_limit:
        env["CSAT_DUCKDB_MEMORY_LIMIT"] = memory_limit
    if dbt_threads:
        env["CSAT_DBT_THREADS"] = str(dbt_threads)
    threads = env.get("CSAT_DBT_THREADS")  # the flag's, else one the caller exported; unset: the default
    landing_mb = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 2**20

    # The checkout's one dbt parse, with the vars of this bench's builds (outside the timings).
    subprocess.run([str(Path(sys.executable).with_name("csat")), "parse"], env=env, check=True)
    read_once(landing)
    measured = [
        bench_round(number, rounds, landing, day, workdir, env, memory_limit, increment, history)
        for number in range(1, rounds + 1)
    ]
    return {
        "responses": responses,
        "engine": engine,
        "landing_mb": round(landing_mb, 1),
        "memory_limit": memory_limit,
        "dbt_threads": int(threads) if threads else None,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "history_runs": history if increment else 0,
        **combine_rounds(measured),
    }


def combine_rounds(measured: list[dict]) -> dict:
    """The rounds' result: the table is one whole round (its stages add up to its run), the round of
    median full-build ratio; the headline ratios are the medians over the rounds; peak memory is the
    highest of any run; each round's own figures are listed."""
    by_ratio = sorted(measured, key=lambda r: r["ratio_full_to_yardstick"])
    return {
        **by_ratio[(len(measured) - 1) // 2],
        "ratio_full_to_yardstick": statistics.median([r["ratio_full_to_yardstick"] for r in measured]),
        **{share: _median_share(measured, share) for share in SHARES},
        "peak_rss_mb": max(r[run]["peak_rss_mb"] for r in measured for run in ("full", *LATER_RUNS) if r.get(run)),
        "rounds": [
            {
                "round": r["round"],
                "yardstick_seconds": r["yardstick"]["seconds"],
                "full_seconds": r["full"]["seconds"],
                **{f"{run}_seconds": r[run]["seconds"] if r.get(run) else None for run in LATER_RUNS},
                "ratio_full_to_yardstick": r["ratio_full_to_yardstick"],
                **{share: r.get(share) for share in SHARES},
            }
            for r in measured
        ],
    }


def _median_share(measured: list[dict], share: str) -> float | None:
    shares = [r[share] for r in measured if r.get(share) is not None]
    return statistics.median(shares) if shares else None


def _took(run: dict) -> str:
    """A run's line in the benchmark's progress: its time and peak memory."""
    return f"  {run['seconds']:.1f} s, peak {run['peak_rss_mb']:,.0f} MB"


def bench_round(
    number: int,
    rounds: int,
    landing: Path,
    day: Path,
    workdir: Path,
    env: dict[str, str],
    memory_limit: str | None,
    increment: bool,
    history: int = 0,
) -> dict:
    """One round: the yardstick, a full build into a fresh warehouse and publication folder, then the
    held-back day delivered (after `history` untimed runs with nothing new, which fill the Data Docs'
    history) and the daily increment, then a run with nothing new. Rounds run back to
    back, so that a busy spell of the shared machine lands in one round's figures rather than in one
    side of every ratio."""
    for folder in ("warehouse", "published", "quality", "reports"):
        shutil.rmtree(workdir / folder, ignore_errors=True)
    suffix = f"-{number}" if rounds > 1 else ""
    if rounds > 1:
        print(f"round {number} of {rounds}", flush=True)
    print("yardstick: bare DuckDB ...", flush=True)
    yard_command = [sys.executable, __file__, "--yardstick", str(landing), str(workdir / "yardstick")]
    if memory_limit:
        yard_command += ["--memory-limit", memory_limit]
    yard = run_measured(yard_command, env, workdir / f"yardstick{suffix}.out")
    if yard["returncode"] != 0:
        raise SystemExit(f"yardstick failed: see {workdir / f'yardstick{suffix}.out'}")
    print(_took(yard), flush=True)

    print("full build: csat run ...", flush=True)
    full = run_pipeline(f"full{suffix}", landing, workdir, env)
    print(_took(full), flush=True)
    daily = nothing_new = None
    if increment:
        if history:
            print(f"the Data Docs' history: {history} runs with nothing new, untimed ...", flush=True)
        for run in range(1, history + 1):
            run_pipeline(f"history{suffix}-{run}", landing, workdir, env)
        for path in day.rglob("*"):
            if path.is_file():
                target = landing / path.relative_to(day)
                shutil.copy2(path, target)
        print("daily increment: one more day delivered, csat run ...", flush=True)
        try:
            daily = run_pipeline(f"daily{suffix}", landing, workdir, env)
            print(_took(daily), flush=True)
            print("nothing new: csat run again on the same landing folder ...", flush=True)
            nothing_new = run_pipeline(f"nothing-new{suffix}", landing, workdir, env)
            print(_took(nothing_new), flush=True)
        finally:  # the next round's full build, and the next bench, start without the day
            for path in landing.rglob(f"{DAY_PREFIX}*"):
                path.unlink()
    return {
        "round": number,
        "yardstick": yard,
        "full": full,
        "daily": daily,
        "nothing_new": nothing_new,
        "ratio_full_to_yardstick": full["seconds"] / yard["seconds"],
        "daily_share_of_full": daily["seconds"] / full["seconds"] if daily else None,
        "nothing_new_share_of_full": nothing_new["seconds"] / full["seconds"] if nothing_new else None,
    }


def read_once(folder: Path) -> None:
    """Read every file under `folder` once, untimed, so that the yardstick, which runs first, does
    not pay for bringing the landing files into the page cache while the pipeline after it finds
    them there: on this machine a cold yardstick at 1M took 34-37 s against 13-17 s warm."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as file:
                while file.read(1 << 24):
                    pass


def markdown(result: dict) -> str:
    full, yard = result["full"], result["yardstick"]
    later = [result.get(run) for run in LATER_RUNS]  # None: not run (--no-increment)
    nodes = full["dbt_node_seconds"]
    threads = int(result.get("dbt_threads") or SETTINGS["CSAT_DBT_THREADS"].default)

    def row(label: str, values: list[str]) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    def cells(value) -> list[str]:
        return [value(full)] + [value(run) if run else "" for run in later]

    def between(run: dict) -> str:
        return f"{run['seconds'] - sum(run['stage_seconds'].values()):.1f}"

    lines = [
        f"Scale: {result['responses']:,} survey responses ({result['landing_mb']:,.0f} MB of landing files); "
        f"{result['machine']}; measured {result['measured_at']}"
        + (f"; dbt on {result['engine']}" if result.get("engine", "duckdb") != "duckdb" else "")
        + (f"; CSAT_DUCKDB_MEMORY_LIMIT={result['memory_limit']}" if result["memory_limit"] else "")
        + (f"; CSAT_DBT_THREADS={result['dbt_threads']}" if result.get("dbt_threads") else "")
        + (
            f"; {result['history_runs']} runs with nothing new before the increment (the Data Docs' history)"
            if result.get("history_runs")
            else ""
        )
        + ".",
        "",
        "| stage | full build (s) | daily increment (s) | next run, nothing new (s) |",
        "|---|---:|---:|---:|",
    ]
    lines += [row(stage, cells(lambda run, stage=stage: f"{run['stage_seconds'][stage]:.1f}")) for stage in STAGE_ORDER]
    lines += [
        row("start-up and between steps", cells(between)),
        row("**whole `csat run`**", cells(lambda run: f"**{run['seconds']:.1f}**")),
        row("peak memory, process tree (MB, PSS)", cells(lambda run: f"{run['peak_rss_mb']:,.0f}")),
        "",
        f"Bare-DuckDB yardstick: {yard['seconds']:.1f} s, peak memory {yard['peak_rss_mb']:,.0f} MB. "
        f"**Full build / yardstick: {result['ratio_full_to_yardstick']:.1f}x** (goal: at most 2x)."
        + (
            f" **Daily increment / full build: {100 * result['daily_share_of_full']:.0f} %** (goal: at most 10 %)."
            if result.get("daily_share_of_full") is not None
            else ""
        )
        + (
            f" A run with nothing new / full build: {100 * result['nothing_new_share_of_full']:.0f} % (what a run"
            " costs whatever the day delivers: the floor under the daily share)."
            if result.get("nothing_new_share_of_full") is not None
            else ""
        ),
        "",
        *rounds_lines(result),
        f"dbt node times (sum over {nodes.get('nodes', 0)} nodes, {threads} thread{'s' if threads > 1 else ''}): "
        f"models {nodes.get('models', 0):.1f} s, tests {nodes.get('tests', 0):.1f} s. "
        "Slowest nodes:",
        "",
        "| dbt node | seconds |",
        "|---|---:|",
    ]
    lines += [f"| `{n['node']}` | {n['seconds']:.1f} |" for n in nodes.get("top_nodes", [])[:10]]
    return "\n".join(lines) + "\n"


def rounds_lines(result: dict) -> list[str]:
    """With more than one round: that the table is the round of median full-build ratio, that the
    ratios above are medians, and each round's own figures."""
    rounds = result.get("rounds") or []
    if len(rounds) < 2:
        return []
    each = "; ".join(
        f"{r['round']}: yardstick {r['yardstick_seconds']:.1f} s, full {r['full_seconds']:.1f} s "
        f"({r['ratio_full_to_yardstick']:.1f}x)"
        + "".join(
            f", {name} {r[f'{run}_seconds']:.1f} s ({100 * r[f'{run}_share_of_full']:.0f} %)"
            for run, name in LATER_RUNS.items()
            if r.get(f"{run}_seconds")
        )
        for r in rounds
    )
    return [
        f"{len(rounds)} rounds, back to back; the ratios above are their medians, the table is round "
        f"{result['round']} (the round of median full-build ratio); peak memory over every round "
        f"{result['peak_rss_mb']:,.0f} MB. Each round: {each}.",
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--memory-limit", help="CSAT_DUCKDB_MEMORY_LIMIT for the pipeline (and the yardstick)")
    parser.add_argument("--dbt-threads", type=int, help="CSAT_DBT_THREADS for the pipeline (default: the profile's 2)")
    parser.add_argument(
        "--no-increment", action="store_true", help="skip the daily increment and the run with nothing new"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="yardstick, full build, increment and nothing-new run this many times, back to back; medians reported",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="RUNS",
        help="runs with nothing new between the full build and the increment, untimed: the Data Docs' "
        f"history of daily use ({FULL_HISTORY} fill it)",
    )
    parser.add_argument("--yardstick", nargs=2, metavar=("LANDING", "WORKDIR"), help=argparse.SUPPRESS)
    parser.add_argument("--results", default=str(BENCH_DIR / "results"), help="folder of the results files")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb", help="engine dbt builds on")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.history < 0:
        parser.error("--history must not be negative")
    if args.yardstick:
        yardstick(Path(args.yardstick[0]), Path(args.yardstick[1]), args.memory_limit)
        return 0
    result = bench(
        args.responses,
        args.memory_limit,
        increment=not args.no_increment,
        engine=args.engine,
        dbt_threads=args.dbt_threads,
        rounds=args.rounds,
        history=args.history,
    )
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    name = f"pipeline_{args.responses}" + ("" if args.engine == "duckdb" else f"_{args.engine}")
    (results / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (results / f"{name}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
