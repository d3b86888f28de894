"""Rows kept on disk as they finish, resumable: the helpers that :mod:`gridv2g.batch`
(scenario rows) and :mod:`gridv2g.hosting` (hosting-capacity rows) share.

- :func:`write_atomically`: a file written whole to a temporary name, then renamed over its
  place, so a killed run leaves the old file or the new one, never half of one;
- :func:`input_hash`: the SHA-256 of a case mapping's fully resolved inputs (the mapping, the
  bytes of every file it names, the gridv2g version);
- :func:`done`: a row finished earlier with the same inputs (skipped on resume).

This module sits low in the layers (tests/test_layers.py): it imports nothing of gridv2g.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

#: case fields that name files whose contents are inputs
FILE_FIELDS = ("csv", "opendss", "tables")


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` beside ``path``, then rename it over ``path``: a run killed midway
    leaves the old file or the new one, never half of one. (Against a killed process, not a
    power cut: nothing is fsynced.)"""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_row(path: Path, row: dict) -> None:
    """One row as a JSON file (one line), written atomically."""
    text = json.dumps(row, default=str) + "\n"
    write_atomically(Path(path), lambda tmp: tmp.write_text(text))


def done(path: Path, digest: str) -> bool:
    """A row finished earlier with the same inputs: its file exists, says ``status`` ok
    (failures are retried) and carries ``input_hash`` ``digest`` (an edited case, profile or
    session file, or another gridv2g version, re-runs it)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        row = json.loads(path.read_text())
    except json.JSONDecodeError:
        return False
    return row.get("status") == "ok" and row.get("input_hash") == digest


def input_hash(raw: dict, extra: object = None) -> str:
    """SHA-256 of a case mapping's fully resolved inputs: ``raw`` (canonical JSON), the bytes
    of every file it names (CSV profiles and sessions, feeder files; a folder's files; a
    master's ``.dss`` neighbours), the gridv2g version, and ``extra`` (anything else that
    makes a row, as canonical JSON)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        code = version("gridv2g")
    except PackageNotFoundError:  # running from a source tree without installing
        code = "source"
    digest = hashlib.sha256()
    digest.update(code.encode())
    digest.update(json.dumps(raw, sort_keys=True, default=str).encode())
    if extra is not None:
        digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    base = Path(str(raw.get("base_dir", ".")))

    def files(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in FILE_FIELDS and isinstance(value, str):
                    yield base / value
                else:
                    yield from files(value)
        elif isinstance(node, list):
            for value in node:
                yield from files(value)

    for path in sorted({p.resolve() for p in files(raw)}):
        members = sorted(path.rglob("*")) if path.is_dir() else [path]
        for member in members:
            if member.is_file():
                digest.update(str(member).encode())
                digest.update(member.read_bytes())
        if path.suffix.lower() == ".dss":  # a master's redirects sit beside it
            for member in sorted(path.parent.rglob("*.dss")):
                digest.update(member.read_bytes())
    return digest.hexdigest()


def progress(total: int, desc: str, unit: str, enabled: bool):
    """A tqdm progress bar on stderr (``enabled`` False: silent)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled)
