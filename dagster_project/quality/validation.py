"""Run expectation suites against DuckDB and record the results with Great Expectations.

Each batch is a DuckDB query; its expectations are evaluated inside DuckDB (`sql_checks`: counts of
violating rows and a bounded sample of them), since Great Expectations' SQL datasource over
duckdb_engine did not work here and its pandas batches would pull whole tables into memory. An
expectation type `sql_checks` cannot translate runs with GX on a bounded sample of the batch.
Results are stored in a file-backed GX context under the quality folder, and the HTML Data Docs are
rendered into `<quality>/data_docs/` (index.html) by `build_data_docs`, both in the GX worker (below):
pass or fail never waits for Great Expectations, the report may."""

from __future__ import annotations

import atexit
import json
import logging
import math
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.quality import sql_checks
from dagster_project.quality.suites import BatchSpec, ExpectationSpec, SuiteSpec

DATA_DOCS_SITE = "csat"
# Validation results (and their Data Docs pages) of this many most recent runs are kept. Every
# render of the Data Docs reads every kept result (GX lists, parses and indexes them all), so a run
# pays for the history in its path: at the default scale, a run with nothing new took 7.2 s with an
# empty history and 11.1-11.8 s with 30 runs kept (about 95 results each), 8.4-8.9 s with 10
# (DECISIONLOG "The Data Docs keep ten runs"). Every run's outcome stays in Dagster's check history.
KEEP_RUNS = 10
DATASOURCE = "csat_warehouse"
SAMPLE_ROWS = 5  # failing rows shown per failed expectation
# Expectations not evaluated in DuckDB run with GX on at most this many rows of the batch.
FALLBACK_ROWS = 100_000
_GX_SEVERITY = {"error": "critical", "warning": "warning"}
_contexts: dict[Path, Any] = {}
_lock = threading.Lock()

# Great Expectations runs in a worker process of its own, the GX worker, started on first use: a step
# queues the recording of its results there and goes on. Its import (3-4 s) and the storing and
# rendering of the results (2-3 s per layer) then happen while dbt builds or the publication copies,
# on the other core, instead of in the run's path. A process, not a thread: GX imports a large module
# tree (SQLAlchemy among it) that Dagster imports lazily at the same time, and two threads importing
# one tree can meet a partially initialised module (seen here: `sqlalchemy.orm.exc`). One worker, so
# the file-backed context sees one writer and the work runs in the order queued; "spawn", since
# forking a process with DuckDB's and Dagster's threads is unsafe. Queued work is done before the
# process exits (the executor waits for it at exit); wait_for_gx() waits and raises what went wrong.
_gx_worker: ProcessPoolExecutor | None = None
_queued: list[Future] = []
_queued_lock = threading.Lock()


def _worker() -> ProcessPoolExecutor:
    global _gx_worker
    with _queued_lock:
        if _gx_worker is None:
            _gx_worker = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker
            )
        return _gx_worker


