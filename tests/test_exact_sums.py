"""The KPI sums of doubles (macro exact_sum) do not depend on the order the rows are added in.

A parallel aggregate adds a group's doubles in an order that varies from run to run; the plain sum
of the same values then differs in its last bits, and kpi_monthly's numerators did, so each build
published unchanged months again. Here the order is fixed by hand: two orders of three values whose
plain sums differ.
"""

from __future__ import annotations

import pytest

from kpi_reference import invoke_dbt

FORWARD, BACKWARD = "[0.1, 0.2, 0.3]", "[0.3, 0.2, 0.1]"


def _total(aggregate: str, values: str) -> str:
    return f"(select {aggregate} from (select unnest({values}::double[]) as x) as v)"


@pytest.mark.pipeline  # starts dbt
def test_exact_sum_is_the_same_in_any_order(monkeypatch, tmp_path):
    monkeypatch.setenv("CSAT_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    exact = "{{ exact_sum('x') }}"
    query = (
        f"select {_total('sum(x)', FORWARD)} as plain_forward, {_total('sum(x)', BACKWARD)} as plain_backward, "
        f"{_total(exact, FORWARD)} as exact_forward, {_total(exact, BACKWARD)} as exact_backward"
    )
    result = invoke_dbt(["show", "--inline", query, "--quiet"], tmp_path)
    assert result.success, result.exception
    [row] = result.result.results[0].agate_table.rows
    assert row["plain_forward"] != row["plain_backward"], "the two orders must give different plain sums"
    assert float(row["exact_forward"]) == float(row["exact_backward"]) == 0.6
