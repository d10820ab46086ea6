"""Run safety (issue 13, findings 1, 10 and 15): no fabricated data, one run at a time per warehouse,
dbt children that end with their parent, no stale temporaries or unbounded dbt target folders,
failure causes in one line each, and owner-only / read-only files."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import dagster as dg
import pytest

from dagster_project import cli, run_lock
from dagster_project.assets.warehouse import dbt_executable, prune_target_dirs
from dagster_project.contract import SURVEY_RESPONSES
from dagster_project.ingestion.loader import ingest_files
from dagster_project.ingestion.warehouse import connect
from dagster_project.publication.published_copy import DATABASE_FILE, PARQUET_DIR, publish_marts
from dagster_project.rebuild import deliveries_missing_from_landing, rebuild_working_warehouse
from dagster_project.resources import WarehouseResource
from dagster_project.run_summary import failure_lines, skipped_steps

from deliveries import entity_folder, survey_response, write_csv


def tree_digest(*roots: Path) -> dict[str, str]:
    """Every file under the roots with the sha256 of its bytes (what "byte-for-byte unchanged" means).
    The warehouse's run lock file is left out: it stays (empty) once a run has taken the lock."""
    digest = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file() and path.suffix != ".lock":
                digest[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def deliver(landing: Path, name: str, *ids: str) -> Path:
    rows = [survey_response(i) for i in ids]
    return write_csv(entity_folder(landing, SURVEY_RESPONSES) / name, rows, SURVEY_RESPONSES.column_names)


@pytest.fixture
def installed(tmp_path, monkeypatch) -> dict[str, Path]:
    """A warehouse that loaded two deliveries and a published copy, as a real installation has."""
    landing = tmp_path / "landing"
    deliver(landing, "2025-01.csv", "R1", "R2")
    deliver(landing, "2025-02.csv", "R3")
    warehouse = tmp_path / "warehouse" / "csat.duckdb"
    with connect(warehouse) as con:
        ingest_files(con, SURVEY_RESPONSES, [(p, None) for p in sorted(landing.rglob("*.csv"))])
        con.execute("create schema if not exists marts")
        con.execute("create table marts.kpi_monthly as select 'nps' as kpi, 12.4 as value")
    published = tmp_path / "published"
    publish_marts(warehouse, published, marts=["kpi_monthly"], run_id="run-0")
    for name, path in {"CSAT_PUBLISHED_DIR": published, "CSAT_QUALITY_DIR": tmp_path / "quality"}.items():
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("CSAT_REPORTS_DIR", str(tmp_path / "reports"))
    return {"landing": landing, "warehouse": warehouse, "published": published, "root": tmp_path}


# --- 1. no fabricated data ----------------------------------------------------------------------


@pytest.mark.parametrize("landing_name", ["landnig", "empty"])
def test_run_on_a_missing_or_empty_landing_folder_fails_and_changes_nothing(installed, landing_name, capsys):
    landing = installed["root"] / landing_name
    if landing_name == "empty":
        (landing / "survey" / "survey_responses").mkdir(parents=True)
    before = tree_digest(installed["root"])
    for rebuild in ([], ["--rebuild"]):
        code = cli.main(["run", "--landing", str(landing), "--warehouse", str(installed["warehouse"]), *rebuild])
        err = capsys.readouterr().err
        assert code != 0
        assert str(landing) in err and ("does not exist" in err or "holds no deliveries" in err)
        assert "csat generate" in err and "Nothing was changed" in err
    assert tree_digest(installed["root"]) == before, "warehouse, publication or landing changed"
    assert not any(landing.rglob("*.*")), "no sample data was generated"


def test_run_has_no_option_that_generates_data():
    for options in (["--responses", "100"], ["--seed", "1"], ["--force"]):  # --force needs --rebuild
        with pytest.raises(SystemExit):
            cli.main(["run", *options])


def run_main_command(tmp_path: Path, landing_files: list[str]) -> list[str]:
    """scripts/run_pipeline.sh with a stand-in `_venv.sh` whose `csat` records its arguments."""
    scripts = tmp_path / "repo" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy(Path(__file__).parent.parent / "scripts" / "run_pipeline.sh", scripts)
    log = tmp_path / "calls.log"
    (scripts / "_venv.sh").write_text(
        f'cd "{scripts.parent}"\ncsat() {{ echo "csat $*" >> "{log}"; }}\n'  # the real one cds to the root too
    )
    for name in landing_files:
        (scripts.parent / name).parent.mkdir(parents=True, exist_ok=True)
        (scripts.parent / name).write_text("x")
    env = {k: v for k, v in os.environ.items() if k != "CSAT_LANDING_DIR"}
    subprocess.run(["bash", str(scripts / "run_pipeline.sh"), "--rebuild"], check=True, env=env)
    return log.read_text().splitlines()


def test_readme_main_command_generates_sample_data_explicitly_only_when_landing_is_empty(tmp_path):
    assert run_main_command(tmp_path / "fresh", []) == ["csat generate --landing data/landing", "csat run --rebuild"]
    assert run_main_command(tmp_path / "upload", ["data/landing/survey/survey_responses/_partial.csv"])[0] == (
        "csat generate --landing data/landing"
    )
    delivered = ["data/landing/survey/survey_responses/2026-10.csv"]
    assert run_main_command(tmp_path / "real", delivered) == ["csat run --rebuild"]


def test_rebuild_refuses_a_landing_folder_missing_loaded_files(installed, capsys):
    (entity_folder(installed["landing"], SURVEY_RESPONSES) / "2025-01.csv").unlink()
    before = tree_digest(installed["root"])
    code = cli.main(
        ["run", "--rebuild", "--landing", str(installed["landing"]), "--warehouse", str(installed["warehouse"])]
    )
    err = capsys.readouterr().err
    assert code != 0
    assert "--rebuild refused" in err and "2025-01.csv" in err and "(2 rows)" in err and "--force" in err
    assert "2025-02.csv" not in err
    assert tree_digest(installed["root"]) == before
    [lost] = deliveries_missing_from_landing(installed["warehouse"], installed["landing"])
    assert (lost.entity, Path(lost.source_file).name, lost.rows_loaded) == ("survey_responses", "2025-01.csv", 2)


def test_rebuild_check_matches_files_of_a_moved_landing_folder(installed):
    moved = installed["root"] / "moved"
    installed["landing"].rename(moved)
    assert deliveries_missing_from_landing(installed["warehouse"], moved) == []


def test_rebuild_check_knows_files_read_from_an_archive_or_another_entity_s_folder(tmp_path):
    """A file of a zip archive is recorded as `<archive>.zip/<file>`, a sheet of a workbook read by
    sheet as `<workbook>.xlsx/<sheet>`, and an entity whose mapping reads another's folder
    (`files_of`) records that folder's files: all are in the landing folder."""
    landing = tmp_path / "landing"
    export = deliver(landing, "2025-03.csv", "R1", "R2")
    with zipfile.ZipFile(export.with_suffix(".zip"), "w") as archive:
        archive.write(export, "export/2025-03.csv")
    export.unlink()
    warehouse = tmp_path / "warehouse" / "csat.duckdb"
    with connect(warehouse) as con:
        ingest_files(con, SURVEY_RESPONSES, [(export.with_suffix(".zip"), None)])
        # what the item scores record when their mapping reads the responses' folder
        con.execute(
            "insert into raw.load_manifest (entity, source_file, file_sha256, file_format, rows_delivered,"
            " rows_loaded, rows_rejected, loaded_at) values ('survey_item_scores', ?, 'x', 'csv', 1, 1, 0, now())",
            [f"{export.with_suffix('.zip')}/export/2025-03.csv"],
        )
        # a sheet of a workbook whose mapping names several (`sheet: 2025-*`)
        con.execute(
            "insert into raw.load_manifest (entity, source_file, file_sha256, file_format, rows_delivered,"
            " rows_loaded, rows_rejected, loaded_at) values ('survey_responses', ?, 'y', 'xlsx', 3, 3, 0, now())",
            [str(entity_folder(landing, SURVEY_RESPONSES) / "log.xlsx" / "2025-04")],
        )
    (entity_folder(landing, SURVEY_RESPONSES) / "log.xlsx").write_bytes(b"a workbook")

    moved = tmp_path / "moved"
    landing.rename(moved)
    assert deliveries_missing_from_landing(warehouse, moved) == []
    (entity_folder(moved, SURVEY_RESPONSES) / "2025-03.zip").unlink()
    lost = deliveries_missing_from_landing(warehouse, moved)
    assert [(d.entity, d.rows_loaded) for d in lost] == [("survey_item_scores", 1), ("survey_responses", 2)]
    (entity_folder(moved, SURVEY_RESPONSES) / "log.xlsx").unlink()
    assert len(deliveries_missing_from_landing(warehouse, moved)) == 3


# --- 3. run safety ------------------------------------------------------------------------------

HOLD = textwrap.dedent(
    """
    import sys, time
    from dagster_project import run_lock
    run_lock.acquire(sys.argv[1])
    print("locked", flush=True)
    time.sleep(60)
    """
)


def hold_lock(warehouse: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_run_on_the_same_warehouse_stops_with_a_clear_message(installed, capsys):
    holder = hold_lock(installed["warehouse"])
    try:
        busy = rf"another run is in progress .*\(pid {holder.pid}, since "
        with pytest.raises(run_lock.RunInProgressError, match=busy):
            run_lock.acquire(installed["warehouse"])
        before = tree_digest(installed["root"])
        code = cli.main(["run", "--landing", str(installed["landing"]), "--warehouse", str(installed["warehouse"])])
        assert code != 0
        assert f"another run is in progress on {installed['warehouse']} (pid {holder.pid}, since 20" in (
            capsys.readouterr().err
        )
        assert tree_digest(installed["root"]) == before
        # A Dagster run (UI, schedule) holds the same lock through its warehouse resource.
        result = dg.materialize(
            [touch_warehouse],
            resources={"warehouse": WarehouseResource(path=str(installed["warehouse"]))},
            raise_on_error=False,
        )
        assert not result.success
    finally:
        holder.kill()
        holder.wait()


@dg.asset
def touch_warehouse(warehouse: WarehouseResource) -> None:
    with warehouse.connect() as con:
        con.execute("select 1")


def test_the_lock_of_a_killed_run_is_taken_over(installed):
    holder = hold_lock(installed["warehouse"])
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with run_lock.run_lock(installed["warehouse"]) as note:
        assert note is not None and f"pid {holder.pid}" in note
        with run_lock.run_lock(installed["warehouse"]) as again:  # re-entrant within one process
            assert again is None
    assert run_lock.acquire(installed["warehouse"]) is None  # released cleanly: nothing to take over
    run_lock.release(installed["warehouse"])


def test_a_dagster_run_takes_and_releases_the_lock(installed):
    resources = {"warehouse": WarehouseResource(path=str(installed["warehouse"]))}
    assert dg.materialize([touch_warehouse], resources=resources).success
    holder = hold_lock(installed["warehouse"])  # free again after the run
    holder.kill()
    holder.wait()


ORPHAN = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a host that ignores SIGTERM: its children inherit that
    child = subprocess.Popen([sys.executable, "-c",
        "import os; from dagster_project.dbt_child import end_with_this_parent; "
        "end_with_this_parent(); os.execv('/bin/sleep', ['/bin/sleep', '120'])"])
    print(child.pid, flush=True)
    time.sleep(120)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_dbt_child_ends_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 30  # until the child has exec'd sleep (slow on a loaded machine)
    while not Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"/bin/sleep") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"/bin/sleep")
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        status = Path(f"/proc/{child}/status").read_text() if Path(f"/proc/{child}").exists() else ""
        if "State:\tZ" in status:  # ended, waiting for init to reap it
            break
        time.sleep(0.1)
    alive = Path(f"/proc/{child}").exists() and "State:\tZ" not in Path(f"/proc/{child}/status").read_text()
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the child outlived its killed parent"