def _start_worker() -> None:
    """In the GX worker, first thing: give its main module a file when it has none. A spawned child
    of a program run as a package (`python -m pytest`) keeps multiprocessing's `-c` bootstrap as
    `__main__`, and PySpark, which GX imports when it is installed, takes a main module without a
    file or spec for a doctest run and exits the process (`pyspark.sql.connect.utils.check_dependencies`).

    And end the worker without tearing its interpreter down. A spawned child exits through
    `sys.exit`, so with GX, pandas and SQLAlchemy loaded the worker spent about 0.65 s freeing
    modules after its last task, and every `csat run` waited for that at its end (the executor
    joins its worker at exit). Exit hooks run last-registered first, and this one is registered
    before GX is imported, so every hook GX and its libraries register has run when it ends the
    process. Of the two registered before it, multiprocessing's has already run (the process's
    bootstrap calls it when the worker's loop ends) and logging's it calls itself. The results and
    Data Docs were written by then (their tasks returned)."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__file__ = __file__
    atexit.register(_end_worker)


def _end_worker() -> None:
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def on_gx_worker(fn: Callable[..., Any], /, *args: Any) -> Future:
    """Queue `fn(*args)` (a module-level function; the arguments are pickled) on the GX worker."""
    future = _worker().submit(fn, *args)
    with _queued_lock:
        _queued.append(future)
    return future


def run_on_gx_worker(fn: Callable[..., Any], /, *args: Any) -> Any:
    """`fn(*args)` on the GX worker, after the work queued before; its result."""
    return _worker().submit(fn, *args).result()


def wait_for_gx() -> None:
    """Wait until everything queued on the GX worker so far is done; raise the first error."""
    with _queued_lock:
        queued = list(_queued)
        _queued.clear()
    errors = [error for error in (future.exception() for future in queued) if error is not None]
    if errors:
        raise errors[0]


def data_docs_dir(quality_dir: str | Path) -> Path:
    return Path(quality_dir).resolve() / "data_docs"


def data_docs_index(quality_dir: str | Path) -> Path:
    return data_docs_dir(quality_dir) / "index.html"


def gx_context(quality_dir: str | Path, *, keep_runs: int = KEEP_RUNS):
    """The file-backed GX context of a quality folder (`<quality>/gx`), with the Data Docs site
    `<quality>/data_docs`. Created on first use, cached per process; on creation the history is
    pruned to the `keep_runs` most recent runs."""
    root = Path(quality_dir).resolve()
    with _lock:
        if root in _contexts:
            return _contexts[root]
        import great_expectations as gx

        root.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(root))
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        site = {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir(root))},
        }
        sites = context.get_site_names()
        for name in sites:
            if name != DATA_DOCS_SITE:
                context.delete_data_docs_site(name)
        if DATA_DOCS_SITE in sites:
            context.update_data_docs_site(DATA_DOCS_SITE, site)
        else:
            context.add_data_docs_site(DATA_DOCS_SITE, site)
        prune_history(context, root, keep_runs)
        _contexts[root] = context
        return context


def prune_history(context, quality_dir: Path, keep_runs: int) -> list[str]:
    """Drop validation results and Data Docs pages of all but the `keep_runs` most recent runs,
    so the Data Docs stay quick to build. Returns the run names removed."""
    import shutil

    store = context.validation_results_store
    keys = store.list_keys()
    latest: dict[str, Any] = {}
    for key in keys:
        name, at = key.run_id.run_name, key.run_id.run_time
        if name not in latest or (at is not None and latest[name] is not None and at > latest[name]):
            latest[name] = at
    ordered = sorted(latest, key=lambda n: str(latest[n]), reverse=True)
    old = set(ordered[max(keep_runs, 0) :])
    if not old:
        return []
    for key in keys:
        if key.run_id.run_name in old:
            store.remove_key(key)
    pages = data_docs_dir(quality_dir) / "validations"
    if pages.is_dir():
        for folder in [p for p in pages.rglob("*") if p.is_dir() and p.name in old]:
            shutil.rmtree(folder, ignore_errors=True)
    return sorted(old)


def build_gx_expectation(spec: ExpectationSpec):
    """The Great Expectations expectation object for a suite file entry (severity included)."""
    from great_expectations.expectations.registry import get_expectation_impl

    impl = get_expectation_impl(spec.type)
    return impl(
        **spec.kwargs,
        severity=_GX_SEVERITY[spec.severity],
        meta={"severity": spec.severity},
        notes=spec.notes or None,
    )


# ---------------------------------------------------------------------------------------- outcomes


@dataclass
class ExpectationOutcome:
    suite: str
    batch: str
    expectation: str  # label: type(columns)
    severity: str  # error | warning
    success: bool
    observed: str = ""
    unexpected_count: int | None = None
    element_count: int | None = None
    sample: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    exception: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "expectation": self.expectation,
            "severity": self.severity,
            "observed": self.observed,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "sample": self.sample,
            "notes": self.notes,
            **({"exception": self.exception} if self.exception else {}),
        }


@dataclass
class SuiteOutcome:
    suite: str
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    batch_rows: dict[str, int] = field(default_factory=dict)
    data_docs: Path | None = None

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def errors(self) -> list[ExpectationOutcome]:
        return [o for o in self.failures if o.severity == "error"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.failures if o.severity == "warning"]

    @property
    def reported(self) -> list[ExpectationOutcome]:
        """Failures to show: errors, then warnings not already covered by a failed error-severity
        expectation on the same batch and column (e.g. a 99% threshold next to a failed 95% one)."""
        shadowed = {(o.batch, o.expectation) for o in self.errors}
        return self.errors + [o for o in self.warnings if (o.batch, o.expectation) not in shadowed]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def severity(self) -> str | None:
        """`error` when an error-severity expectation failed, `warning` when only warnings did."""
        return "error" if self.errors else "warning" if self.warnings else None

    def summary(self) -> str:
        if self.passed:
            return f"{self.suite}: all {len(self.outcomes)} expectations passed"
        parts = []
        for o in self.reported:
            text = f"[{o.severity}] {o.batch}: {o.expectation}: {o.observed}"
            if o.sample:
                text += f"; first failing row: {json.dumps(o.sample[0], default=str, ensure_ascii=False)}"
            parts.append(text)
        return f"{self.suite}: {len(self.errors)} error(s), {len(self.warnings)} warning(s): " + "; ".join(parts)

    def markdown(self) -> str:
        """The failing expectations with observed values and sample rows, for the Dagster UI."""
        if self.passed:
            return f"All {len(self.outcomes)} expectations of `{self.suite}` passed."
        lines = ["| severity | batch | expectation | observed |", "|---|---|---|---|"]
        for o in self.reported:
            lines.append(f"| {o.severity} | {o.batch} | `{o.expectation}` | {_md_cell(o.observed)} |")
        for o in self.reported:
            if o.notes:
                lines += ["", f"**{o.batch}: `{o.expectation}`**: {o.notes}"]
            if o.sample:
                lines += ["", "Sample of failing rows:", ""]
                columns = list(o.sample[0])
                lines.append("| " + " | ".join(columns) + " |")
                lines.append("|" + "---|" * len(columns))
                for row in o.sample:
                    lines.append("| " + " | ".join(_md_cell(row.get(c)) for c in columns) + " |")
        return "\n".join(lines)


def _md_cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _json_safe(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)):
        return value
    try:
        import pandas as pd

        if value is pd.NaT or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return str(value)


def _observed(result: dict[str, Any], spec: ExpectationSpec) -> str:
    if "observed_value" in result:
        text = f"observed {json.dumps(_json_safe(result['observed_value']), default=str)}"
    elif result.get("unexpected_count") is not None:
        count, total = result.get("unexpected_count"), result.get("element_count")
        percent = result.get("unexpected_percent")
        text = f"{count} of {total} rows fail"
        if percent is not None:
            text += f" ({percent:.2f}% of non-null)"
        values = result.get("partial_unexpected_list") or []
        if values:
            text += f"; e.g. {json.dumps(_json_safe(values[:SAMPLE_ROWS]), default=str)}"
    else:
        text = "failed"
    expected = {k: v for k, v in spec.kwargs.items() if k not in ("column", "column_A", "column_B", "column_list")}
    if expected:
        text += f"; expected {json.dumps(_json_safe(expected), default=str)}"
    return text


def _sample(df, result: dict[str, Any], batch: BatchSpec, spec: ExpectationSpec) -> list[dict[str, Any]]:
    labels = result.get("partial_unexpected_index_list") or []
    labels = [label for label in labels if not isinstance(label, dict)][:SAMPLE_ROWS]
    if not labels or df is None:
        return []
    columns = [c for c in dict.fromkeys([*batch.key, *spec.columns]) if c in df.columns] or list(df.columns)[:8]
    try:
        rows = df.loc[labels, columns]
    except KeyError:
        return []
    return [{c: _json_safe(v) for c, v in zip(columns, row, strict=True)} for row in rows.itertuples(index=False)]


def _exception_message(info: Any) -> str | None:
    """GX reports exceptions either as one dict or as a dict of them keyed by metric."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return str(info.get("exception_message")) if info.get("raised_exception") else None
    messages = [
        str(v.get("exception_message")) for v in info.values() if isinstance(v, dict) and v.get("raised_exception")
    ]
    return "; ".join(messages) or None


