"""Expectation suites as versioned YAML files in `expectations/`, and the batches they validate.

One file per raw entity and per published mart. A file names the Dagster asset it guards and holds
one or more *batches*: a DuckDB query over the warehouse (just the columns the expectations need)
whose rows the expectations are evaluated on, inside DuckDB (`sql_checks`). Every expectation has a
`severity`: `error` blocks everything downstream, `warning` is reported without blocking.

    suite: raw.orders                       # name (also the GX suite name prefix)
    asset: raw/orders                       # asset key path; marts use the dbt model name
    additional_deps: [raw/customers]        # assets the queries read besides `asset`
    description: ...
    batches:
      - name: rows
        table: raw.orders                   # either `table` (+ optional `derived`) or `query`
        key: [order_id]                     # shown next to failing values
        derived:                            # extra columns: name -> SQL expression over the table
          customer_in_crm: "customer_id in (select customer_id from raw.customers)"
        expectations:
          - type: expect_column_values_to_be_in_set
            kwargs: {column: customer_in_crm, value_set: [true], mostly: 0.95}
            severity: error
            notes: why this rule exists

Queries may use the parameters `$run_started_at` (UTC start of the Dagster run, or of the check when
run outside a run) and `$now` (UTC now); expectation kwargs may use `{"$PARAMETER": "now"}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_project import yaml_files
from dagster_project.settings import repo_root

SEVERITIES = ("error", "warning")
# Expectation kwargs that name a column of the batch.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)
_QUERY_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
QUERY_PARAMETERS = ("run_started_at", "now")


class SuiteFileError(ValueError):
    """An expectation suite file that cannot be used (bad YAML, unknown keys, missing fields)."""


def expectations_dir() -> Path:
    return repo_root() / "expectations"


@dataclass(frozen=True)
class ExpectationSpec:
    type: str
    kwargs: dict[str, Any]
    severity: str
    notes: str = ""
    # (seed file, columns): the allowed values are the seed's (generated contract expectations only)
    seed: tuple[str, tuple[str, ...]] | None = None

    @property
    def columns(self) -> list[str]:
        names = [self.kwargs[k] for k in _COLUMN_KWARGS if isinstance(self.kwargs.get(k), str)]
        for k in _COLUMN_LIST_KWARGS:
            names += list(self.kwargs.get(k) or [])
        return names

    @property
    def label(self) -> str:
        cols = ", ".join(self.columns)
        return f"{self.type}({cols})" if cols else self.type


@dataclass(frozen=True)
class BatchSpec:
    name: str
    expectations: tuple[ExpectationSpec, ...]
    table: str | None = None
    query: str | None = None
    key: tuple[str, ...] = ()
    derived: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def sql(self) -> str:
        """The DuckDB query whose result is the batch."""
        if self.query is not None:
            return self.query
        wanted: list[str] = []
        for name in [*self.key, *(c for e in self.expectations for c in e.columns)]:
            if name not in wanted and name not in self.derived:
                wanted.append(name)
        selected = [f'"{c}"' for c in wanted]
        selected += [f'({expr}) as "{name}"' for name, expr in self.derived.items()]
        if not selected:  # table-level expectations only (row count): one cheap column
            selected = ["1 as _row"]
        return f"select {', '.join(selected)} from {self.table}"

    def parameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """The query parameters this batch's SQL uses, taken from `values`."""
        used = set(_QUERY_PARAMETER.findall(self.sql()))
        return {k: v for k, v in values.items() if k in used}


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    asset: tuple[str, ...]
    batches: tuple[BatchSpec, ...]
    description: str = ""
    additional_deps: tuple[tuple[str, ...], ...] = ()
    path: Path | None = None

    @property
    def is_raw(self) -> bool:
        return len(self.asset) == 2 and self.asset[0] == "raw"

    @property
    def expectations(self) -> list[ExpectationSpec]:
        return [e for b in self.batches for e in b.expectations]


def _asset_path(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) and value.strip():
        return tuple(value.strip().split("/"))
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SuiteFileError(f"{where}: an asset must be a 'a/b' string or a list of strings, got {value!r}")


