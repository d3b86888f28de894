"""Probe gridv2g with generated bad inputs: case files, session files and OpenDSS feeder files.

Every example must end as a valid result or a typed gridv2g error (a ``GridV2GError``
subclass). A raw exception, a result whose summary carries NaN or inf, a crashed worker, a
hang (no answer within ``--timeout`` seconds), a program run by an input or a file written
outside the example's folder is a failure.

Examples are edits of the shipped cases (and of a session CSV and the IEEE 13 feeder of the
test data): one to three edits each, drawn from a pool of hostile values and text-level
damage (duplicate keys, non-UTF-8 bytes, YAML tags, aliases, truncation, injected OpenDSS
commands). The same edit space feeds the hypothesis tests (``tests/test_probe_inputs.py``);
this script runs many more examples, each in a worker process that is replaced when it
crashes or hangs, and prints the count per outcome::

    python scripts/probe_inputs.py --examples 5000 --seed 0 --workers 2

Exit status 1 when any example failed; the failures are listed with the edits that made
them, so that each one can be replayed (``--replay kind:seed``).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import multiprocessing as mp
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases"
SESSIONS = ROOT / "tests" / "data" / "fleet" / "sessions_ok.csv"
IEEE13 = ROOT / "tests" / "data" / "dss" / "ieee13"

#: shipped cases the case edits start from, with the periods they are cut to (None: as
#: shipped) so that one example solves in about a second
BASE_CASES = {
    "ieee33_der.yaml": 24,
    "ieee33_ev.yaml": None,
    "lot20_seed001.yaml": None,
    "lot20_seed001_v2g.yaml": None,
    "station_ports_seed000.yaml": None,
    "station_stochastic_seed000.yaml": None,
    "v2a_household_seed002.yaml": None,
    "v2a_station_seed002.yaml": None,
}

#: hostile values a field is set to
VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    1e-12,
    -1e9,
    1e12,
    10**7,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    "x",
    "2024-02-30",
    "now",
    "../../outside",
    "/etc/passwd",
    [],
    [1, 2],
    [float("nan")],
    {},
    {"unknown": 1},
    {"constant": float("nan")},
    {"constant": -5.0},
    {"shape": "nope"},
    "1.0.0",
    "18",
    0.5,
]

#: factors a number is multiplied by
FACTORS = [-1.0, 0.0, 0.5, 2.0, 1000.0, 1e-6]

#: text-level damage to a YAML case file
YAML_DAMAGE = [
    "duplicate_key",
    "non_utf8",
    "python_tag",
    "alias_bomb",
    "truncate",
    "tab_indent",
]

#: OpenDSS commands injected into a feeder file; none may run a program or write a file
#: outside the example's folder (the marker paths are checked after every example)
DSS_INJECT = [
    "Set Editor={marker_prog}\nShow Voltages",
    "Set DataPath={outside}\nExport Voltages",
    "Save Circuit Dir={outside}",
    "Redirect ../outside.dss",
    "Redirect /etc/passwd",
    "Redirect {self}",
    "DOScmd touch {marker}",
    "Show Currents",
    "New Line.extra Bus1=nowhere Bus2=elsewhere Length=1",
    "New Load.extra Bus1=680.1 kW=nan kvar=1",
    "New Load.neg Bus1=675.2 kW=-500 kvar=0",
    "New Transformer.t3 windings=3 buses=[633 x1 x2] kVs=[4.16 0.48 0.48] kVAs=[500 500 500]",
    "Open Line.671692",
    "Disable Line.650632",
    "New Line.loop Bus1=680 Bus2=650 Length=1 units=ft",
    "Edit Line.684611 Length=-1",
    "Set Voltagebases=[0]",
    "Clear",
    "New Circuit.second",
]


# ----------------------------------------------------------------------------- edits
def leaves(node, path=()):
    """Every path into a case mapping (dict keys and list positions), nodes included."""
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += leaves(v, (*path, i))
    return out


def _parent(raw, path):
    node = raw
    for p in path[:-1]:
        node = node[p]
    return node


def apply_case_edit(raw: dict, edit: tuple) -> str | None:
    """Apply one structural edit ``(op, path_index, value_index)`` to ``raw`` in place;
    returns a text-level damage name instead when ``op`` is ``text``."""
    op, where, which = edit
    if op == "text":
        return YAML_DAMAGE[which % len(YAML_DAMAGE)]
    paths = leaves(raw)
    path = paths[where % len(paths)]
    parent = _parent(raw, path)
    key = path[-1]
    if op == "set":
        parent[key] = copy.deepcopy(VALUES[which % len(VALUES)])
    elif op == "scale":
        value = parent[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parent[key] = value * FACTORS[which % len(FACTORS)]
    elif op == "delete":
        if isinstance(parent, dict):
            del parent[key]
        elif isinstance(parent, list) and parent:
            parent.pop(key)
    elif op == "unknown":
        if isinstance(parent[key], dict):
            parent[key][f"unknown_{which}"] = 1
        elif isinstance(parent, dict):
            parent[f"unknown_{which}"] = 1
    return None


def damage_yaml(text: str, damage: str, marker: Path) -> bytes:
    """Text-level damage to a YAML document."""
    if damage == "duplicate_key":
        first = text.splitlines()[0] if text else "name: x"
        return (text + "\n" + first + "\n").encode()
    if damage == "non_utf8":
        return text.encode()[:40] + b"\xff\xfe\x80" + text.encode()[40:]
    if damage == "python_tag":
        tag = f'!!python/object/apply:os.system ["touch {marker}"]'
        return (text + f"\nextra: {tag}\n").encode()
    if damage == "alias_bomb":
        bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for k in "bcdefghij":
            prev = chr(ord(k) - 1)
            bomb += f"{k}: &{k} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        return (bomb + text).encode()
    if damage == "truncate":
        return text[: len(text) // 2].encode()
    if damage == "tab_indent":
        return text.replace("  ", "\t", 3).encode()
    raise ValueError(damage)


def case_example(edits: list[tuple], folder: Path, base: str) -> Path:
    """Write the edited case into ``folder`` (a copy of ``cases/``); returns its path."""
    import yaml

    raw = yaml.safe_load((CASES / base).read_text())
    periods = BASE_CASES[base]
    if periods is not None:
        raw["horizon"]["periods"] = periods
    damages = [d for d in (apply_case_edit(raw, e) for e in edits) if d]
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    data = text.encode()
    for d in damages:
        data = damage_yaml(data.decode("utf-8", "replace"), d, folder / "MARKER")
    path = folder / "probe_case.yaml"
    path.write_bytes(data)
    return path


SESSION_DAMAGE = [
    "cell",
    "duplicate_header",
    "drop_column",
    "quoted_newline",
    "timezone",
    "blank_lines",
    "empty",
    "non_utf8",
    "extra_field",
]


def session_example(edits: list[tuple], folder: Path) -> Path:
    """A session CSV with edits ``(damage_index, row, column, value_index)``."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(SESSIONS.read_text())))
    raw_bytes = None
    for damage_i, row, col, which in edits:
        damage = SESSION_DAMAGE[damage_i % len(SESSION_DAMAGE)]
        if not rows or not rows[0]:
            break  # nothing left to damage
        r = 1 + row % (len(rows) - 1) if len(rows) > 1 else 0
        c = col % len(rows[0])
        if damage == "cell" and r < len(rows) and c < len(rows[r]):
            value = VALUES[which % len(VALUES)]
            rows[r][c] = "" if value is None else str(value)
        elif damage == "duplicate_header":
            rows[0][c] = rows[0][(c + 1) % len(rows[0])]
        elif damage == "drop_column":
            rows = [[v for k, v in enumerate(line) if k != c] for line in rows]
        elif damage == "quoted_newline" and r < len(rows) and c < len(rows[r]):
            rows[r][c] = rows[r][c] + "\nnext"
        elif damage == "timezone" and r < len(rows):
            for k, name in enumerate(rows[0]):
                if name in ("arrival", "departure") and k < len(rows[r]):
                    rows[r][k] = rows[r][k] + "+01:00"
        elif damage == "blank_lines":
            rows.insert(r, [])
        elif damage == "empty":
            rows = []
        elif damage == "non_utf8":
            raw_bytes = b"\xff\xfe"
        elif damage == "extra_field" and r < len(rows):
            rows[r].append("surplus")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path = folder / "sessions.csv"
    data = out.getvalue().encode()
    path.write_bytes((raw_bytes or b"") + data)
    return path