def _outcome(suite: SuiteSpec, batch: BatchSpec, spec: ExpectationSpec, success, result, exception, sample):
    return ExpectationOutcome(
        suite=suite.name,
        batch=batch.name,
        expectation=spec.label,
        severity=spec.severity,
        success=success,
        observed=(f"could not be evaluated: {exception}" if exception else _observed(result, spec)),
        unexpected_count=result.get("unexpected_count"),
        element_count=result.get("element_count"),
        sample=[] if success else [{k: _json_safe(v) for k, v in row.items()} for row in sample[:SAMPLE_ROWS]],
        notes=spec.notes,
        exception=exception,
    )


# ---------------------------------------------------------------------------------------- running


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def time_zone_of_months() -> str:
    """The deployment's reporting time zone, in which the marts cut months."""
    from dagster_project.deployment import load_deployment

    return load_deployment().reporting_time_zone


def fetch_sample(con: duckdb.DuckDBPyConnection, batch: BatchSpec, parameters: dict[str, Any]):
    """At most FALLBACK_ROWS rows of the batch as a pandas DataFrame (a uniform sample when larger),
    for the expectations that are not evaluated in DuckDB; returns it and the batch's row count."""
    sql = batch.sql()
    args = batch.parameters(parameters)
    rows = con.execute(f"select count(*) from ({sql})", args).fetchone()[0]
    if rows > FALLBACK_ROWS:
        sql = f"select * from ({sql}) using sample reservoir({FALLBACK_ROWS} rows) repeatable (42)"
    return con.execute(sql, args).df(), rows