def _expectation(raw: Any, where: str) -> ExpectationSpec:
    if not isinstance(raw, dict):
        raise SuiteFileError(f"{where}: an expectation must be a mapping, got {raw!r}")
    unknown = set(raw) - {"type", "kwargs", "severity", "notes"}
    if unknown:
        raise SuiteFileError(f"{where}: unknown keys {sorted(unknown)} (allowed: type, kwargs, severity, notes)")
    etype = raw.get("type")
    if not isinstance(etype, str) or not etype.startswith("expect_"):
        raise SuiteFileError(f"{where}: `type` must name a Great Expectations expectation, got {etype!r}")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        raise SuiteFileError(f"{where} ({etype}): `severity` must be one of {SEVERITIES}, got {severity!r}")
    kwargs = raw.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise SuiteFileError(f"{where} ({etype}): `kwargs` must be a mapping")
    return ExpectationSpec(type=etype, kwargs=dict(kwargs), severity=severity, notes=str(raw.get("notes") or ""))


def _batch(raw: Any, where: str) -> BatchSpec:
    if not isinstance(raw, dict):
        raise SuiteFileError(f"{where}: a batch must be a mapping")
    unknown = set(raw) - {"name", "table", "query", "key", "derived", "expectations", "description"}
    if unknown:
        raise SuiteFileError(f"{where}: unknown keys {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
        raise SuiteFileError(f"{where}: batch `name` must be lower_snake_case, got {name!r}")
    where = f"{where} batch {name!r}"
    if (raw.get("table") is None) == (raw.get("query") is None):
        raise SuiteFileError(f"{where}: give exactly one of `table` or `query`")
    if raw.get("query") is not None and raw.get("derived"):
        raise SuiteFileError(f"{where}: `derived` columns go with `table`; write them into the `query`")
    expectations = raw.get("expectations") or []
    if not expectations:
        raise SuiteFileError(f"{where}: no expectations")
    return BatchSpec(
        name=name,
        table=raw.get("table"),
        query=raw.get("query"),
        key=tuple(raw.get("key") or ()),
        derived=dict(raw.get("derived") or {}),
        description=str(raw.get("description") or ""),
        expectations=tuple(_expectation(e, f"{where} expectation {i + 1}") for i, e in enumerate(expectations)),
    )


def parse_suite(data: Any, *, path: Path | None = None) -> SuiteSpec:
    where = str(path) if path else "suite"
    if not isinstance(data, dict):
        raise SuiteFileError(f"{where}: expected a mapping at the top level")
    unknown = set(data) - {"suite", "asset", "description", "additional_deps", "batches"}
    if unknown:
        raise SuiteFileError(f"{where}: unknown keys {sorted(unknown)}")
    name = data.get("suite")
    if not isinstance(name, str) or not name:
        raise SuiteFileError(f"{where}: `suite` (the suite name) is required")
    batches = tuple(_batch(b, where) for b in data.get("batches") or [])
    if not batches:
        raise SuiteFileError(f"{where}: no batches")
    names = [b.name for b in batches]
    if len(set(names)) != len(names):
        raise SuiteFileError(f"{where}: batch names must be unique, got {names}")
    return SuiteSpec(
        name=name,
        asset=_asset_path(data.get("asset"), where),
        batches=batches,
        description=str(data.get("description") or ""),
        additional_deps=tuple(_asset_path(d, where) for d in data.get("additional_deps") or ()),
        path=path,
    )


def load_suite(path: Path) -> SuiteSpec:
    try:
        data = yaml_files.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml_files.YAMLError as error:
        raise SuiteFileError(f"{path}: not valid YAML: {error}") from error
    return parse_suite(data, path=Path(path))


def load_suites(directory: Path | None = None) -> list[SuiteSpec]:
    """Every `*.yml` suite in `directory` (default: the repo's `expectations/`), by file name; a
    raw suite with its contract batches (`schema`, `contract`) generated first."""
    from dagster_project.quality.contract_suites import with_contract_batches

    directory = Path(directory or expectations_dir())
    # Raw suites get the contract's rules generated from dagster_project/contract.py (contract_suites).
    suites = [with_contract_batches(load_suite(p)) for p in sorted(directory.glob("*.yml"))]
    seen: dict[str, Path | None] = {}
    for s in suites:
        if s.name in seen:
            raise SuiteFileError(f"suite {s.name!r} is defined twice: {seen[s.name]} and {s.path}")
        seen[s.name] = s.path
    return suites
