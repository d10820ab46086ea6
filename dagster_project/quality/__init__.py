"""The quality gate: expectation suites (expectations/*.yml) run with Great Expectations.

- `suites`: the suite file format, loading and the batch queries;
- `contract_suites`: the raw suites' rules generated from the source contract;
- `sql_checks`: expectations evaluated inside DuckDB;
- `validation`: running a suite, outcomes, Data Docs.

The Dagster side lives in `dagster_project.assets.quality` (the asset checks) and
`dagster_project.publication` (the gate in front of publication).
"""

from dagster_project.quality.suites import (
    BatchSpec,
    ExpectationSpec,
    SuiteFileError,
    SuiteSpec,
    expectations_dir,
    load_suite,
    load_suites,
    parse_suite,
)
from dagster_project.quality.validation import (
    ExpectationOutcome,
    SuiteOutcome,
    data_docs_dir,
    data_docs_index,
    validate_suite,
)

__all__ = [
    "BatchSpec",
    "ExpectationOutcome",
    "ExpectationSpec",
    "SuiteFileError",
    "SuiteOutcome",
    "SuiteSpec",
    "data_docs_dir",
    "data_docs_index",
    "expectations_dir",
    "load_suite",
    "load_suites",
    "parse_suite",
    "validate_suite",
]
