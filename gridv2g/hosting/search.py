"""The search over fleet size: the largest hosted fleet on the step grid.

Sizes are ``k x step`` EVs for k = 0 .. ``k_max``. Assuming monotonicity (the fleets are
nested, :func:`gridv2g.hosting.policies.nested_sessions`), :func:`largest_hosted` doubles k
from 1 until a size is not hosted (or ``k_max`` is reached), then bisects between the last
hosted and the first unhosted size: about 2 log2(k*) evaluations instead of k*. The answer is
then explicitly backed by two evaluations, both kept: the reported size hosted and the next
step not hosted (every evaluation is cached, so these are usually the bisection's own last
two). A reported size of ``k_max`` (the search's ceiling) has no unhosted neighbour: the
capacity is *at least* that (``censored``).

Monotonicity is an assumption, not a theorem (a V2G EV that arrives with energy to spare
could in principle relieve a peak); where it fails the search still returns a size that is
hosted with the next one not hosted, a local frontier, and :func:`scan` (every size, used by
the tests) shows the difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SearchResult:
    """``k``: the largest hosted multiple of the step found; ``censored``: ``k`` is the
    ceiling ``k_max`` and hosted; ``at``/``above``: the checks of k and k+1 (``above`` None
    when censored); ``checks``: every evaluation by k, in the order made."""

    k: int
    censored: bool
    at: object
    above: object | None
    checks: dict = field(default_factory=dict)


def largest_hosted(check: Callable[[int], object], k_max: int) -> SearchResult:
    """Exponential then bisection search over ``k`` in 0..``k_max`` for the largest ``k``
    with ``check(k).hosted``, assuming hosted sizes form a prefix. ``check`` is called at
    most once per k (cached)."""
    if k_max < 0:
        raise ValueError(f"k_max must be >= 0, got {k_max}")
    cache: dict[int, object] = {}

    def hosted(k: int) -> bool:
        if k not in cache:
            cache[k] = check(k)
        return bool(cache[k].hosted)

    lo, hi = 0, None  # lo: largest known hosted (0 assumed until checked), hi: unhosted
    k = 1
    while k <= k_max:
        if hosted(k):
            lo = k
            k *= 2
        else:
            hi = k
            break
    if hi is None and lo < k_max:
        if hosted(k_max):
            lo = k_max
        else:
            hi = k_max
    while hi is not None and hi - lo > 1:
        mid = (lo + hi) // 2
        if hosted(mid):
            lo = mid
        else:
            hi = mid
    hosted(lo)  # the reported size, verified (k = 0: the feeder without the fleet)
    if not cache[lo].hosted:  # only at k = 0: the feeder breaks its limits without EVs
        return SearchResult(0, False, cache[0], cache.get(1), cache)
    if lo >= k_max:
        return SearchResult(lo, True, cache[lo], None, cache)
    hosted(lo + 1)  # the next step, shown not hosted
    return SearchResult(lo, False, cache[lo], cache[lo + 1], cache)


def scan(check: Callable[[int], object], k_max: int) -> int:
    """Brute force: the largest k in 0..``k_max`` such that every size up to it is hosted
    (-1 if k = 0 is not). The reference :func:`largest_hosted` must equal when monotone."""
    last = -1
    for k in range(k_max + 1):
        if not check(k).hosted:
            break
        last = k
    return last
