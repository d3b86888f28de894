"""Regenerate the shipped IEEE 123-bus tables and their OpenDSS reference data.

Reads the OpenDSS input files of ../shared/feeders/ieee123 (never read at run time or in tests)
and writes:

- ``networks/ieee123/``: the feeder tables, written by gridv2g's own importer
  (``gridv2g.feeders.from_opendss``) with Kersting's fixed regulator taps, plus the credit README;
- ``tests/data/ieee123/``: OpenDSS's own solution of the original input (node voltages and the
  summary of the fixed-tap case, copied from the shared reference files after checking that a
  fresh OpenDSS solve of the original input reproduces them), and a copy of the input files so
  the tests can check that the shipped tables are what the importer makes of them.

Usage: ``python scripts/regen_ieee123.py [--shared ../shared]``
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd

from gridv2g.feeders import IEEE123_FIXED_TAPS, from_opendss, solve_opendss
from gridv2g.feeders.library import ieee123_tap_commands as fixed_tap_commands

ROOT = Path(__file__).resolve().parent.parent
INPUTS = [
    "IEEE123Master.dss",
    "IEEE123Loads.DSS",
    "IEEE123Regulators.DSS",
    "IEEELineCodes.DSS",
    "BusCoords.dat",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    src = args.shared / "feeders" / "ieee123"
    master = src / "IEEE123Master.dss"

    feeder = from_opendss(
        master, commands=[*fixed_tap_commands(), "Buscoords BusCoords.dat"], name="ieee123"
    )
    feeder.description = (
        "IEEE 123-bus test feeder (Kersting), OpenDSS model, Kersting's fixed regulator taps"
    )
    out = ROOT / "networks" / "ieee123"
    feeder.to_dir(out)
    readme = (src / "README.md").read_text()
    credit = next(line for line in readme.splitlines() if line.startswith("Credit / licence:"))
    source = next(line for line in readme.splitlines() if line.startswith("Source:"))
    (out / "README.md").write_text(
        "# IEEE 123-bus test feeder\n\n"
        "Tables written by `gridv2g.feeders.from_opendss` (script `scripts/regen_ieee123.py`) "
        "from the OpenDSS input files of the IEEE 123-bus test feeder, with the regulator taps "
        f"fixed at Kersting's published values {IEEE123_FIXED_TAPS}.\n\n"
        f"{source}\n\n{credit}\n"
    )

    data = ROOT / "tests" / "data" / "ieee123"
    (data / "dss").mkdir(parents=True, exist_ok=True)
    for name in INPUTS:
        shutil.copyfile(src / name, data / "dss" / name)
    (data / "dss" / "README.md").write_text(
        "Byte-for-byte copies of the OpenDSS input files of the IEEE 123-bus feeder, for the "
        "importer regression test.\n\n" + source + "\n\n" + credit + "\n"
    )

    # OpenDSS's own solution of the original input, fixed-tap case
    reference = pd.read_csv(src / "reference_fixed_taps.csv", dtype={"bus": str})
    summary = json.loads((src / "reference_summary.json").read_text())["modes"]["fixed_taps"]
    fresh = solve_opendss(master, commands=fixed_tap_commands())
    merged = reference.merge(
        fresh.res_node, left_on=["bus", "phase"], right_on=["bus", "node"], validate="1:1"
    )
    worst = (merged.v_pu - merged.vm_pu).abs().max()
    if len(merged) != len(reference) or worst > 1e-9:
        raise SystemExit(f"fresh OpenDSS solve differs from the shared reference by {worst}")
    reference.to_csv(data / "reference_fixed_taps.csv", index=False)
    keep = [
        "description",
        "commands_after_compile",
        "converged",
        "total_losses_kW",
        "total_losses_kvar",
        "substation_power_kW",
        "substation_power_kvar",
        "load_consumed_kW",
        "load_consumed_kvar",
        "v_pu_min_excluding_source_bus",
        "v_pu_max_excluding_source_bus",
        "regulator_taps",
    ]
    (data / "reference_summary.json").write_text(
        json.dumps({k: summary[k] for k in keep}, indent=2) + "\n"
    )
    print(f"wrote {out} and {data}; fresh solve within {worst:.1e} pu of the reference")


if __name__ == "__main__":
    main()
