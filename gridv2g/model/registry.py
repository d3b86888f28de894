"""The grid formulations by the name case files use (``formulation:``), and the rule that
picks one when a case says ``auto``."""

from __future__ import annotations

from gridv2g.errors import FeederError
from gridv2g.model.formulation import BalancedDistFlow, GridFormulation
from gridv2g.model.unbalanced_formulation import UnbalancedLinDist3Flow

#: the grid formulations by the name case files use
FORMULATIONS: dict[str, type[GridFormulation]] = {
    BalancedDistFlow.name: BalancedDistFlow,
    UnbalancedLinDist3Flow.name: UnbalancedLinDist3Flow,
}


def is_unbalanced(feeder) -> bool:
    """Whether the balanced single-phase equivalent misrepresents ``feeder``: a bus with
    fewer than three phases, a delta or unequal per-phase load, or a single-phase regulator
    or capacitor. IEEE 33 is balanced; IEEE 123 is not."""
    phases = feeder.bus.nodes.astype(str).map(
        lambda s: len([p for p in s.split(".") if p not in ("", "0")])
    )
    if (phases < 3).any():
        return True
    load = feeder.load
    if len(load) and "nodes" in load:
        if (
            load.nodes.astype(str).map(
                lambda s: len([p for p in s.split(".") if p not in ("", "0")])
            )
            < 3
        ).any():
            return True
    return False


def grid_formulation(name: str, feeder, s_base_kva: float = 1000.0) -> GridFormulation:
    """The formulation ``name`` built for ``feeder`` (``"auto"``: unbalanced on an
    unbalanced feeder, the balanced SOCP otherwise); an unknown name lists the valid ones."""
    if name == "auto":
        name = UnbalancedLinDist3Flow.name if is_unbalanced(feeder) else BalancedDistFlow.name
    try:
        cls = FORMULATIONS[name]
    except KeyError:
        raise FeederError(
            f"unknown grid formulation '{name}'; valid: {['auto', *sorted(FORMULATIONS)]}"
        ) from None
    return cls(feeder, s_base_kva)