@dataclass
class GxResult:
    """What validation reads of one GX expectation result: plain values, to cross from the worker."""

    success: bool
    result: dict[str, Any]
    exception_info: Any


def _run_identifier(run_name: str, now: datetime):
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_name, run_time=now.replace(tzinfo=UTC))


def _gx_results(quality_dir, name: str, batch: BatchSpec, specs, df, suite_path, gx_parameters, run_name, now):
    """Run `specs` with Great Expectations on the DataFrame `df` (a bounded sample); results in
    order, as plain `GxResult`s. In the GX worker."""
    import great_expectations as gx

    context = gx_context(quality_dir)
    try:
        datasource = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError, LookupError):
        datasource = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = datasource.get_asset(name)
    except LookupError:
        asset = datasource.add_dataframe_asset(name)
    try:
        batch_definition = asset.get_batch_definition("whole")
    except KeyError:
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    gx_suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=name,
            expectations=[build_gx_expectation(e) for e in specs],
            meta={"source_file": str(suite_path or ""), "batch_sql": batch.sql()},
        )
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=gx_suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": df},
        expectation_parameters=gx_parameters,
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
        run_id=_run_identifier(run_name, now),
    )
    by_id = {r.expectation_config.id: r for r in result.results}
    found = [by_id.get(e.id) for e in gx_suite.expectations]
    return [None if r is None else GxResult(bool(r.success), dict(r.result or {}), r.exception_info) for r in found]


