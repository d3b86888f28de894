"""Station siting and sizing (seed 004's master problem).

- :mod:`gridv2g.siting.per_site`: each fleet site picks a bus and a converter size; a small
  particle swarm and an exact enumeration (``cases/ieee33_ev_siting.yaml``).
- :mod:`gridv2g.siting.shared`, :mod:`~gridv2g.siting.screening`,
  :mod:`~gridv2g.siting.swarm`: seed 004 as it is: 5-8 stations among candidate parking lots
  sharing one fleet by capacity (eq. 44), a pymoo particle swarm over locations and shares with
  parallel, cached screening evaluations, the OpenDSS-closed evaluation of its best
  candidates, and a MILP over the same decision space as the exact reference
  (``cases/ieee123_gao2019_siting.yaml``).
"""

from gridv2g.siting.per_site import (
    INFEASIBLE_COST,
    SitingProblem,
    SitingResult,
    SitingSpec,
    enumerate_sites,
    pso,
    site_case,
)

__all__ = [
    "INFEASIBLE_COST",
    "SitingProblem",
    "SitingResult",
    "SitingSpec",
    "enumerate_sites",
    "pso",
    "site_case",
]