def dss_example(edits: list[tuple], folder: Path) -> Path:
    """The IEEE 13 feeder with edits ``(op, line, value_index)``: delete or duplicate a line,
    replace a number, or inject a command of :data:`DSS_INJECT`."""
    for f in IEEE13.iterdir():
        if f.suffix.lower() == ".dss":
            shutil.copy(f, folder / f.name)
    master = folder / "IEEE13Nodeckt.dss"
    lines = master.read_text().splitlines()
    outside = folder.parent / f"{folder.name}_outside"
    for op, line, which in edits:
        k = line % max(len(lines), 1)
        if op == "delete" and lines:
            lines.pop(k)
        elif op == "duplicate" and lines:
            lines.insert(k, lines[k])
        elif op == "number" and lines:
            tokens = lines[k].split(" ")
            numeric = [i for i, t in enumerate(tokens) if _is_number(t.split("=")[-1])]
            if numeric:
                i = numeric[which % len(numeric)]
                head = tokens[i].rsplit("=", 1)[0] + "=" if "=" in tokens[i] else ""
                tokens[i] = head + str(VALUES[which % len(VALUES)]).replace(" ", "")
                lines[k] = " ".join(tokens)
        elif op == "inject":
            command = DSS_INJECT[which % len(DSS_INJECT)].format(
                marker_prog=folder.parent / "marker_prog.sh",
                marker=folder.parent / "MARKER_DOS",
                outside=outside,
                self=master.name,
            )
            lines.insert(k, command)
    master.write_text("\n".join(lines) + "\n")
    return master


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- running
def finite_summary(summary: dict) -> bool:
    """No float in a summary is NaN or inf."""
    for v in summary.values():
        if isinstance(v, float) and not math.isfinite(v):
            return False
    return True