def _store_sql_results(quality_dir, name: str, batch: BatchSpec, specs, results, suite_path, parameters, run_name, now):
    """Store expectations evaluated in DuckDB as a GX validation result (for the Data Docs). In the
    GX worker."""
    import great_expectations as gx
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = gx_context(quality_dir)
    run_id = _run_identifier(run_name, now)
    gx_suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=name,
            expectations=[build_gx_expectation(e) for e in specs],
            meta={"source_file": str(suite_path or ""), "batch_sql": batch.sql(), "evaluated_in": "duckdb"},
        )
    )
    validation_results = []
    for expectation, r in zip(gx_suite.expectations, results, strict=True):
        validation_results.append(
            ExpectationValidationResult(
                success=r.success,
                expectation_config=expectation.configuration,
                result=_json_safe(r.result),
                exception_info={
                    "raised_exception": r.exception is not None,
                    "exception_message": r.exception,
                    "exception_traceback": None,
                },
            )
        )
    successful = sum(1 for r in results if r.success)
    suite_result = ExpectationSuiteValidationResult(
        success=successful == len(results),
        results=validation_results,
        suite_name=name,
        suite_parameters={k: _json_safe(v) for k, v in parameters.items()},
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": successful,
            "unsuccessful_expectations": len(results) - successful,
            "success_percent": 100 * successful / len(results) if results else None,
        },
        meta={
            "great_expectations_version": gx.__version__,
            "batch_spec": {"query": batch.sql(), "engine": "duckdb"},
            "batch_markers": {},
            "active_batch_definition": {"datasource_name": DATASOURCE, "data_asset_name": name},
            "run_id": run_id,
            "validation_time": run_id.run_time,
        },
    )
    identifier = ExpectationSuiteIdentifier(name=name)
    context.validation_results_store.store_validation_results(
        suite_validation_result=suite_result,
        suite_validation_result_identifier=ValidationResultIdentifier(
            expectation_suite_identifier=identifier, run_id=run_id, batch_identifier=f"{DATASOURCE}-{name}"
        ),
        expectation_suite_identifier=identifier,
    )


def validate_suite(
    con: duckdb.DuckDBPyConnection,
    suite: SuiteSpec,
    *,
    quality_dir: str | Path,
    run_name: str | None = None,
    run_started_at: datetime | None = None,
    now: datetime | None = None,
    build_docs: bool = True,
    wait: bool = True,
) -> SuiteOutcome:
    """Validate every batch of `suite` against the warehouse behind `con` (read-only is enough).

    Expectations are evaluated in DuckDB (sql_checks: counts of violating rows and a bounded sample
    of them); a type sql_checks cannot translate runs with Great Expectations on a bounded sample
    of the batch. `run_started_at` (UTC, naive) scopes delivery checks to the files of this run;
    `now` (UTC, naive) is the reference for "no timestamps in the future". A batch whose query
    fails counts as a failed error-severity expectation (the data cannot be checked, so it must
    not pass). The results are stored in the GX context (and with `build_docs` rendered) by the GX
    worker; with `wait` false the outcome is returned without waiting for that (wait_for_gx()).
    """
    import pandas as pd

    from dagster_project.deployment import load_deployment
    from dagster_project.quality.contract_suites import bind_seed_values

    # Allowed values from the deployment's seeds, which ingestion validated against.
    suite = bind_seed_values(suite, load_deployment().seeds_dir)
    now = now or utc_now()
    run_started_at = run_started_at or now
    # Months are cut in the reporting time zone, as the marts cut them ($reporting_time_zone).
    parameters = {"now": now, "run_started_at": run_started_at, "reporting_time_zone": time_zone_of_months()}
    gx_parameters = {"now": pd.Timestamp(now), "run_started_at": pd.Timestamp(run_started_at)}
    run_name = run_name or "adhoc"
    outcome = SuiteOutcome(suite=suite.name)

    for batch in suite.batches:
        name = f"{suite.name}.{batch.name}"
        try:
            sql_checks.check_batch_query(con, batch, parameters)
        except duckdb.Error as error:
            message = f"the batch query failed: {error}".strip()
            outcome.outcomes += [
                ExpectationOutcome(
                    suite=suite.name,
                    batch=batch.name,
                    expectation=spec.label,
                    severity="error",
                    success=False,
                    observed=message,
                    exception=message,
                    notes=spec.notes,
                )
                for spec in batch.expectations
            ]
            continue
        in_sql = [e for e in batch.expectations if sql_checks.supported(e)]
        by_spec: dict[int, ExpectationOutcome] = {}
        if in_sql:
            rows, results = sql_checks.evaluate_batch(con, batch, in_sql, parameters)
            outcome.batch_rows[batch.name] = rows
            on_gx_worker(
                _store_sql_results, quality_dir, name, batch, in_sql, results, suite.path, parameters, run_name, now
            )
            for spec, r in zip(in_sql, results, strict=True):
                by_spec[id(spec)] = _outcome(suite, batch, spec, r.success, r.result, r.exception, r.sample)
        sampled = [e for e in batch.expectations if not sql_checks.supported(e)]
        if sampled:
            try:
                df, rows = fetch_sample(con, batch, parameters)
            except duckdb.Error as error:
                df, rows, failed = None, 0, f"the batch query failed: {error}".strip()
            else:
                failed = None
            outcome.batch_rows[batch.name] = rows
            gx_results = (
                [None] * len(sampled)
                if df is None
                else run_on_gx_worker(
                    _gx_results,
                    quality_dir,
                    f"{name}.sampled",
                    batch,
                    sampled,
                    df,
                    suite.path,
                    gx_parameters,
                    run_name,
                    now,
                )
            )
            for spec, r in zip(sampled, gx_results, strict=True):
                res = dict(r.result or {}) if r is not None else {}
                exception = failed or (
                    "no result returned by Great Expectations" if r is None else _exception_message(r.exception_info)
                )
                success = bool(r is not None and r.success and exception is None)
                sample = [] if success or df is None else _sample(df, res, batch, spec)
                result = _outcome(suite, batch, spec, success, res, exception, sample)
                if df is not None and len(df) < rows and not exception:
                    result.observed += f" (on a sample of {len(df)} of {rows} rows)"
                by_spec[id(spec)] = result
        outcome.outcomes += [by_spec[id(e)] for e in batch.expectations]
    if build_docs:
        outcome.data_docs = build_data_docs(
            quality_dir, run_name=run_name, suite_names=[suite.name], run_time=now, wait=False
        )
    if wait:
        wait_for_gx()
    return outcome


