"""Ingestion benchmark: rows per second and peak memory per entity at a given scale.

    python bench/bench_ingestion.py --responses 1000000

Generates sample data once per scale under bench/data/ (reused on the next run), then loads each
entity into a fresh warehouse in its own process (so peak memory is that entity's alone), and
prints a Markdown table; a copy goes to bench/results/. As a yardstick it also times DuckDB alone
reading the survey_responses files into a table (no validation).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import secrets
import shutil
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def _peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: a spawned child inherits the
    parent's maximum across fork/exec, which would report the generator's memory for every entity."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_entity(entity_name: str, landing: str, warehouse: str, queue) -> None:
    from dagster_project.contract import entity
    from dagster_project.ingestion.loader import allowed_values_from_seeds, ingest_landing_entity
    from dagster_project.ingestion.warehouse import connect
    from dagster_project.settings import repo_root

    allowed = allowed_values_from_seeds(repo_root() / "seeds").get(entity_name)
    con = connect(warehouse)
    started = time.perf_counter()
    report = ingest_landing_entity(con, entity(entity_name), Path(landing), allowed=allowed)
    seconds = time.perf_counter() - started
    con.close()
    peak_mb = _peak_memory_mb()
    queue.put(
        {
            "entity": entity_name,
            "files": len(report.files),
            "rows": report.total("delivered"),
            "rejected": report.total("rejected"),
            "errors": report.errors,
            "seconds": seconds,
            "peak_mb": peak_mb,
        }
    )


def _duckdb_alone(landing: Path, queue) -> None:
    import duckdb

    files = sorted(str(p) for p in (landing / "survey" / "survey_responses").glob("*.csv"))
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(f"create table t as select * from read_csv({files!r}, header = true, all_varchar = true)")
    rows = con.execute("select count(*) from t").fetchone()[0]
    queue.put({"rows": rows, "seconds": time.perf_counter() - started})


def _in_subprocess(target, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    # Customers are pseudonymised with a key (dagster_project/privacy): a throwaway one for generated data.
    os.environ.setdefault("CSAT_PSEUDONYM_KEY", secrets.token_hex(32))

    from csat_sample_data import generate_sample_data
    from dagster_project.contract import ENTITIES

    landing = BENCH_DIR / "data" / f"responses_{args.responses}" / "landing"
    if args.regenerate and landing.exists():
        shutil.rmtree(landing)
    if not (landing / "_generator_summary.json").exists():
        started = time.perf_counter()
        generate_sample_data(landing, seed=args.seed, responses=args.responses)
        print(f"generated sample data in {time.perf_counter() - started:.1f} s")
    summary = json.loads((landing / "_generator_summary.json").read_text())
    size_mb = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 1e6

    workdir = BENCH_DIR / "data" / f"responses_{args.responses}" / "warehouses"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    results = []
    for e in ENTITIES:
        result = _in_subprocess(_load_entity, e.name, str(landing), str(workdir / f"{e.name}.duckdb"))
        results.append(result)
        print(f"{e.name}: {result['rows']:,} rows in {result['seconds']:.2f} s")
    yardstick = _in_subprocess(_duckdb_alone, landing)

    lines = [
        f"Scale: {args.responses:,} survey responses ({size_mb:,.0f} MB of landing files); "
        f"{platform.processor() or platform.machine()}, {mp.cpu_count()} cores.",
        "",
        "| entity | files | rows | seconds | rows/s | peak memory (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0
        lines.append(
            f"| {r['entity']} | {r['files']} | {r['rows']:,} | {r['seconds']:.2f} | {rate:,.0f} | {r['peak_mb']:,.0f} |"
        )
    total_rows = sum(r["rows"] for r in results)
    total_seconds = sum(r["seconds"] for r in results)
    lines.append(f"| **all** | | {total_rows:,} | {total_seconds:.2f} | {total_rows / total_seconds:,.0f} | |")
    lines += [
        "",
        f"DuckDB alone, survey_responses CSV -> table, no validation: {yardstick['rows']:,} rows in "
        f"{yardstick['seconds']:.2f} s.",
    ]
    failed = [r for r in results if r["errors"] or r["rejected"] or r["rows"] != summary["delivered"][r["entity"]]]
    if failed:
        lines.append(f"WARNING: rejects, errors or rows not matching the generator in {[r['entity'] for r in failed]}")
    report = "\n".join(lines)
    print("\n" + report)
    out = BENCH_DIR / "results" / f"ingestion_{args.responses}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report + "\n")


if __name__ == "__main__":
    main()