@pytest.mark.pipeline  # starts dbt
def test_dbt_runs_through_the_wrapper():
    assert Path(dbt_executable()).name == "csat-dbt"
    done = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "installed" in done.stdout


def test_stale_temporary_publication_files_are_removed_at_the_next_publication(installed):
    published = installed["published"]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale_db = published / f".{DATABASE_FILE}.run-9-{dead.pid}.tmp"
    stale_db.write_bytes(b"x" * 1000)
    stale_parquet = published / PARQUET_DIR / f".tmp-run-9-{dead.pid}"
    stale_parquet.mkdir()
    (stale_parquet / "kpi_monthly.parquet").write_bytes(b"x")
    live = published / f".{DATABASE_FILE}.run-8-{os.getppid()}.tmp"  # a publication still running
    live.write_bytes(b"x")
    publish_marts(installed["warehouse"], published, marts=["kpi_monthly"], run_id="run-1")
    assert not stale_db.exists() and not stale_parquet.exists()
    assert live.exists()


def test_dbt_target_folders_are_pruned(tmp_path):
    target = tmp_path / "target"
    names = [f"warehouse_models-{i:07x}-abc{i:04x}" for i in range(8)] + ["1a2b3c4"]
    for age, name in enumerate(names):
        (target / name).mkdir(parents=True)
        os.utime(target / name, (1_000_000 + age, 1_000_000 + age))
    (target / "compiled").mkdir()
    (target / "manifest.json").write_text("{}")
    removed = prune_target_dirs(target, keep=3)
    assert len(removed) == 6
    assert sorted(p.name for p in target.iterdir()) == sorted(["compiled", "manifest.json", *names[-3:]])


