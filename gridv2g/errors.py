"""Typed errors of gridv2g.

Every error names the offending item (table and row, bus, file and line) so that a user can
find and fix it without reading the traceback.
"""

from __future__ import annotations


class GridV2GError(Exception):
    """Base class of every gridv2g error."""


class FeederError(GridV2GError, ValueError):
    """A feeder's data is inconsistent: unknown bus, duplicate name, loop, island, bad value."""


class ProfileError(GridV2GError, ValueError):
    """A time profile is missing, incomplete, NaN, negative or at the wrong resolution."""


class SessionError(GridV2GError, ValueError):
    """EV session data is inconsistent or physically impossible; the message names the EV ids
    and the numbers."""


class OpenDSSError(GridV2GError, RuntimeError):
    """OpenDSS could not compile or solve a model; carries OpenDSS's own message and the file."""


class GridDataError(GridV2GError, ValueError):
    """Grid problem inputs contradict each other or physics: a slot whose lower bound exceeds
    its upper bound or its converter rating, a DER available above its rating, a voltage limit
    the source bus cannot meet; the message names the item, the period and the numbers."""


class GridV2GWarning(UserWarning):
    """Something was approximated or left out; the message says what."""


class SolveError(GridV2GError, RuntimeError):
    """The solver failed or returned no usable solution; the message says which and why."""


class InfeasibleError(GridV2GError, RuntimeError):
    """The problem has no solution. ``diagnosis`` (a DataFrame) names the buses, branches and
    periods whose limits would have to be relaxed, and by how much."""

    def __init__(self, message: str, diagnosis=None):
        super().__init__(message)
        self.diagnosis = diagnosis


class AggregationError(GridV2GError, ValueError):
    """A fleet cannot be aggregated exactly (EVs coupled by ports, shared chargers or
    charge/discharge binaries), or per-EV schedules broke an EV's own limits; the message
    names the cause and the EVs."""


class V2AError(GridV2GError, ValueError):
    """V2A data is inconsistent: an unknown mode, a mode the site kind does not have, a base
    load or price that does not cover the horizon; the message names the item and the rule."""