def run_example(kind: str, edits: list, base: str | None, folder: Path) -> str:
    """Build one example in ``folder`` and run it; returns its outcome:
    ``result``, ``result (large, loaded, not solved)``, ``typed:<Error>``,
    ``raw:<Exception>`` or ``nan-summary``."""
    import warnings

    from gridv2g.errors import GridV2GError

    build = {
        "case": lambda: case_example(edits, folder, base),
        "sessions": lambda: session_example(edits, folder),
        "dss": lambda: dss_example(edits, folder),
    }[kind]
    try:
        path = build()
    except Exception as exc:  # a defect of this probe, not of gridv2g: reported apart
        return f"probe-error:{type(exc).__name__}: {exc}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "case":
                return _run_case(path)
            if kind == "sessions":
                from gridv2g.fleet import read_sessions

                read_sessions(path)
                return "result"
            if kind == "dss":
                from gridv2g.feeders import from_opendss

                from_opendss(path)
                return "result"
    except GridV2GError as exc:
        return f"typed:{type(exc).__name__}"
    except Exception as exc:  # the probe's whole point: any other exception is a defect
        tb = traceback.extract_tb(exc.__traceback__)
        site = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)), "?")
        return f"raw:{type(exc).__name__}@{site}: {str(exc)[:160]}"
    raise ValueError(kind)


#: a loaded case this large is counted as valid but not solved (a probe, not a benchmark)
LARGE_PERIODS = 400
LARGE_EVS = 3000


def _run_case(path: Path) -> str:
    import gridv2g as g
    from gridv2g.case import load_case

    case = load_case(path)
    periods = case.horizon.periods
    n = 0
    for node in (
        getattr(case, "sessions", None),
        getattr(getattr(case, "fleet", None), "sessions", None),
    ):
        n = max(n, getattr(node, "n", None) or 0)
    scen = getattr(case, "scenarios", None)
    if scen is not None:
        n = max(n, int(scen.count * scen.mean_evs))
    if periods > LARGE_PERIODS or n > LARGE_EVS:
        return "result (large, loaded, not solved)"
    result = g.solve(case)
    if not finite_summary(result.summary):
        return "nan-summary"
    return "result"


def draw_edits(rng: random.Random, kind: str) -> list:
    """Random edits of one example (the script's counterpart of the hypothesis strategies)."""
    k = rng.randint(1, 3)
    if kind == "case":
        ops = ["set", "set", "scale", "delete", "unknown", "text"]
        return [(rng.choice(ops), rng.randrange(10**6), rng.randrange(10**6)) for _ in range(k)]
    if kind == "sessions":
        return [tuple(rng.randrange(10**6) for _ in range(4)) for _ in range(k)]
    ops = ["delete", "duplicate", "number", "inject", "inject"]
    return [(rng.choice(ops), rng.randrange(10**6), rng.randrange(10**6)) for _ in range(k)]


def leaks(folder: Path) -> list[str]:
    """Files an example must never create: the markers of programs run and the folder
    outside it that hostile commands aim at."""
    found = []
    for name in ("MARKER", "MARKER_DOS", "marker_ran", f"{folder.name}_outside"):
        for where in (folder, folder.parent):
            if (where / name).exists():
                found.append(str(where / name))
    return found