@dg.asset
def raw__survey_responses() -> None:
    from dagster_project.ingestion.loader import IngestionError

    raise IngestionError(
        "2 file(s) of survey_responses were not loaded:\n"
        "- /landing/survey/survey_responses/a.csv: missing columns submitted_at\n"
        "- /landing/survey/survey_responses/b.csv.gz: not a gzip file"
    )


@dg.asset
def kpi_monthly() -> None:
    pass


@dg.asset_check(asset=kpi_monthly, blocking=True)
def great_expectations() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.ERROR, description="1 of 12 expectations failed: nps in 0..100"
    )


def test_cli_names_the_cause_of_each_failure_in_one_line():
    result = dg.materialize([raw__survey_responses, kpi_monthly, great_expectations], raise_on_error=False)
    lines = failure_lines(result)
    assert "check kpi_monthly:great_expectations: 1 of 12 expectations failed: nps in 0..100" in lines
    assert "raw__survey_responses: /landing/survey/survey_responses/a.csv: missing columns submitted_at" in lines
    assert "raw__survey_responses: /landing/survey/survey_responses/b.csv.gz: not a gzip file" in lines
    assert all("\n" not in line and "Error occurred while" not in line for line in lines)


@dg.multi_asset(outs={"dim_store": dg.AssetOut(is_required=False), "dim_date": dg.AssetOut(is_required=False)})
def models_with_a_lost_output():
    yield dg.Output(None, output_name="dim_store")  # e.g. dbt's event for dim_date was not parsed


