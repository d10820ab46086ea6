"""Quality gate: every expectation suite in `expectations/` as a blocking Dagster asset check.

Raw suites check `raw/<entity>` after ingestion (before dbt reads it); mart suites check the dbt
marts before publication. An error-severity failure returns severity ERROR, which stops every asset
downstream in the run (blocking check); warnings return severity WARN (shown, not blocking). The
result carries the failing expectations, observed values and sample failing rows.

Each layer's suites run in one step (`raw_quality_checks`, `mart_quality_checks`: one check per
suite in the UI, each selectable on its own), which renders the Great Expectations Data Docs
(`<quality>/data_docs/index.html`) once at its end, pass or fail. Rendering walks every stored
result (the latest validation.KEEP_RUNS runs of 33 suites), paid once per layer instead of once
per suite. When every suite of a layer passed, its results are stored and rendered in Great
Expectations' own worker process while the run goes on (the raw layer's while dbt builds, the
marts' while the publication copies them); the publication waits for them before it swaps its files
in, and `csat run` before it ends.
"""

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

import dagster as dg

from dagster_project.quality import SuiteOutcome, SuiteSpec, load_suites
from dagster_project.quality.delivery import GatePlan, plan_suite
from dagster_project.quality.validation import build_data_docs, data_docs_index, validate_suite, wait_for_gx
from dagster_project.resources import QualityResource, WarehouseResource

CHECK_NAME = "great_expectations"
# The step of each layer's checks (run_summary maps them to the stages of `csat run`).
RAW_CHECKS_STEP = "raw_quality_checks"
MART_CHECKS_STEP = "mart_quality_checks"


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


def skipped_result(plan: GatePlan, suite: SuiteSpec, key: dg.AssetCheckKey) -> dg.AssetCheckResult:
    """A suite not run because its data was not delivered: never blocking; a warning when the
    deployment file declares the entity (an expected source is missing)."""
    metadata = _delivery_metadata(plan)
    if suite.path:
        metadata["suite_file"] = dg.MetadataValue.path(str(suite.path))
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=not plan.warn,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{suite.name}: skipped: {plan.reason}"[:2000],
        metadata=metadata,
    )


def check_result(
    outcome: SuiteOutcome, suite: SuiteSpec, key: dg.AssetCheckKey, plan: GatePlan | None = None
) -> dg.AssetCheckResult:
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
        asset_key=key.asset_key,
        check_name=key.name,
        passed=outcome.passed,
        severity=severity,
        description=description[:2000],
        metadata=metadata,
    )


def check_spec(suite: SuiteSpec, model_keys: Mapping[str, dg.AssetKey] | None = None) -> dg.AssetCheckSpec:
    extra = [suite_asset_key(SuiteSpec(name="", asset=d, batches=()), model_keys) for d in suite.additional_deps]
    return dg.AssetCheckSpec(
        CHECK_NAME,
        asset=suite_asset_key(suite, model_keys),
        blocking=True,
        additional_deps=extra or None,
        description=f"Great Expectations suite `{suite.name}` ({suite.path.name if suite.path else 'inline'}): "
        + (suite.description or "")
        + " Error-severity failures block everything downstream.",
        metadata={"suite": suite.name, "expectations": len(suite.expectations)},
    )


