"""EV sessions: the session table, its checks, plug-in windows on a horizon, and samplers.

The session table (DESIGN.md exchange format) has one row per EV visit (a "session"), is
indexed by ``ev_id`` (str) and has the columns of :data:`SESSION_COLUMNS`:

============================  ==========  ===================================================
column                        unit        meaning
============================  ==========  ===================================================
``station``                   -           station the EV plugs in at
``arrival``, ``departure``    time        plug-in and plug-out times (pd.Timestamp)
``e_arrival_kwh``             kWh         battery energy at arrival
``e_target_kwh``              kWh         energy the driver asks for at departure
``capacity_kwh``              kWh         battery capacity
``p_charge_max_kw``           kW          charge limit (grid side) of EV and charger
``p_discharge_max_kw``        kW          discharge limit (grid side)
``eta_charge``                -           charging efficiency in (0, 1]: battery gains eta*P
``eta_discharge``             -           discharging efficiency in (0, 1]: battery loses P/eta
``v2g``                       -           the driver allows discharging
``charger`` (optional)        -           charger whose limit ports share; "" = own charger
``e_min_kwh`` (optional)      kWh         lower energy limit while plugged in; default 0
``e_max_kwh`` (optional)      kWh         upper energy limit while plugged in; default capacity
``ev_type`` (optional)        -           free label (e.g. Gao 2019 type "I"); default ""
``mode`` (optional)           -           free label (e.g. a V2A mode of Mao 2018); default ""
============================  ==========  ===================================================

:func:`sessions_frame` normalises any table or list of records to this form (dtypes, defaults,
rows sorted by arrival then ev_id) without judging the physics; :func:`check_sessions` judges
it and names every offending EV with its numbers; :func:`read_sessions` does both for a CSV
file and names the file and the line of each faulty row.

On a :class:`~gridv2g.profiles.Horizon` an EV is plugged in during the WHOLE periods between its
arrival and its departure (:func:`plug_windows`, :func:`plug_mask`): arrival rounded up, departure
rounded down to period boundaries.

Samplers (each seeded, reproducible, returning a checked session table):

- :func:`sample_truncated_gaussian`: Mao, Zhang & Zhou 2018 (seed 002), Table 1.
- :func:`sample_parking_lot`: Gao, Wu & Xu 2019 (seed 004), appendix A (M/M/Z/Z parking lot),
  eq. 51-52 (daily distance -> arrival energy), Table 1 (EV types).
- :func:`sample_reservations`: Cao et al. 2024 (seed 003), reservation requests.
- :func:`seed001_lot`: the illustrative 20-EV overnight lot of seed 001.
"""

from gridv2g.fleet.checks import check_sessions
from gridv2g.fleet.gao2019 import (
    DISTANCE_LN_MU,
    DISTANCE_LN_SIGMA,
    ETA_GAO2019,
    EV_TYPES_GAO2019,
    LOT_RATE_PER_H,
    SOC_FLOOR,
    arrival_energy_from_distance,
    daily_distance_km,
    mmzz_stationary,
    sample_ev_types,
    sample_parking_lot,
)
from gridv2g.fleet.io import read_sessions
from gridv2g.fleet.options import OPTIONS, Option, check_options
from gridv2g.fleet.registry import (
    SAMPLERS,
    check_sampler_options,
    sample_sessions,
    sampler,
    sampler_options,
)
from gridv2g.fleet.samplers import sample_reservations, sample_truncated_gaussian, seed001_lot
from gridv2g.fleet.scenarios import mean_scenario, sample_scenarios
from gridv2g.fleet.sessions import (
    ENERGY_TOL_KWH,
    INDEX,
    MAX_LISTED,
    REQUIRED,
    SESSION_COLUMNS,
    SameAs,
    plug_mask,
    plug_windows,
    sessions_frame,
)
