"""The station block of an EV fleet built from a :class:`~gridv2g.inputs.StationData`: shared
by the station-only problems and the grid co-optimization (which ties ``block.net_kw`` to
the stations' connection points)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridv2g.inputs import StationData
from gridv2g.model.aggregate import FlexibilityGroups, check_aggregable, flexibility_groups
from gridv2g.model.arrays import ess_arrays, station_ev_arrays, station_limits_kw
from gridv2g.model.station import ESSArrays, EVArrays, StationBlock, station_block


@dataclass
class FleetModel:
    """A station block with the arrays it was built from (see :func:`fleet_block`);
    ``groups``: the flexibility groups of the scale mode (None: per-EV block); ``schedule``:
    the per-EV schedules disaggregated after a solve in scale mode."""

    ev: EVArrays
    ess: ESSArrays | None
    ports: np.ndarray
    block: StationBlock
    groups: FlexibilityGroups | None = None
    schedule: object | None = None


def fleet_groups(data: StationData, split: np.ndarray | None = None) -> FlexibilityGroups | None:
    """The flexibility groups of ``data`` in scale mode (``data.aggregate``), else None;
    raises an AggregationError where EVs are coupled (ports, shared chargers, exclusiveness)."""
    if not data.aggregate:
        return None
    ev = station_ev_arrays(data)
    ports = data.stations.stations.ports.astype(float).fillna(np.inf).to_numpy()
    check_aggregable(ev, ports, data.exclusive, data.sessions.index)
    return flexibility_groups(ev, split)


def fleet_block(
    data: StationData, net_limits: bool = True, groups: FlexibilityGroups | None = None
):
    """The station block of ``data``: ``(ev, ess, ports, block)`` with per-EV arrays, storage
    arrays (or None), ports per station (inf = one per EV) and the
    :class:`~gridv2g.model.station.StationBlock` (``net_limits``: see
    :func:`~gridv2g.model.station.station_block`). With ``groups`` (:func:`fleet_groups`) the
    block's rows are the groups, ``ev`` stays per EV."""
    st = data.stations
    ev = station_ev_arrays(data)
    ess = ess_arrays(data)
    ports = st.stations.ports.astype(float).fillna(np.inf).to_numpy()
    charger_station = st.stations.index.get_indexer(st.chargers.station).astype(int)
    block = station_block(
        ev if groups is None else groups.arrays,
        len(st.stations),
        data.horizon.hours,
        ports,
        st.chargers.p_max_kw.to_numpy(float),
        charger_station,
        soft_target=data.soft_target,
        exclusive=data.exclusive,
        ess=ess,
        net_limits=net_limits,
    )
    return ev, ess, ports, block


def set_station_limits(block: StationBlock, data: StationData) -> None:
    """Set the block's import/export limit Parameters [kW] from ``data`` (NaN: no limit)."""
    for key, values in station_limits_kw(data).items():
        block.params[key].value = values
