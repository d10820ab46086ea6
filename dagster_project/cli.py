"""`csat`: the project's command line (sample data, the whole pipeline).

`csat run` never invents data: a missing or empty landing folder stops it before anything is
touched. Sample data comes only from `csat generate` (the README's main command calls it explicitly).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from dagster_project import settings


def _has_deliveries(landing: Path) -> bool:
    from dagster_project.contract import ENTITIES
    from dagster_project.ingestion.files import discover_files

    return any(discover_files(landing, e) for e in ENTITIES)


def _ensure_demo_key() -> None:
    from dagster_project.privacy.keys import ensure_local_key

    created = ensure_local_key()
    if created:
        print(f">> no pseudonymisation key configured: created a local demo key in {created} (see SECURITY.md)")


def cmd_forget(args: argparse.Namespace) -> int:
    """Erase customers everywhere the warehouse keeps them, register the erasure, rebuild the marts."""
    from dagster_project.privacy.forget import read_ids

    ids = read_ids(args.customer_ids, [Path(f) for f in args.file or []])
    if not ids:
        print("csat forget: no customer ids given (arguments or --file)", file=sys.stderr)
        return 2
    warehouse = Path(args.warehouse or settings.warehouse_path()).resolve()
    from dagster_project.run_lock import RunInProgressError, run_lock

    try:
        # forget rewrites the warehouse files: never while a pipeline run writes them.
        with run_lock(warehouse, purpose="csat forget") as note:
            if note:
                print(f">> {note}")
            return _forget(args, ids, warehouse)
    except RunInProgressError as error:
        print(f"csat forget: {error}", file=sys.stderr)
        return 2


def _forget(args: argparse.Namespace, ids: list[str], warehouse: Path) -> int:
    from dagster_project.privacy.forget import forget

    published = Path(args.published or settings.published_dir()).resolve()
    report = forget(
        ids,
        warehouse=warehouse,
        published_dir=published,
        postgres_url=settings.postgres_publication_url(),
        postgres_schema=settings.postgres_publication_schema(),
    )
    print(f">> erased {report.customers} customer(s): {report.total:,} rows removed; register: {report.register}")
    for store, tables in report.counts.items():
        for table, rows in tables.items():
            print(f"   {store:<22} {table:<45} {rows:>10,}")
    print("   landing files are not touched: ask their owner to delete or correct them (SECURITY.md)")
    if args.no_run:
        print("Aggregated marts still count them until the next `csat run`.")
        return 0
    from dagster_project.run_summary import failure_lines, skipped_steps

    landing = Path(args.landing or settings.landing_dir()).resolve()
    result = _execute_pipeline(landing, warehouse)
    if not result.success or skipped_steps(result):
        for line in failure_lines(result):
            print(f"FAILED {line}", file=sys.stderr)
        print("The marts were not rebuilt (see the failures above); the erased customers are gone from every copy.")
        return 1
    print("Marts rebuilt and published without them.")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from csat_sample_data import generate_sample_data, write_dirty_delivery

    landing = Path(args.landing or settings.landing_dir())
    _ensure_demo_key()
    if args.dirty:
        dirty = write_dirty_delivery(landing, seed=args.seed)
        print(
            f"dirty delivery written to {landing}: {len(dirty.files)} files, "
            f"{len(dirty.expected_rejects)} rows that must be rejected"
        )
        return 0
    summary = generate_sample_data(
        landing, seed=args.seed, responses=args.responses, months=args.months, as_of=args.as_of
    )
    print(f"sample data written to {landing}: {len(summary.files)} files")
    for entity, rows in summary.delivered.items():
        print(f"  {entity:<20} {rows:>12,} rows")
    return 0


class _Refused(Exception):
    """`csat run` refuses to start; the message says why and what to do."""


def _check_landing(landing: Path) -> None:
    if not landing.is_dir():
        raise _Refused(
            f"landing folder {landing} does not exist: check the path (--landing or CSAT_LANDING_DIR). "
            "Nothing was changed. For sample data, run `csat generate` first."
        )
    if not _has_deliveries(landing):
        raise _Refused(
            f"landing folder {landing} holds no deliveries (expected <source>/<entity>/<file>): nothing to load. "
            "Nothing was changed. For sample data, run `csat generate` first."
        )


def cmd_run(args: argparse.Namespace) -> int:
    from dagster_project.run_lock import RunInProgressError, run_lock

    landing = Path(args.landing or settings.landing_dir()).resolve()
    warehouse = Path(args.warehouse or settings.warehouse_path()).resolve()
    try:
        # Nothing is created or changed before the landing folder is known to hold deliveries:
        # a mistyped path must never turn into an empty (or a sample) warehouse.
        _check_landing(landing)
        with run_lock(warehouse, purpose="csat run") as note:
            if note:
                print(f">> {note}")
            return _run(args, landing, warehouse)
    except (_Refused, RunInProgressError) as refused:
        print(f"csat run: {refused}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, landing: Path, warehouse: Path) -> int:
    if args.rebuild:
        from dagster_project.rebuild import (
            deliveries_missing_from_landing,
            lost_deliveries_message,
            rebuild_working_warehouse,
        )

        lost = deliveries_missing_from_landing(warehouse, landing)
        if lost and not args.force:
            raise _Refused(lost_deliveries_message(lost, landing))
        previous = rebuild_working_warehouse(warehouse)
        if previous:
            print(f">> rebuilding {warehouse} from every landing file (customer history too; old file: {previous})")
            if lost:
                print(f">> --force: the rows of {len(lost)} file(s) no longer in {landing} are dropped")
    if args.full_refresh and warehouse.exists():
        from dagster_project import build_state
        from dagster_project.ingestion.warehouse import connect

        with connect(warehouse) as con:
            build_state.forget(con)
        print(">> --full-refresh: every incremental model is rebuilt from all rows")
    from dagster_project.publication.published_copy import locations_message
    from dagster_project.resources import ReportsResource
    from dagster_project.run_summary import failure_lines, print_run_summary, skipped_steps

    print(f">> running the pipeline: {landing} -> {warehouse}")
    result = _execute_pipeline(landing, warehouse, engine=args.engine)
    print_run_summary(warehouse)
    print(locations_message(settings.published_dir(), settings.quality_dir()))
    if not result.success or skipped_steps(result):
        for line in failure_lines(result):
            print(f"FAILED {line}", file=sys.stderr)
        print("The pipeline failed: nothing new was published (the previous publication, if any, is intact).")
        return 1
    print(f"Pipeline finished: working warehouse at {warehouse}")
    print(f"Scorecard (opens offline in a browser): {ReportsResource(path=str(settings.reports_dir())).scorecard_path}")
    return 0


RUN_LOG_SUFFIX = ".log"
STAGES_LOG_PREFIX = "csat-run-stages "  # last line of the run log: every stage's tally as JSON (bench/)


def run_log_path(warehouse: Path) -> Path:
    """The full log of the latest `csat run` on `warehouse`: `<warehouse>.log`, next to it (the
    previous run's log is kept as `<warehouse>.log.previous`)."""
    return warehouse.with_name(warehouse.name + RUN_LOG_SUFFIX)


def _open_run_log(warehouse: Path) -> tuple[Path, TextIO]:
    path = run_log_path(warehouse)
    if path.exists():
        path.replace(path.with_name(path.name + ".previous"))
    # Owner-only like the warehouse: Dagster's messages can name customers' rows (failing samples).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return path, open(fd, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed by the caller


def _execute_pipeline(landing: Path, warehouse: Path, engine: str | None = None):
    """The whole pipeline job on `landing` -> `warehouse`, in this process (`csat run`, `csat forget`);
    `engine` overrides CSAT_ENGINE."""
    # Importing Dagster and dbt and building the definitions from dbt's manifest allocate much and
    # free little: the garbage collections in between (0.5 s of a run's start, in the 1M daily
    # increment) found next to nothing. What they built lives as long as the run: frozen, it is left
    # out of the run's collections, which walked all of it again and again while the run's events
    # came in (1.1 s of CPU in that increment, on a core dbt wanted). Unfrozen after the run for a
    # caller that goes on (the tests).
    from dagster_project.dbt_server import warm_dbt

    with warm_dbt():  # dbt's import, on the core the single-threaded start leaves idle
        gc.disable()
        try:
            from dagster_project.definitions import PIPELINE_JOB, build_definitions

            defs = build_definitions(landing_dir=str(landing), warehouse_path=str(warehouse), engine=engine)
            job = defs.resolve_job_def(PIPELINE_JOB)
        finally:
            gc.enable()
        gc.freeze()
        try:
            return _execute_with_progress(job, warehouse)
        finally:
            gc.unfreeze()


def _execute_with_progress(job, warehouse: Path):
    """Run `job` in this process, printing one line per stage (counts, run time; a progress bar on a
    terminal) instead of dbt's hundreds of lines. Everything (dbt's output and every Dagster event)
    goes to the run log; warnings and errors also to the terminal."""
    import contextlib
    import json

    import dagster as dg

    from dagster_project.assets.warehouse import build_warehouse_assets
    from dagster_project.quality.validation import start_gx_worker, wait_for_gx
    from dagster_project.run_summary import RunProgress, progress_logger

    log_path, log = _open_run_log(warehouse)
    print(f">> full log: {log_path}")
    out = sys.stdout
    warehouse_models = build_warehouse_assets()
    dbt_nodes = len(warehouse_models.keys) + len(warehouse_models.check_keys)
    progress = RunProgress([node.name for node in job.graph.nodes], out=out, units={"dbt build": dbt_nodes})
    job = job.with_logger_defs({**dg.default_loggers(), "csat_progress": progress_logger(progress, log)})
    config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}, "csat_progress": {}}}
    start_gx_worker()  # its import overlaps the steps before the first check
    with log, contextlib.redirect_stdout(log):  # dagster-dbt echoes every dbt line to stdout
        try:
            return job.execute_in_process(run_config=config, raise_on_error=False)
        finally:
            try:  # the checks' results still being stored for the Data Docs (quality.validation)
                wait_for_gx()
            except Exception as error:  # noqa: BLE001 - the run's outcome stands; the report is incomplete
                print(f"warning: Great Expectations could not record every result: {error}", file=out)
            stages = progress.finish()
            log.write(STAGES_LOG_PREFIX + json.dumps(stages) + "\n")


