"""Warehouse: the dbt project (staging -> intermediate -> marts -> KPIs) as Dagster assets.

dbt sources carry `meta: {dagster: {asset_key: ["raw", <entity>]}}`, so every staging model hangs
off its ingestion asset and the graph runs from landing files to the KPI marts. dbt tests become
asset checks (tests on sources too), none blocking: an error-severity test that fails fails dbt's
build, which stops the run before anything downstream.

Nothing happens at import: the dbt project (which reads dbt_project.yml), its manifest (`dbt parse`
when missing) and the assets are built on first use, by `build_warehouse_assets()` (the definitions
call it). `dbt_project` and `warehouse_models` stay importable names for that first use.
"""

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging.version import Version

from dagster_project import build_scope, build_state, settings
from dagster_project.dbt_node_results import stream_recording_results
from dagster_project.resources import WarehouseResource
from dagster_project.settings import dbt_target_keep, repo_root
from dagster_project.spark.mount import mount_spark_tables, spark_tables
from dagster_project.spark.raw_export import export_raw
from dagster_project.stale_relations import drop_stale_relations

GROUP = "warehouse"
DBT_PROJECT_DIR = repo_root() / "dbt_project"


@functools.cache
def get_dbt_project() -> DbtProject:
    """The dbt project (reads dbt_project.yml), built once per process."""
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """dbt through `csat-dbt` (dagster_project/dbt_child.py), so a dbt child never outlives a killed
    pipeline process and its warehouse lock; plain dbt where the wrapper is not installed."""
    wrapper = Path(sys.executable).with_name("csat-dbt")
    return str(wrapper if wrapper.exists() else Path(sys.executable).with_name("dbt"))


class DbtResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two start-up costs it pays on every pipeline run:
    - `dbt --version`, run to tell dbt-core from the Fusion engine, which also asks PyPI for dbt's
      latest release (6 s here; a wait for a timeout where there is no internet). The dbt it runs is
      this environment's dbt-core (`dbt_executable`), whose version is known in-process.
    - a handle on dbt's adapter in this process (5-8 s here: it loads every macro of the project),
      which dagster-dbt needs only for `fetch_row_counts` / `fetch_column_metadata` on the event
      stream. The pipeline uses neither (row counts come from the warehouse itself), so there is none.
    """

    @functools.cached_property
    def _cli_version(self) -> Version:
        from dbt.version import __version__

        return Version(__version__)

    def _initialize_dbt_core_adapter(self, args: Any) -> None:
        return None


# dagster-dbt gives every invocation its own target folder, `<op>-<run id[:7]>-<uuid[:7]>` (or just
# `<uuid[:7]>`), 3-7 MB each (no manifest: dbt_node_results.py); dbt's own files (partial_parse.msgpack
# ...) sit beside.
_INVOCATION_DIR = re.compile(r"^(?:\w+-[0-9a-f]{7}-)?[0-9a-f-]{7}$")


def prune_target_dirs(target_dir: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest per-invocation folders of dbt's target folder."""
    if not target_dir.is_dir():
        return []
    runs = [p for p in target_dir.iterdir() if p.is_dir() and not p.is_symlink() and _INVOCATION_DIR.match(p.name)]
    runs.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    stale = runs[max(keep, 0) :]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


# What the manifest is parsed from: a file here newer than the manifest makes it stale.
PROJECT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests")


def manifest_is_stale(manifest_path: Path) -> bool:
    """Whether a project file changed since the manifest was written (e.g. after a `git pull`): the
    assets built from a stale manifest would not match the project dbt builds."""
    if not manifest_path.exists():
        return True
    written = manifest_path.stat().st_mtime
    for name in PROJECT_SOURCES:
        path = DBT_PROJECT_DIR / name
        files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        if any(f.is_file() and f.stat().st_mtime > written for f in files):
            return True
    return False


def ensure_manifest(*, force: bool = False) -> Path:
    """Run `dbt parse` when the manifest is missing (a fresh clone), older than a project file, or
    `force` is set.

    `dagster dev` re-parses by itself (prepare_if_dev); scripts and tests call this first. One process
    checks and parses at a time: two that found the manifest stale at once (pytest's workers after a
    model changed) both parsed and wrote `manifest.json` together, and readers found it torn.
    """
    manifest_path = get_dbt_project().manifest_path
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest_path.parent / "parse.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or manifest_is_stale(manifest_path):
            _parse()
    return manifest_path


