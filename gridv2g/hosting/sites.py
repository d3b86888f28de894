"""Candidate sites of a hosting study, resolved against the feeder once, before any solve.

A site is a bus and, on a multi-phase feeder, the phases the chargers connect to: ``phases``
omitted means every phase of the bus together (a three-phase station on a three-phase bus);
``phases: "2"`` one phase; ``phases: all`` expands to one candidate per single phase the bus
has. A bus the feeder does not have, or phases the bus does not have, is a
:class:`~gridv2g.case.CaseError` naming the site and listing what is valid.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridv2g.case import CaseError
from gridv2g.feeders.checks import parse_nodes


@dataclass(frozen=True)
class Site:
    """One candidate: ``name`` (label in tables), ``bus``, ``phases`` (OpenDSS node string,
    None: every phase of the bus)."""

    name: str
    bus: str
    phases: str | None

    @property
    def key(self) -> str:
        """A file-name-safe identifier of the site."""
        return "".join(c if c.isalnum() or c in "._-" else "_" for c in self.name)


def resolve_sites(spec, feeder, case_name: str = "case") -> list[Site]:
    """The :class:`Site` list of a :class:`~gridv2g.case.specs.HostingSpec` on ``feeder``
    (``phases: all`` expanded). Raises CaseError naming each bad site: an unknown bus (with
    the feeder's buses, first 20), phases the bus lacks (with the bus's phases), the
    substation bus (its voltage is held: it hosts anything), or a repeated site."""
    errors, out = [], []
    buses = [str(b) for b in feeder.bus.index]
    source = str(feeder.source_bus)
    for k, item in enumerate(spec.sites):
        where = f"hosting.sites[{k}] (bus '{item.bus}')"
        if item.bus not in feeder.bus.index:
            shown = ", ".join(buses[:20]) + (" ..." if len(buses) > 20 else "")
            errors.append(
                f"{where}: feeder '{feeder.name}' has no bus '{item.bus}'; buses: {shown}"
            )
            continue
        if item.bus == source:
            errors.append(f"{where}: the substation bus holds its voltage: pick a feeder bus")
            continue
        has = parse_nodes(feeder.bus.at[item.bus, "nodes"])
        if item.phases == "all":
            for ph in has:
                out.append(Site(f"{item.name or item.bus}.{ph}", item.bus, str(ph)))
            continue
        if item.phases is not None:
            want = parse_nodes(item.phases)
            missing = [p for p in want if p not in has]
            if missing or len(set(want)) != len(want):
                errors.append(
                    f"{where}: phases '{item.phases}' are not phases of the bus; it has "
                    f"'{'.'.join(map(str, has))}' (or give 'all', or leave phases out)"
                )
                continue
        default = item.bus if item.phases is None else f"{item.bus}.{item.phases}"
        out.append(Site(item.name or default, item.bus, item.phases))
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        errors.append(f"hosting.sites: repeated site(s) {dup}")
    if errors:
        raise CaseError(f"case '{case_name}': invalid hosting sites\n  " + "\n  ".join(errors))
    return out