def cmd_check(args: argparse.Namespace) -> int:
    """Ingestion's dry run: what the landing folder's files would load and reject, warehouse untouched."""
    from dagster_project.contract import ENTITIES
    from dagster_project.deployment import load_deployment
    from dagster_project.ingestion.check import check_landing, report_lines

    unknown = sorted(set(args.entity or []) - {e.name for e in ENTITIES})
    if unknown:
        names = ", ".join(e.name for e in ENTITIES)
        print(f"csat check: unknown entity {', '.join(unknown)}; entities: {names}", file=sys.stderr)
        return 2
    landing = Path(args.landing or settings.landing_dir()).resolve()
    if not landing.is_dir():
        print(f"csat check: no landing folder {landing}", file=sys.stderr)
        return 2
    deployment = load_deployment()
    print(f">> checking {landing} (mappings: {deployment.mappings_dir}; seeds: {deployment.seeds_dir})")
    checks = check_landing(landing, args.entity, first_rejects=args.rejects)
    print("\n".join(report_lines(checks, landing)))
    if any(c.report.errors or c.rows_revised for c in checks):  # what a run's gate blocks on
        return 1
    return 1 if args.strict and any(c.report.total("rejected") for c in checks) else 0


def cmd_parse(args: argparse.Namespace) -> int:
    from dagster_project.assets.warehouse import ensure_manifest

    print(f"dbt manifest: {ensure_manifest(force=True)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="csat", description="Customer-satisfaction warehouse.")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write deterministic sample landing files")
    gen.add_argument("--landing", help="landing folder (default: $CSAT_LANDING_DIR or data/landing)")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--responses", type=int, default=20_000, help="survey responses; other entities scale")
    gen.add_argument("--months", type=int, default=30, help="months of history")
    gen.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 1), help="end (exclusive)")
    gen.add_argument("--dirty", action="store_true", help="write a small delivery full of contract violations")
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser(
        "run", help="run the whole pipeline on the landing folder (fails if it is missing or empty; see `generate`)"
    )
    run.add_argument("--landing", help="landing folder (default: $CSAT_LANDING_DIR or data/landing)")
    run.add_argument("--warehouse", help="DuckDB file (default: $CSAT_WAREHOUSE_PATH or data/warehouse/csat.duckdb)")
    run.add_argument(
        "--rebuild",
        action="store_true",
        help="reload the working warehouse from every landing file (after removing or fixing a bad delivery); "
        "restores the customer history from them, moves the old file to <warehouse>.previous; refused when files the "
        "warehouse loaded are missing from the landing folder",
    )
    run.add_argument(
        "--force", action="store_true", help="with --rebuild: rebuild even if loaded files are missing from landing"
    )
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental models from every row instead of the months and customers that changed "
        "(a build does so by itself when the dbt project, seeds or deployment changed, or after an erasure)",
    )
    run.add_argument(
        "--engine", choices=settings.ENGINES, help="engine dbt builds the models on (default: $CSAT_ENGINE or duckdb)"
    )
    run.set_defaults(func=cmd_run)

    fgt = sub.add_parser(
        "forget",
        help="erase customers from every copy the warehouse keeps (raw, rejects, customer history, marts, "
        "publications, .previous) and register the erasure so no re-delivery or rebuild brings them back",
    )
    fgt.add_argument("customer_ids", nargs="*", help="CRM customer ids")
    fgt.add_argument("--file", action="append", help="file of customer ids, one per line (repeatable)")
    fgt.add_argument("--warehouse", help="DuckDB file (default: $CSAT_WAREHOUSE_PATH or data/warehouse/csat.duckdb)")
    fgt.add_argument("--published", help="published folder (default: $CSAT_PUBLISHED_DIR or data/published)")
    fgt.add_argument("--landing", help="landing folder for the rebuild of the marts (default: $CSAT_LANDING_DIR)")
    fgt.add_argument("--no-run", action="store_true", help="erase only; do not run the pipeline to rebuild the marts")
    fgt.set_defaults(func=cmd_forget)

    chk = sub.add_parser(
        "check",
        help="dry run of ingestion: load the landing folder with the deployment's mappings and seeds into a scratch "
        "warehouse and report, per file, what loads and what is rejected and why (the warehouse is not touched)",
    )
    chk.add_argument("--landing", help="landing folder (default: $CSAT_LANDING_DIR or data/landing)")
    chk.add_argument("--entity", action="append", help="check only this entity (repeatable), e.g. survey_responses")
    chk.add_argument("--rejects", type=int, default=5, help="rejected rows shown per entity (default 5)")
    chk.add_argument("--strict", action="store_true", help="exit 1 when any row is rejected, not only a file")
    chk.set_defaults(func=cmd_check)

    prs = sub.add_parser(
        "parse",
        help="parse the dbt project into the manifest Dagster builds its assets from, with the vars of a pipeline "
        "build (so the next build starts from this parse instead of parsing again)",
    )
    prs.set_defaults(func=cmd_parse)

    args = parser.parse_args(argv)
    if getattr(args, "force", False) and not args.rebuild:
        run.error("--force only confirms a --rebuild")
    return args.func(args)


def console_main() -> None:
    """The `csat` command: main() in a process that ends right after it.

    Python collects garbage again and again while it tears a process down, and this one holds a
    large object graph (dbt's manifest, Dagster's definitions): about 0.6 s of every `csat run`
    after its last line was printed went to those collections. Objects frozen by `gc.freeze()` are
    left out of every later collection; they are still freed as the modules are cleared."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console_main()