def run_in(kind: str, edits: list, base: str | None, folder: Path) -> str:
    """Run one example in the empty ``folder`` (a copy of the case data goes there; the
    marker program next to it); returns the outcome, ``LEAK:...`` when the example ran a
    program or wrote where it must not."""
    if kind == "case":
        # the case refers to CSVs next to it: a copy of cases/data keeps paths confined
        shutil.copytree(CASES / "data", folder / "data")
    _arm_marker_program(folder.parent)
    outcome = run_example(kind, edits, base, folder)
    bad = leaks(folder)
    return f"LEAK:{bad}" if bad else outcome


def _worker(tasks, answers, scratch: str) -> None:
    for task in iter(tasks.get, None):
        kind, seed, base, edits = task
        folder = Path(tempfile.mkdtemp(prefix=f"{kind}{seed}_", dir=scratch))
        outcome = run_in(kind, edits, base, folder)
        shutil.rmtree(folder, ignore_errors=True)
        answers.put((seed, outcome))


def _arm_marker_program(where: Path) -> None:
    """A program that, if an input ever runs it, leaves ``marker_ran``."""
    prog = where / "marker_prog.sh"
    if not prog.exists():
        prog.write_text(f"#!/bin/sh\ntouch {where / 'marker_ran'}\n")
        prog.chmod(0o755)


def probe(examples: int, seed: int, workers: int, timeout: float, kinds: list[str]) -> dict:
    """Run ``examples`` examples; returns counts per outcome and the failures."""
    ctx = mp.get_context("spawn")
    scratch = tempfile.mkdtemp(prefix="gridv2g_probe_")
    rng = random.Random(seed)
    bases = sorted(BASE_CASES)
    todo = []
    for i in range(examples):
        kind = kinds[i % len(kinds)]
        base = rng.choice(bases) if kind == "case" else None
        todo.append((kind, i, base, draw_edits(rng, kind)))
    counts: Counter = Counter()
    failures = []
    pending = list(reversed(todo))
    pool = []

    def start():
        q_in, q_out = ctx.Queue(), ctx.Queue()
        p = ctx.Process(target=_worker, args=(q_in, q_out, scratch), daemon=True)
        p.start()
        return {"proc": p, "in": q_in, "out": q_out, "task": None, "t0": 0.0}

    pool = [start() for _ in range(workers)]
    t_start = time.time()
    done = 0
    while pending or any(w["task"] for w in pool):
        for k, w in enumerate(pool):
            if w["task"] is None and pending:
                w["task"] = pending.pop()
                w["t0"] = time.time()
                w["in"].put(w["task"])
            if w["task"] is None:
                continue
            try:
                _, outcome = w["out"].get(timeout=0.05)
            except Exception:
                if not w["proc"].is_alive():
                    outcome = f"crash (exit {w['proc'].exitcode})"
                elif time.time() - w["t0"] > timeout:
                    w["proc"].kill()
                    outcome = f"hang (> {timeout:g} s)"
                else:
                    continue
                pool[k] = start()
                pool[k]["task"], task = None, w["task"]
            else:
                task = w["task"]
                w["task"] = None
            counts[outcome.split(": ")[0]] += 1
            if not (outcome.startswith("typed:") or outcome.startswith("result")):
                failures.append({"task": task, "outcome": outcome})
            done += 1
            if done % 250 == 0:
                print(f"  {done}/{examples} in {time.time() - t_start:.0f} s", flush=True)
    for w in pool:
        w["in"].put(None)
    shutil.rmtree(scratch, ignore_errors=True)
    return {
        "examples": examples,
        "seconds": time.time() - t_start,
        "counts": counts,
        "failures": failures,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per example")
    parser.add_argument("--kinds", default="case,case,case,sessions,dss")
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args(argv)
    report = probe(args.examples, args.seed, args.workers, args.timeout, args.kinds.split(","))
    print(f"{report['examples']} examples in {report['seconds']:.0f} s")
    for outcome, count in sorted(report["counts"].items(), key=lambda kv: -kv[1]):
        print(f"  {count:6d}  {outcome}")
    for f in report["failures"][:50]:
        print("FAIL", json.dumps(f["task"], default=str), "->", f["outcome"])
    if args.json:
        Path(args.json).write_text(
            json.dumps({**report, "counts": dict(report["counts"])}, default=str, indent=1)
        )
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
