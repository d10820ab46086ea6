"""Quality gate: every expectation suite in `expectations/` as a blocking Dagster asset check.

Raw suites check `raw/<entity>` right after ingestion (before dbt reads it); mart suites check the
dbt marts before publication. An error-severity failure returns severity ERROR, which stops every
asset downstream in the run (blocking check); warnings return severity WARN (shown, not blocking).
The result carries the failing expectations, observed values and sample failing rows, and each
check rebuilds the Great Expectations Data Docs (`<quality>/data_docs/index.html`).
"""

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import dagster as dg

from dagster_project.quality import SuiteOutcome, SuiteSpec, load_suites
from dagster_project.quality.delivery import GatePlan, plan_suite
from dagster_project.quality.validation import validate_suite
from dagster_project.resources import QualityResource, WarehouseResource

CHECK_NAME = "great_expectations"


def dbt_model_keys() -> dict[str, dg.AssetKey]:
    """dbt model name -> its asset key, from the warehouse's dbt assets. A dbt project that cannot be
    parsed is an error here as everywhere else (the definitions need it anyway)."""
    from dagster_project.assets.warehouse import build_warehouse_assets

    return {key.path[-1]: key for key in build_warehouse_assets().keys}


def suite_asset_key(suite: SuiteSpec, model_keys: Mapping[str, dg.AssetKey] | None = None) -> dg.AssetKey:
    """The asset a suite guards: `raw/<entity>` as is; a mart by its dbt model name."""
    if not suite.is_raw and len(suite.asset) == 1 and model_keys and suite.asset[0] in model_keys:
        return model_keys[suite.asset[0]]
    return dg.AssetKey(list(suite.asset))


def check_key(suite: SuiteSpec, model_keys: Mapping[str, dg.AssetKey] | None = None) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(suite_asset_key(suite, model_keys), CHECK_NAME)


def _run_started_at(context: dg.AssetCheckExecutionContext) -> datetime | None:
    try:
        record = context.instance.get_run_record_by_id(context.run.run_id)
    except Exception:  # noqa: BLE001 - scoping to the run is a refinement, never a reason to fail
        return None
    if record is None or record.start_time is None:
        return None
    return datetime.fromtimestamp(record.start_time, tz=UTC).replace(tzinfo=None)


def _delivery_metadata(plan: GatePlan) -> dict[str, dg.MetadataValue]:
    metadata = {"delivery_status": dg.MetadataValue.text(plan.status)}
    if plan.reason:
        metadata["delivery_reason"] = dg.MetadataValue.text(plan.reason)
    if plan.not_delivered:
        metadata["not_delivered"] = dg.MetadataValue.json(list(plan.not_delivered))
    if plan.skipped_expectations:
        metadata["skipped_expectations"] = dg.MetadataValue.json(list(plan.skipped_expectations))
    return metadata


def skipped_result(plan: GatePlan, suite: SuiteSpec) -> dg.AssetCheckResult:
    """A suite not run because its data was not delivered: never blocking; a warning when the
    deployment file declares the entity (an expected source is missing)."""
    metadata = _delivery_metadata(plan)
    if suite.path:
        metadata["suite_file"] = dg.MetadataValue.path(str(suite.path))
    return dg.AssetCheckResult(
        passed=not plan.warn,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{suite.name}: skipped: {plan.reason}"[:2000],
        metadata=metadata,
    )


def check_result(outcome: SuiteOutcome, suite: SuiteSpec, plan: GatePlan | None = None) -> dg.AssetCheckResult:
    """The Dagster result of a suite: ERROR blocks downstream, WARN only reports."""
    failures = [o.as_dict() for o in outcome.reported]
    metadata: dict[str, dg.MetadataValue] = {
        "summary": dg.MetadataValue.text(outcome.summary()),
        "expectations": dg.MetadataValue.int(len(outcome.outcomes)),
        "errors": dg.MetadataValue.int(len(outcome.errors)),
        "warnings": dg.MetadataValue.int(len(outcome.warnings)),
        "failing_expectations": dg.MetadataValue.md(outcome.markdown()),
        "failures": dg.MetadataValue.json(failures),
        "batch_rows": dg.MetadataValue.json(outcome.batch_rows),
    }
    if suite.path:
        metadata["suite_file"] = dg.MetadataValue.path(str(suite.path))
    if outcome.data_docs:
        metadata["data_docs"] = dg.MetadataValue.path(str(outcome.data_docs))
    description = outcome.summary()
    if plan is not None:
        metadata.update(_delivery_metadata(plan))
        if plan.reason:
            description = f"{description} ({plan.reason})"
    severity = dg.AssetCheckSeverity.ERROR if outcome.errors else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=severity,
        description=description[:2000],
        metadata=metadata,
    )


def build_quality_check(
    suite: SuiteSpec, model_keys: Mapping[str, dg.AssetKey] | None = None
) -> dg.AssetChecksDefinition:
    key = suite_asset_key(suite, model_keys)
    extra = [suite_asset_key(SuiteSpec(name="", asset=d, batches=()), model_keys) for d in suite.additional_deps]

    @dg.asset_check(
        asset=key,
        name=CHECK_NAME,
        blocking=True,
        additional_deps=extra or None,
        description=f"Great Expectations suite `{suite.name}` ({suite.path.name if suite.path else 'inline'}): "
        + (suite.description or "")
        + " Error-severity failures block everything downstream.",
        metadata={"suite": suite.name, "expectations": len(suite.expectations)},
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, quality: QualityResource
    ) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            plan = plan_suite(con, suite)
            if plan.suite is None:
                (context.log.warning if plan.warn else context.log.info)(f"{suite.name}: skipped: {plan.reason}")
                return skipped_result(plan, suite)
            outcome = validate_suite(
                con,
                plan.suite,
                quality_dir=quality.path,
                run_name=context.run.run_id,
                run_started_at=_run_started_at(context),
            )
        log = context.log.error if outcome.errors else context.log.warning if outcome.warnings else context.log.info
        log(outcome.summary() + (f" ({plan.reason})" if plan.reason else ""))
        context.log.info(f"Great Expectations Data Docs: {outcome.data_docs}")
        return check_result(outcome, suite, plan)

    return _check


def build_quality_checks(
    suites: Iterable[SuiteSpec] | None = None, model_keys: Mapping[str, dg.AssetKey] | None = None
) -> list[dg.AssetChecksDefinition]:
    """One blocking check per suite (default: every suite in `expectations/`)."""
    suites = list(load_suites() if suites is None else suites)
    if model_keys is None and any(not s.is_raw for s in suites):
        model_keys = dbt_model_keys()
    return [build_quality_check(s, model_keys) for s in suites]


def quality_check_keys(checks: Sequence[dg.AssetChecksDefinition]) -> list[dg.AssetCheckKey]:
    return [k for c in checks for k in c.check_keys]


@functools.cache
def default_quality_checks() -> tuple[dg.AssetChecksDefinition, ...]:
    """One check per suite of `expectations/`, built once on first use (never at import)."""
    return tuple(build_quality_checks())


def __getattr__(name: str):
    # `from dagster_project.assets.quality import quality_checks`: built on that first use.
    if name == "quality_checks":
        return list(default_quality_checks())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