def _parse() -> None:
    """`dbt parse` of the project, writing target/manifest.json (under ensure_manifest's lock)."""
    command = [
        dbt_executable(),
        "parse",
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        # The vars of a build of the configured warehouse: dbt keeps a parse only for the vars and
        # profile it was made with, so the first build starts from this one (keep_partial_parse).
        "--vars",
        json.dumps(build_vars(dbt_path_of(settings.warehouse_path()), None, settings.engine())),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"`dbt parse` failed:\n{completed.stdout}\n{completed.stderr}")


class WarehouseTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # Models and seeds are keyed by their (unique) name, e.g. AssetKey(["kpi_monthly"]);
        # sources keep the key their `meta.dagster.asset_key` gives them (the ingestion assets).
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return GROUP

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetCheckSpec | None:
        # dbt's build is the gate of dbt's tests: an error-severity failure fails the build, which
        # stops the run before anything downstream starts. So no check is blocking in Dagster too:
        # an incremental build leaves tests out (build_scope.py), and a blocking check without a
        # result is a warning on the terminal for each of them, every run.
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        return spec._replace(blocking=False) if spec is not None else None


TRANSLATOR = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))


def build_vars(warehouse_path: str | Path, seeds_copy: Path | None, engine: str) -> dict[str, str]:
    """dbt vars of a pipeline build: the deployment's (reporting time zone), where dbt finds this
    run's warehouse (the path of `dbt_folders_of_this_run`) and seeds, and on DuckDB the table the
    incremental models read the previous build's watermark from (macros/incremental_scope.sql). The
    profile and dbt_project.yml read `csat_warehouse_path` and `csat_seed_path` before the
    environment variables a dbt command typed by hand uses, so the run passes them explicitly and
    never changes this process's environment."""
    seeds = seeds_copy if seeds_copy is not None else repo_root() / "seeds"
    found = {
        **dbt_vars(),
        "csat_warehouse_path": str(warehouse_path),
        "csat_seed_path": os.path.relpath(seeds, DBT_PROJECT_DIR),
    }
    if engine == "duckdb":
        found["csat_build_state"] = build_state.STATE_TABLE
    return found


def spark_invocation_vars(warehouse: WarehouseResource, raw_dir: Path) -> dict[str, str]:
    """dbt vars of a Spark build (profile `spark` in dbt_project/profiles.yml): Spark's folder (its
    warehouse and metastore), the raw export its on-run-start hook registers, the driver's heap."""
    return {
        "csat_spark_dir": str(Path(warehouse.spark_dir).resolve()),
        "csat_raw_parquet_dir": str(raw_dir),
        "csat_spark_driver_memory": warehouse.spark_driver_memory,
    }


@functools.cache
def build_warehouse_assets() -> dg.AssetsDefinition:
    """The dbt assets, from the manifest (parsed first when missing; `dagster dev` re-parses)."""
    project = get_dbt_project()
    project.prepare_if_dev()

    @dbt_assets(manifest=ensure_manifest(), project=project, dagster_dbt_translator=TRANSLATOR)
    def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
        with dbt_folders_of_this_run(warehouse.path) as warehouse_link:
            yield from build_models(context, dbt, warehouse, warehouse_link)

    return warehouse_models


UNCHANGED_WHY = "no row delivered since the previous build reaches it, nor a month's end that it reads"


def unchanged_outputs(
    context: dg.AssetExecutionContext, left_out: Mapping[str, Mapping[str, Any]]
) -> Iterator[dg.Output]:
    """An output for each model and seed the build left out (build_scope.py): it holds what the
    previous build wrote, and the assets downstream of it (checks, publication) run on it; without
    an output Dagster would skip them. Its metadata says it was not rebuilt. A test left out gives no
    check result: it was not run."""
    output_names = {key: name for name, key in context.assets_def.keys_by_output_name.items()}
    for node in left_out.values():  # parents first
        key = TRANSLATOR.get_asset_key(node)
        if node["resource_type"] != "test" and key in output_names and key in context.selected_asset_keys:
            yield dg.Output(
                None,
                output_name=output_names[key],
                metadata={"rebuilt": False, "why": UNCHANGED_WHY},
            )


