"""The samplers by name, and one dispatcher that draws a session table for a set of stations
on a horizon (used by every case kind that names a sampler)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from gridv2g.errors import SessionError
from gridv2g.fleet.checks import check_sessions
from gridv2g.fleet.gao2019 import sample_gao2019_fleet, sample_parking_lot
from gridv2g.fleet.options import check_options
from gridv2g.fleet.samplers import sample_reservations, sample_truncated_gaussian, seed001_lot
from gridv2g.horizon import Horizon

#: sampler name (as in case files) -> function(n=..., seed=..., day=..., ...) -> session table
SAMPLERS: dict[str, Callable[..., pd.DataFrame]] = {
    "seed001_lot": seed001_lot,
    "truncated_gaussian": sample_truncated_gaussian,
    "parking_lot": sample_parking_lot,
    "reservations": sample_reservations,
    "gao2019_fleet": sample_gao2019_fleet,
}


def sampler(name: str) -> Callable[..., pd.DataFrame]:
    """The sampler ``name``, or a SessionError listing the valid names."""
    try:
        return SAMPLERS[name]
    except KeyError:
        raise SessionError(f"unknown sampler '{name}'; valid: {sorted(SAMPLERS)}") from None


#: sampler arguments a case gives with fields of their own (``sessions.n``, ``.seed``,
#: ``.day``, ``.station``; ``scenarios.seed``, ``.day`` and its one station), not as options
FIELDS = ("n", "seed", "day", "station")


def sampler_options(name: str) -> list[str]:
    """The options (keyword arguments besides :data:`FIELDS`) of the sampler ``name``."""
    return [p for p in inspect.signature(sampler(name)).parameters if p not in FIELDS]


def check_sampler_options(name: str, options: Mapping | None) -> None:
    """Check the ``options`` of the sampler ``name`` before it draws: each a keyword the
    sampler takes (besides :data:`FIELDS`) and valid by its rule in
    :data:`~gridv2g.fleet.options.OPTIONS`.

    Raises
    ------
    SessionError
        An unknown sampler or option (the valid ones listed), or an invalid value (sampler,
        option, rule and value named).
    """
    valid = sampler_options(name)
    options = dict(options or {})
    unknown = [k for k in options if k not in valid]
    if unknown:
        fields = [k for k in unknown if k in FIELDS]
        raise SessionError(
            f"sessions sampler '{name}' takes no option{'s' * (len(unknown) > 1)} "
            f"{', '.join(map(repr, unknown))}; its options: {', '.join(valid)}"
            + (f" ({', '.join(fields)}: set by the case, not an option)" if fields else "")
        )
    check_options(options, f"sessions sampler '{name}'")


def sample_sessions(
    name: str,
    horizon: Horizon,
    stations: Sequence[str],
    seed: int = 0,
    n: int | None = None,
    day: str | None = None,
    station: str | None = None,
    options: Mapping | None = None,
    check: bool = True,
) -> pd.DataFrame:
    """Draw a checked session table from the sampler ``name`` for ``stations`` on ``horizon``.

    Times are put on the period grid (``step_min`` = the horizon's minutes) where the sampler
    takes it, so a session is plugged for whole periods only; ``day`` defaults to the
    horizon's first day; a sampler that spreads EVs over stations gets them all unless
    ``station`` names one. An option the sampler does not take, or out of its range, is an
    error naming it (:func:`check_sampler_options`), raised before drawing.
    """
    func = sampler(name)
    check_sampler_options(name, options)
    accepted = inspect.signature(func).parameters
    # YAML gives lists where samplers take (low, high) tuples
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in (options or {}).items()}
    if n is not None:
        kwargs["n"] = n
    kwargs["seed"] = seed
    kwargs["day"] = day or str(horizon.start.date())
    if "step_min" in accepted:
        kwargs.setdefault("step_min", horizon.minutes)
    if station is not None and "station" in accepted:
        kwargs["station"] = station
    elif "station" in accepted and len(stations) > 1:
        kwargs["station"] = list(stations)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise SessionError(
            f"sessions sampler '{name}' takes no {unknown}; it takes {sorted(accepted)}"
        )
    try:
        sessions = func(**kwargs)
    except SessionError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
        # an option of the wrong type or shape fails inside the sampler: say which sampler
        # and which options, not a traceback from its insides
        given = {k: v for k, v in kwargs.items() if k not in ("day", "step_min", "station")}
        raise SessionError(
            f"sessions sampler '{name}' cannot draw with {given}: {type(exc).__name__}: {exc}"
        ) from None
    if not set(sessions.station) <= set(stations) and station is None and len(stations) == 1:
        sessions = sessions.assign(station=stations[0])
    if check:
        check_sessions(sessions, stations=list(stations), horizon=horizon, source=name)
    return sessions
