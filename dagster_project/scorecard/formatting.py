"""How numbers are shown: decimals and unit labels per KPI unit (scorecard_monthly.unit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnitStyle:
    decimals: int
    suffix: str  # after a value on a card ("%", " h")
    axis: str  # y-axis title of a chart
    change: str  # unit of a difference ("pp", "pts", "h")


UNIT_STYLES: dict[str, UnitStyle] = {
    "pct": UnitStyle(1, "%", "percent (%)", "pp"),
    "nps_points": UnitStyle(1, "", "NPS points (-100 to 100)", "pts"),
    "score_1_7": UnitStyle(2, " / 7", "score (1-7)", "pts"),
    "index_0_100": UnitStyle(1, " / 100", "index (0-100)", "pts"),
    "gap_points": UnitStyle(2, "", "gap points (-6 to 6)", "pts"),
    "per_1000_orders": UnitStyle(1, " ‰", "complaints per 1,000 orders", "‰"),
    "hours": UnitStyle(1, " h", "hours", "h"),
    "count": UnitStyle(0, "", "count", ""),
}
DEFAULT_STYLE = UnitStyle(2, "", "value", "")


def unit_style(unit: str | None) -> UnitStyle:
    return UNIT_STYLES.get(unit or "", DEFAULT_STYLE)


def format_number(value: float | None, unit: str | None, *, signed: bool = False) -> str:
    """A value as shown on the scorecard: rounded to the unit's decimals, thousands separated,
    `-` as the minus sign is kept ASCII so that tests and copy-paste read it back."""
    if value is None:
        return "n/a"
    decimals = unit_style(unit).decimals
    text = f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"
    if text in ("-0", "+0") or text.strip("+-0.,") == "":
        text = f"{0:.{decimals}f}" if not signed else f"±{0:.{decimals}f}"
    return text


def format_value(value: float | None, unit: str | None) -> str:
    """Value with its unit suffix (`75.6%`, `41.0 h`, `n/a`)."""
    if value is None:
        return "n/a"
    return format_number(value, unit) + unit_style(unit).suffix


def format_change(value: float | None, unit: str | None) -> str:
    """A difference (`+2.3 pp`, `-0.15 pts`, `n/a`)."""
    if value is None:
        return "n/a"
    change_unit = unit_style(unit).change
    return format_number(value, unit, signed=True) + (f" {change_unit}" if change_unit else "")


def month_label(d) -> str:
    return d.strftime("%B %Y")


def short_month(d) -> str:
    return d.strftime("%b %y")