def build_layer_checks(
    step: str,
    suites: Sequence[SuiteSpec],
    model_keys: Mapping[str, dg.AssetKey] | None = None,
    *,
    index_left_to: str | None = None,
) -> dg.AssetChecksDefinition:
    """One blocking check per suite of a layer, evaluated in one step `step` that renders the Data
    Docs of the results once at its end. The pass or fail of a check is decided in DuckDB; storing
    the results and rendering the Data Docs is Great Expectations' work, in its own worker process
    (quality.validation). When every suite passed (the run goes on) the step ends without waiting
    for it: the publication waits before it swaps its files in, `csat run` before it ends. When one
    failed the run stops here, so the step waits (for what earlier steps queued too) and fails if
    the results could not be recorded. The Data Docs index (most of a render's cost) is rebuilt
    here unless the run goes on to the step `index_left_to` (a later layer's checks), whose index
    lists these results too."""
    by_key = {check_key(s, model_keys): s for s in suites}

    @dg.multi_asset_check(
        specs=[check_spec(s, model_keys) for s in suites],
        name=step,
        can_subset=True,
        description="Great Expectations suites, one blocking check each; the Data Docs are rendered once.",
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, quality: QualityResource
    ) -> Iterator[dg.AssetCheckResult]:
        validated = []
        # Whether every selected suite was checked and none blocked: only then does the run go on, with
        # something for the recording to overlap.
        run_goes_on, blocked = False, False
        try:
            with warehouse.connect(read_only=True) as con:
                for key, suite in by_key.items():
                    if key not in context.selected_asset_check_keys:
                        continue
                    plan = plan_suite(con, suite)
                    if plan.suite is None:
                        (context.log.warning if plan.warn else context.log.info)(
                            f"{suite.name}: skipped: {plan.reason}"
                        )
                        yield skipped_result(plan, suite, key)
                        continue
                    outcome = validate_suite(
                        con,
                        plan.suite,
                        quality_dir=quality.path,
                        run_name=context.run.run_id,
                        run_started_at=_run_started_at(context),
                        build_docs=False,
                        wait=False,
                    )
                    validated.append(plan.suite.name)
                    outcome.data_docs = data_docs_index(quality.path)  # rendered when the step ends
                    log = (
                        context.log.error
                        if outcome.errors
                        else context.log.warning
                        if outcome.warnings
                        else context.log.info
                    )
                    log(outcome.summary() + (f" ({plan.reason})" if plan.reason else ""))
                    yield check_result(outcome, suite, key, plan)
                    blocked = blocked or bool(outcome.errors)
            run_goes_on = not blocked
        finally:
            if validated:
                docs = build_data_docs(
                    quality.path,
                    run_name=context.run.run_id,
                    suite_names=validated,
                    wait=False,
                    index=not (run_goes_on and _runs_step(context, index_left_to)),
                )
                context.log.info(f"Great Expectations Data Docs: {docs}")
            if not run_goes_on:
                wait_for_gx()

    return _checks


def _runs_step(context: dg.AssetCheckExecutionContext, step: str | None) -> bool:
    """Whether this run executes the step `step` (a run of the whole job executes every step)."""
    steps = context.run.step_keys_to_execute
    return step is not None and (steps is None or step in steps)


def build_quality_checks(
    suites: Iterable[SuiteSpec] | None = None, model_keys: Mapping[str, dg.AssetKey] | None = None
) -> list[dg.AssetChecksDefinition]:
    """One blocking check per suite (default: every suite in `expectations/`): the raw suites in the
    step `raw_quality_checks`, the mart suites in `mart_quality_checks`."""
    suites = list(load_suites() if suites is None else suites)
    if model_keys is None and any(not s.is_raw for s in suites):
        model_keys = dbt_model_keys()
    raw = [s for s in suites if s.is_raw]
    marts = [s for s in suites if not s.is_raw]
    # The raw layer's results are recorded while dbt builds, the marts' while the publication copies
    # them; the publication waits for both before it swaps its files in (publication/assets.py). The
    # Data Docs index is rebuilt once per run that gets that far: by the mart layer, which lists the
    # raw layer's results too. A run that stops between the layers (dbt failed) has its raw pages
    # rendered; the next index lists them.
    return [
        build_layer_checks(step, group, model_keys, index_left_to=later)
        for step, group, later in (
            (RAW_CHECKS_STEP, raw, MART_CHECKS_STEP if marts else None),
            (MART_CHECKS_STEP, marts, None),
        )
        if group
    ]


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