def build_data_docs(
    quality_dir: str | Path,
    *,
    run_name: str,
    suite_names: Iterable[str],
    run_time: datetime | None = None,
    wait: bool = True,
    index: bool = True,
) -> Path:
    """Render the Data Docs pages of the results of `suite_names` in run `run_name` (at `run_time`,
    UTC, when given), and with `index` the index, which lists every stored run's results, in the GX
    worker after the results queued before; with `wait`, wait for it (wait_for_gx()). GX walks every
    stored result to do it (the index, most of a render, reads each of them), so callers render once
    for many suites, and the index once per run. Returns the index page."""
    on_gx_worker(_render_data_docs, quality_dir, run_name, tuple(suite_names), run_time, index)
    if wait:
        wait_for_gx()
    return data_docs_index(quality_dir)


def start_gx_worker() -> None:
    """Start the GX worker and its import of Great Expectations now (3-5 s), so that it overlaps the
    steps before the first check instead of delaying the first results: in a run with nothing new,
    which starts no dbt, the GX worker's work is what the publication waits for."""
    on_gx_worker(_import_gx)


def _import_gx() -> None:
    import great_expectations  # noqa: F401 - the import is the point


def _render_data_docs(
    quality_dir: str | Path, run_name: str, suite_names: tuple[str, ...], run_time, index: bool = True
) -> None:
    context = gx_context(quality_dir)
    prefixes = tuple(f"{name}." for name in suite_names)
    at = run_time.replace(tzinfo=UTC) if run_time is not None else None
    keys = {
        k
        for k in context.validation_results_store.list_keys()
        if k.run_id.run_name == run_name
        and (at is None or k.run_id.run_time == at)
        and k.expectation_suite_identifier.name.startswith(prefixes)
    }
    if keys:  # none when every batch query failed (nothing stored); None would render every result
        # A set: GX tests every stored result for membership in it (`key not in resource_identifiers`),
        # and in a list that compared each of the ~1,000 results kept with each of this run's (2.3 s
        # of a run's 7 s of rendering at the default scale).
        context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=keys, build_index=index)
