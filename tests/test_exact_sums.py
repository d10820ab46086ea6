"""The KPI sums of doubles (macro exact_sum) do not depend on the order the rows are added in.

A parallel aggregate adds a group's doubles in an order that varies from run to run; the plain sum
of the same values then differs in its last bits, and kpi_monthly's numerators did, so each build
published unchanged months again. Here the order is fixed by hand: two orders of three values whose
plain sums differ.
"""

from __future__ import annotations

import pytest

from kpi_reference import dbt_show

FORWARD, BACKWARD = "[0.1, 0.2, 0.3]", "[0.3, 0.2, 0.1]"


def _total(aggregate: str, values: str) -> str:
    return f"(select {aggregate} from (select unnest({values}::double[]) as x) as v)"


@pytest.mark.pipeline  # starts dbt
def test_exact_sum_is_the_same_in_any_order(monkeypatch, tmp_path):
    exact = "{{ exact_sum('x') }}"
    query = (
        f"select {_total('sum(x)', FORWARD)} as plain_forward, {_total('sum(x)', BACKWARD)} as plain_backward, "
        f"{_total(exact, FORWARD)} as exact_forward, {_total(exact, BACKWARD)} as exact_backward"
    )
    [row] = dbt_show(query, tmp_path, monkeypatch)
    assert row["plain_forward"] != row["plain_backward"], "the two orders must give different plain sums"
    assert float(row["exact_forward"]) == float(row["exact_backward"]) == 0.6
