"""What an incremental dbt build leaves out: the nodes no row delivered since the previous build reaches.

An incremental build has the fingerprint of the previous successful one (build_state): the same SQL,
seeds and vars, read from raw tables of which only those of the entities delivered since have new
rows. A model none of those tables feeds (through any chain of refs) would be rebuilt into exactly
the rows it holds, and a test none of them feeds would read exactly the rows it passed on. So the
build leaves them out: a day that delivers survey files does not rebuild the customer, store and
employee dimensions, nor reload the seeds, and a run with nothing new delivered rebuilds only what
reads the build's clock, and that only when a month ended since the previous build (build_state.py);
otherwise it builds nothing and dbt is not started at all. Measured at 1M responses in
DECISIONLOG.md, "An incremental build rebuilds what the delivered rows reach".

Always built (the roots, with everything downstream of them):
- the raw tables of the entities delivered since the previous build;
- the raw tables ingestion rewrites on every delivery (those that are no entity's: which entities
  and columns were delivered, with their row counts and load times), whenever anything was delivered;
- models tagged `reads_build_time` (the build's clock, not the data, decides what they hold: which
  months have ended), when a month ended since the previous build's clock.

A test runs when any of its parents is rebuilt (a new fact's keys against an unchanged dimension);
a warning whose parents are all unchanged would warn as the previous build's did, and is left out
too. `exclude_args` says all this to dbt.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from dagster_project.contract import ENTITIES_BY_NAME

BUILD_TIME_TAG = "reads_build_time"
BUILT_TYPES = ("model", "seed", "snapshot", "test")  # what `dbt build` runs (unit tests are left out anyway)


def left_out_nodes(manifest: Mapping[str, Any], delivered: Iterable[str], month_ended: bool = True) -> list[str]:
    """The unique ids of the models, seeds and tests an incremental build that read the raw rows of
    the `delivered` entities leaves out (every node no root reaches), parents first. `month_ended`:
    whether a month ended since the previous build, which makes the models reading the clock roots."""
    delivered = set(delivered)
    roots = [
        unique_id
        for unique_id, source in manifest["sources"].items()
        if source["identifier"] in delivered or (delivered and source["identifier"] not in ENTITIES_BY_NAME)
    ]
    if month_ended:
        roots += [u for u, node in manifest["nodes"].items() if BUILD_TIME_TAG in node.get("tags", ())]
    reached, stack = set(), roots
    while stack:
        unique_id = stack.pop()
        if unique_id not in reached:
            reached.add(unique_id)
            stack.extend(manifest["child_map"].get(unique_id, ()))
    left_out = {
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in BUILT_TYPES and unique_id not in reached
    }
    return _parents_first(manifest, left_out)


def builds_nothing(manifest: Mapping[str, Any], left_out: Collection[str]) -> bool:
    """Whether leaving out `left_out` leaves nothing for `dbt build` to run."""
    out = set(left_out)
    return all(u in out for u, node in manifest["nodes"].items() if node["resource_type"] in BUILT_TYPES)


def exclude_args(manifest: Mapping[str, Any], left_out: Collection[str]) -> list[str]:
    """dbt's arguments that leave the `left_out` nodes out of a build.

    dbt's default (eager) indirect selection would also drop every test with one excluded parent,
    such as a new fact's keys against an unchanged dimension; cautious drops the tests whose parents
    are all excluded, and only those. So a left-out test is named only when dbt would not drop it
    by itself (it reads no node, or a parent of it is a source or is not left out): dbt matches
    each name against every node of the project, so every name costs time (DECISIONLOG.md, "An
    incremental build rebuilds what the delivered rows reach"). The names are one value, as
    dagster-dbt passes them on."""
    nodes = manifest["nodes"]

    def dropped_by_dbt(unique_id: str) -> bool:
        parents = nodes[unique_id]["depends_on"].get("nodes", ())  # a seed has none
        return nodes[unique_id]["resource_type"] == "test" and bool(parents) and all(p in left_out for p in parents)

    named = [u for u in left_out if not dropped_by_dbt(u)]
    if not named:
        return []
    return ["--exclude", " ".join(nodes[u]["name"] for u in named), "--indirect-selection", "cautious"]


def _parents_first(manifest: Mapping[str, Any], unique_ids: set[str]) -> list[str]:
    """`unique_ids` ordered so that each comes after those of its parents among them (Dagster takes
    a multi-asset's outputs only in that order); ties in name order."""
    ordered: list[str] = []
    placed: set[str] = set()

    def place(unique_id: str) -> None:
        if unique_id in placed:
            return
        placed.add(unique_id)
        parents = manifest["nodes"][unique_id]["depends_on"].get("nodes", ())  # a seed has none
        for parent in sorted(parents):
            if parent in unique_ids:
                place(parent)
        ordered.append(unique_id)

    for unique_id in sorted(unique_ids):
        place(unique_id)
    return ordered