def build_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, warehouse_link: Path
) -> Iterator[Any]:
    """The body of the dbt assets: `dbt build` of the selected models, seeds and tests."""
    # dbt reads the seeds ingestion checked against: the deployment's seeds folder (deployment file or
    # CSAT_SEEDS_DIR), through a copy inside target/ (see deployment_seeds), relative to the project.
    seeds = deployment_seeds()
    dbt_vars = build_vars(warehouse_link, seeds, warehouse.engine)
    # dbt's unit tests check model logic on fixed inline rows, not this run's data: CI runs them
    # (tests/test_dbt_build.py, on Spark tests/test_spark_pipeline.py), a pipeline run does not.
    args = ["build", "--exclude-resource-type", "unit_test"]
    build, left_out = None, {}
    if warehouse.engine == "duckdb":  # incremental facts: what changed since the last build
        # No manifest written twice per build (dbt_node_results.py); Spark mode keeps dbt's files, as
        # it mounts the tables its build's own manifest lists (spark_tables below).
        args.append("--no-write-json")
        fingerprint = build_state.fingerprint(DBT_PROJECT_DIR, seeds or repo_root() / "seeds", dbt_vars)
        clock = datetime.now(UTC).replace(tzinfo=None)  # before dbt starts: at or before any model's clock
        with warehouse.connect(read_only=True) as con:
            build = build_state.plan(con, build_state.with_deliveries(con, fingerprint), clock)
        if build.full_refresh:
            args.append("--full-refresh")
            context.log.info("full refresh")
        else:
            manifest = json.loads(get_dbt_project().manifest_path.read_text(encoding="utf-8"))
            left_out_ids = build_scope.left_out_nodes(manifest, build.delivered, build.month_ended)
            left_out = {u: manifest["nodes"][u] for u in left_out_ids}
            args += build_scope.exclude_args(manifest, left_out)
            context.log.info(
                f"incremental: rows loaded after {build.changed_since} "
                f"(entities delivered since: {', '.join(sorted(build.delivered)) or 'none'}; "
                f"a month ended since the previous build: {'yes' if build.month_ended else 'no'}); "
                f"{len(left_out)} models, seeds and tests they do not reach left out"
            )
            if build_scope.builds_nothing(manifest, left_out):
                # Every model holds what a rebuild would write: dbt is not started (its start-up alone
                # is seconds). The state stays the previous build's: same watermark, same month.
                context.log.info("nothing to build: dbt not run")
                yield from unchanged_outputs(context, left_out)
                return
    if warehouse.engine == "spark":  # raw goes to Spark as Parquet first (dagster_project/spark/)
        with warehouse.connect(read_only=True) as con:
            raw_dir = export_raw(con, warehouse.spark_dir)
        context.log.info(f"raw layer exported for Spark: {raw_dir}")
        dbt_vars |= spark_invocation_vars(warehouse, raw_dir)
        args += ["--target", "spark"]
    try:
        invocation = dbt.cli([*args, "--vars", json.dumps(dbt_vars)], context=context)
        # Outputs in the graph's order (Dagster's rule): nothing left out is downstream of a rebuilt model.
        yield from unchanged_outputs(context, left_out)
        yield from stream_recording_results(invocation)
        keep_partial_parse(invocation.target_path, DBT_PROJECT_DIR / "target")
        if build is not None:  # only after a build that passed (the stream raises on a failure)
            with warehouse.connect() as con:
                build_state.record(con, build)
                if build.full_refresh:  # the build a changed project gets: a model may be gone
                    drop_left_behind(context, con)
        if warehouse.engine == "spark":  # only after a build that passed: the views read its files
            tables = spark_tables(Path(invocation.target_path) / "manifest.json", warehouse.spark_dir)
            with warehouse.connect() as con:
                mounted = mount_spark_tables(con, tables)
            context.log.info(f"{len(mounted)} Spark tables readable in the working DuckDB")
    finally:  # failed runs too: keep run artefacts bounded (this run's folder is the newest, so kept)
        prune_target_dirs(DBT_PROJECT_DIR / "target", keep=dbt_target_keep())


def drop_left_behind(context: dg.AssetExecutionContext, con: duckdb.DuckDBPyConnection) -> None:
    """Drop what models the project no longer has left in the warehouse (stale_relations.py). The
    build passed and its state is recorded: a relation that cannot be dropped is a warning, not a
    failed run."""
    manifest = json.loads(get_dbt_project().manifest_path.read_text(encoding="utf-8"))
    try:
        dropped = drop_stale_relations(con, manifest)
    except duckdb.Error as error:
        context.log.warning(f"relations no model builds any more were not dropped: {error}")
        return
    if dropped:
        context.log.info(f"dropped what no model builds any more: {', '.join(dropped)}")


