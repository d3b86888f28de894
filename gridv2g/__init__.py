"""gridv2g: co-optimize EV charging stations (with V2G) and the distribution feeders they sit on.

The public face::

    import gridv2g as g
    feeder = g.feeders.ieee33()
    net = feeder.to_pandapower()
"""

from __future__ import annotations

from gridv2g import feeders
from gridv2g.errors import FeederError, GridV2GError, GridV2GWarning, OpenDSSError

__version__ = "0.1.0"

__all__ = [
    "FeederError",
    "GridV2GError",
    "GridV2GWarning",
    "OpenDSSError",
    "__version__",
    "feeders",
]
