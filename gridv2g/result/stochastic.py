"""The result of two-stage stochastic station scheduling: the measures (RP, EEV, WS, VSS,
EVPI), the first-stage decisions, each scenario's profit and the recourse problem's
second-stage schedules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from gridv2g.result.base import ResultBase

#: the measures of a stochastic result, in report order, with what each means
MEASURES = {
    "rp": "RP: expected profit of the recourse problem (one first stage, every scenario)",
    "eev": "EEV: expected profit of the mean-value problem's first stage",
    "ws": "WS: expected profit with each scenario known beforehand (wait and see)",
    "vss": "VSS = RP - EEV: value of the stochastic solution",
    "evpi": "EVPI = WS - RP: expected value of perfect information",
}


@dataclass(kw_only=True)
class StochasticResult(ResultBase):
    """``summary``: RP, EEV, WS, VSS, EVPI, first-stage decisions, timings; ``res_scenario``
    (scenario): EVs and profit of each scenario under the RP, EEV and WS decisions;
    ``res_power`` (time, scenario): the recourse problem's second stage, station net import
    ``p_kw`` [kW] and storage energy ``ess_e_kwh`` at the end of each period [kWh] (starting
    from the first stage's ``e0_kwh``). ``objective`` is RP, the recourse problem's expected
    profit."""

    TABLES: ClassVar[tuple[str, ...]] = ("res_scenario", "res_power")

    res_scenario: pd.DataFrame
    res_power: pd.DataFrame = field(default_factory=pd.DataFrame)

    def figure_set(self, flagged=None) -> dict:  # no feeder: no replay flags
        from gridv2g.plots.stochastic import figure_set

        return figure_set(self)

    def report_tables(self) -> dict[str, pd.DataFrame]:
        """The measures with their meaning (money in the case's currency)."""
        currency = self.summary.get("currency") or "currency units"
        table = pd.DataFrame(
            {
                "value": [self.summary.get(k) for k in MEASURES],
                "unit": currency,
                "meaning": list(MEASURES.values()),
            },
            index=pd.Index([k.upper() for k in MEASURES], name="measure"),
        )
        return {"Stochastic measures (expected profit)": table}