def __getattr__(name: str):
    # `from dagster_project.assets.warehouse import dbt_project, warehouse_models`: built on that first use.
    if name == "dbt_project":
        return get_dbt_project()
    if name == "warehouse_models":
        return build_warehouse_assets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextlib.contextmanager
def dbt_folders_of_this_run(warehouse_path: str | Path) -> Iterator[Path]:
    """The warehouse as dbt sees it: `target/run_warehouse/<file name>`, the link pointing at the
    folder of this run's warehouse; held for the run's dbt step by a lock on the dbt project.

    dbt keeps its parse for the next command only while the vars and the profile's connection stay
    the same, and the warehouse path is in both: each warehouse file (every test, every deployment)
    made dbt parse the whole project again (16-26 s). Through the link the path is the same for every
    warehouse of that file name. The link is to the folder, not the file, so DuckDB's write-ahead log
    (`<path>.wal`) lands next to the warehouse itself. The lock keeps two runs from one checkout (on
    different warehouses: each warehouse has its own run lock) from repointing the link, or rewriting
    the deployment seeds' copy, under each other; the second waits."""
    target = DBT_PROJECT_DIR / "target"
    target.mkdir(parents=True, exist_ok=True)
    warehouse = Path(warehouse_path).resolve()
    seen = dbt_path_of(warehouse)
    with open(target / "run_warehouse.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        staged = target / f"run_warehouse.{os.getpid()}"
        staged.unlink(missing_ok=True)
        staged.symlink_to(warehouse.parent, target_is_directory=True)
        staged.replace(seen.parent)  # atomic: a symlink replaces a symlink
        yield seen


def dbt_path_of(warehouse_path: str | Path) -> Path:
    """Where dbt finds a warehouse file during its build: in the link `target/run_warehouse`."""
    return DBT_PROJECT_DIR / "target" / "run_warehouse" / Path(warehouse_path).name


def deployment_seeds() -> Path | None:
    """A copy of the deployment's seeds under target/ for this dbt run (None: the repo's seeds).

    The repo's seeds come first and the deployment's files replace them, so a folder holding only the
    seeds a company changed works as it does for ingestion. A copy inside dbt_project/ because dbt
    writes each seed test's SQL under target/<run>/compiled/<project>/<seed path>: a path far outside
    the project (`../../../../srv/seeds`) would climb out of target/ into the checkout, and an absolute
    one would make target/run/<seed path> the seed file itself."""
    from dagster_project.deployment import load_deployment

    seeds_dir = load_deployment().seeds_dir.resolve()
    repo_seeds = (repo_root() / "seeds").resolve()
    if seeds_dir == repo_seeds:
        return None
    # One fixed folder (one dbt step at a time: dbt_folders_of_this_run), so dbt's saved parse stays valid.
    copy = DBT_PROJECT_DIR / "target" / "deployment_seeds"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo_seeds, copy)
    shutil.copytree(seeds_dir, copy, dirs_exist_ok=True)
    return copy


def dbt_vars() -> dict[str, str]:
    """dbt vars from the deployment file: months are cut in its reporting time zone."""
    from dagster_project.deployment import load_deployment

    return {"reporting_time_zone": load_deployment().reporting_time_zone}


def keep_partial_parse(run_target: Path, target_dir: Path) -> bool:
    """Keep this build's parse state (`partial_parse.msgpack`) where the next build starts from.

    dagster-dbt gives every build its own target folder and seeds it with the project target's
    `partial_parse.msgpack`; dbt writes the state of this build's parse into the build's folder only.
    Without copying it back, the next build starts from the state of the last `dbt parse`, whose profile
    (the warehouse path) usually differs, and dbt parses the whole project again ("Unable to do partial
    parsing because profile has changed"). dbt itself checks the state against the project files, the
    profile and the environment variables it read, so a stale state is re-parsed, never trusted."""
    source = Path(run_target) / "partial_parse.msgpack"
    if not source.is_file():
        return False
    target_dir.mkdir(parents=True, exist_ok=True)
    temporary = target_dir / f".partial_parse.msgpack.{os.getpid()}"
    shutil.copyfile(source, temporary)
    temporary.replace(target_dir / "partial_parse.msgpack")  # atomic: a concurrent build reads old or new
    return True
