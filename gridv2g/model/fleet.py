"""The station block of an EV fleet built from a :class:`~gridv2g.inputs.StationData`: shared
by the station-only problems and the grid co-optimization (which ties ``block.net_kw`` to
the stations' connection points)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridv2g.inputs import StationData
from gridv2g.model.arrays import ess_arrays, station_ev_arrays, station_limits_kw
from gridv2g.model.station import ESSArrays, EVArrays, StationBlock, station_block


@dataclass
class FleetModel:
    """A station block with the arrays it was built from (see :func:`fleet_block`)."""

    ev: EVArrays
    ess: ESSArrays | None
    ports: np.ndarray
    block: StationBlock


def fleet_block(data: StationData):
    """The station block of ``data``: ``(ev, ess, ports, block)`` with per-EV arrays, storage
    arrays (or None), ports per station (inf = one per EV) and the
    :class:`~gridv2g.model.station.StationBlock`."""
    st = data.stations
    ev = station_ev_arrays(data)
    ess = ess_arrays(data)
    ports = st.stations.ports.astype(float).fillna(np.inf).to_numpy()
    charger_station = st.stations.index.get_indexer(st.chargers.station).astype(int)
    block = station_block(
        ev,
        len(st.stations),
        data.horizon.hours,
        ports,
        st.chargers.p_max_kw.to_numpy(float),
        charger_station,
        soft_target=data.soft_target,
        exclusive=data.exclusive,
        ess=ess,
    )
    return ev, ess, ports, block


def set_station_limits(block: StationBlock, data: StationData) -> None:
    """Set the block's import/export limit Parameters [kW] from ``data`` (NaN: no limit)."""
    for key, values in station_limits_kw(data).items():
        block.params[key].value = values
