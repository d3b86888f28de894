"""Hosting capacity by charging policy (issue 12): for each candidate site (bus, and phase
on multi-phase feeders), the largest EV fleet the feeder hosts when the EVs charge
uncontrolled, smart (cost-optimal), smart with V2G, and smart with V2G and reactive support,
every answer verified in AC power flow (pandapower on balanced feeders, OpenDSS on
multi-phase ones) and naming the limit that binds.

- :mod:`~gridv2g.hosting.sites`: candidate sites resolved against the feeder;
- :mod:`~gridv2g.hosting.policies`: the policies, nested fleets, one evaluation (plan + AC);
- :mod:`~gridv2g.hosting.verify`: the AC replays and the binding limit;
- :mod:`~gridv2g.hosting.search`: exponential + bisection search over fleet size;
- :mod:`~gridv2g.hosting.study`: one search per (site, policy) through :mod:`gridv2g.parallel`,
  rows kept and resumed, table, ratios, summary;
- :mod:`~gridv2g.hosting.plots`: bar chart and feeder maps.

``gridv2g.hosting.run("cases/ieee33_hosting.yaml", workers=2)`` or
``gridv2g hosting cases/ieee33_hosting.yaml``.
"""

from gridv2g.hosting.policies import POLICIES, Check, Policy, SiteStudy, nested_sessions
from gridv2g.hosting.search import SearchResult, largest_hosted, scan
from gridv2g.hosting.sites import Site, resolve_sites
from gridv2g.hosting.study import HostingResult, ratio_table, run, search_task
from gridv2g.hosting.verify import BalancedAC, Limit, Replayed, UnbalancedAC, judge

__all__ = [
    "POLICIES",
    "BalancedAC",
    "Check",
    "HostingResult",
    "Limit",
    "Policy",
    "Replayed",
    "SearchResult",
    "Site",
    "SiteStudy",
    "UnbalancedAC",
    "judge",
    "largest_hosted",
    "nested_sessions",
    "ratio_table",
    "resolve_sites",
    "run",
    "scan",
]
