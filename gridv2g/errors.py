"""Typed errors of gridv2g.

Every error names the offending item (table and row, bus, file and line) so that a user can
find and fix it without reading the traceback.
"""

from __future__ import annotations


class GridV2GError(Exception):
    """Base class of every gridv2g error."""


class FeederError(GridV2GError, ValueError):
    """A feeder's data is inconsistent: unknown bus, duplicate name, loop, island, bad value."""


class OpenDSSError(GridV2GError, RuntimeError):
    """OpenDSS could not compile or solve a model; carries OpenDSS's own message and the file."""


class GridV2GWarning(UserWarning):
    """Something was approximated or left out; the message says what."""
