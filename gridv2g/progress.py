"""Progress bars for steps that take more than a second (replays period by period, bench
records), shown on stderr when the ``gridv2g`` logger is at INFO or more verbose.

The library never configures logging: by default (Python's WARNING) no bar is drawn; the
command line sets INFO (``-q``: WARNING) and so shows them, and a notebook gets them with
``logging.getLogger("gridv2g").setLevel(logging.INFO)``. Bars do not stay on screen
(``leave=False``): the command line's step line with its time replaces them.
"""

from __future__ import annotations

import logging

from tqdm.auto import tqdm

log = logging.getLogger("gridv2g")


def enabled() -> bool:
    """True when progress bars are drawn (the ``gridv2g`` logger is at INFO or lower)."""
    return log.isEnabledFor(logging.INFO)


def bar(iterable=None, total: int | None = None, desc: str = "", unit: str = "it"):
    """A tqdm bar over ``iterable`` (or a manual one of ``total`` steps), disabled unless
    :func:`enabled`."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, disable=not enabled())