@dg.asset(deps=["dim_store", "dim_date"])
def published_warehouse() -> None:
    pass


def test_a_run_that_skipped_publication_is_not_a_success_for_the_cli():
    result = dg.materialize([models_with_a_lost_output, published_warehouse], raise_on_error=False)
    assert result.success  # Dagster's view: nothing failed
    assert skipped_steps(result) == ["published_warehouse"]
    assert failure_lines(result) == ["skipped (what they need was not produced): published_warehouse"]
    complete = dg.materialize([kpi_monthly])
    assert skipped_steps(complete) == []


# --- 7. file permissions ------------------------------------------------------------------------


def test_published_files_are_read_only(installed):
    published = installed["published"]
    files = [published / DATABASE_FILE, *(published / PARQUET_DIR).iterdir()]
    assert len(files) == 3
    assert all(not os.stat(f).st_mode & 0o222 for f in files), [oct(os.stat(f).st_mode) for f in files]


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_working_warehouse_and_previous_are_owner_only(tmp_path, umask):
    old = os.umask(umask)
    try:
        warehouse = tmp_path / "warehouse" / "csat.duckdb"
        result = dg.materialize([touch_warehouse], resources={"warehouse": WarehouseResource(path=str(warehouse))})
        assert result.success
        assert os.stat(warehouse.parent).st_mode & 0o777 == 0o700
        assert os.stat(warehouse).st_mode & 0o777 == 0o600
        previous = rebuild_working_warehouse(warehouse)
        assert os.stat(previous).st_mode & 0o777 == 0o600
        assert os.stat(warehouse).st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_a_shared_folder_is_not_tightened(tmp_path):
    (tmp_path / "notes.txt").write_text("not the warehouse's")
    os.chmod(tmp_path, 0o755)
    with run_lock.run_lock(tmp_path / "csat.duckdb"):
        pass
    assert os.stat(tmp_path).st_mode & 0o777 == 0o755
