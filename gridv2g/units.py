"""Units of summary figures, for printing: read from the figure's name (``losses_kwh`` -> kWh,
``vmin_pu`` -> pu, ``solve_s`` -> s) or, for money, the case's currency.

Summary keys carry their unit in their name (the house rule); money figures (``cost``,
``profit``, the stochastic ``rp``/``eev``/...) carry none, because the currency is the case's
(``currency``, default "currency units": prices are whatever the case's price data are in).
"""

from __future__ import annotations

#: name suffix -> unit, longest suffix first
SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_per_kwh", "{currency}/kWh"),
    ("_percent", "%"),
    ("_kvarh", "kvarh"),
    ("_kvar", "kvar"),
    ("_kwh", "kWh"),
    ("_kva", "kVA"),
    ("_kw", "kW"),
    ("_pu", "pu"),
    ("_mb", "MB"),
    ("_s", "s"),
)
#: money figures by name (no unit suffix: the unit is the case's currency)
MONEY = frozenset(
    {
        "cost",
        "revenue",
        "profit",
        "uncontrolled_cost",
        "savings_vs_uncontrolled",
        "uncontrolled_profit",
        "profit_gain_vs_uncontrolled",
        "perfect_foresight_cost",
        "rp",
        "eev",
        "ws",
        "vss",
        "evpi",
        "total",
        "operating",
        "investment",
    }
)
#: figures whose unit is not in their name
NAMED = {
    "periods": "periods",
    "minutes_per_period": "min",
    "evs": "EVs",
    "steps": "periods",
    "window": "periods",
    "scenarios": "scenarios",
    "evs_per_scenario_mean": "EVs",
    "voltage_deviation": "pu (sum over buses and periods)",
    "max_relaxation_gap": "pu",
    "e0_kwh": "kWh",
}

DEFAULT_CURRENCY = "currency units"


def unit_of(key: str, currency: str = DEFAULT_CURRENCY) -> str:
    """The unit of summary figure ``key`` ("" when it has none, e.g. a status or a count)."""
    if key in NAMED:
        return NAMED[key]
    if key in MONEY or key.endswith(("_cost", "_revenue", "_profit")):
        return currency
    for suffix, unit in SUFFIX_UNITS:
        if key.endswith(suffix):
            return unit.format(currency=currency)
    return ""


def summary_line(key: str, value, currency: str = DEFAULT_CURRENCY, width: int = 32) -> str:
    """``key  value unit``: floats to 6 significant digits, the unit from :func:`unit_of`."""
    shown = f"{value:.6g}" if isinstance(value, float) else str(value)
    unit = unit_of(key, currency) if isinstance(value, (int, float)) else ""
    return f"  {key:{width}s} {shown}{' ' + unit if unit else ''}"
