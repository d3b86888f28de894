"""The result of two-stage stochastic station scheduling: the measures (RP, EEV, WS, VSS,
EVPI), the first-stage decisions and each scenario's profit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from gridv2g.result.base import ResultBase


@dataclass(kw_only=True)
class StochasticResult(ResultBase):
    """``summary``: RP, EEV, WS, VSS, EVPI, first-stage decisions, timings; ``res_scenario``
    (scenario): EVs and profit of each scenario under the RP, EEV and WS decisions.
    ``objective`` is RP, the recourse problem's expected profit."""

    TABLES: ClassVar[tuple[str, ...]] = ("res_scenario",)

    res_scenario: pd.DataFrame
