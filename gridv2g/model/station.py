r"""Charging-station block: per-EV charge/discharge and energy, chargers, ports, storage.

One vectorized block over (EV x period), plug-in windows as masks (after the per-EV MILP of
seed 001 and the station model of seed 000, Wu):

.. math::
    e_{n,t+1} = e_{n,t} + \Delta t\,(\eta^c_n c_{n,t} - d_{n,t} / \eta^d_n), \qquad
    e_{n,0} = e^{arr}_n

    0 \le c_{n,t} \le P^{c}_n m_{n,t}, \qquad 0 \le d_{n,t} \le P^{d}_n m_{n,t}
    \quad (P^d_n = 0 \text{ without V2G})

    e^{min}_n \le e_{n,t} \le e^{max}_n, \qquad
    e_{n,d_n} + s_n \ge e^{target}_n \quad (s_n = 0 \text{ hard}, \ s_n \ge 0 \text{ soft})

with the plug-in mask :math:`m` (1 while the EV is parked, periods :math:`a_n \le t < d_n`).
Limits at every level of a site: per EV (above), per charger shared by its ports
:math:`\sum_{n \in k} (c + d) \le P_k`, per station on net import and net export (Parameters:
constants or time profiles, e.g. transformer headroom). Integer options: charge/discharge
exclusiveness (:math:`u^c + u^d \le 1`) and **ports** fewer than EVs: an EV charges or
discharges only while it holds a port, :math:`\sum_n y_{n,t} \le J` per station. With
identical ports this count constraint is exactly seed 000's assignment :math:`z_{t,i,j}`
(an assignment exists iff the count fits, ports are then numbered by interval colouring after
the solve, :func:`assign_ports`) with J times fewer binaries. Binaries exist only for plugged
(EV, period) pairs. **Station storage (ESS)**: energy recursion with its efficiencies, power
and SOC bounds, and an end-of-horizon rule (``"cyclic"``: end >= start, ``"equal"``, ``"free"``).
Units: kW, kWh, hours; no per-unit here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.sparse as sp


@dataclass
class EVArrays:
    """Plain per-EV arrays (length n) and the (n x T) plug-in mask."""

    station: np.ndarray  # station index of each EV
    charger: np.ndarray  # charger index of each EV (-1: its own charger, no shared limit)
    e_arrival_kwh: np.ndarray
    e_target_kwh: np.ndarray
    e_min_kwh: np.ndarray
    e_max_kwh: np.ndarray
    p_charge_max_kw: np.ndarray
    p_discharge_max_kw: np.ndarray  # 0 where V2G is not allowed
    eta_charge: np.ndarray
    eta_discharge: np.ndarray
    departure_index: np.ndarray  # energy boundary 0..T at which the target applies
    mask: np.ndarray  # bool (n x T)


@dataclass
class ESSArrays:
    """Station storage units (length m)."""

    station: np.ndarray
    e_kwh: np.ndarray
    p_kw: np.ndarray
    eta_charge: np.ndarray
    eta_discharge: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray
    soc_initial: np.ndarray
    end_rule: list[str]
    exclusive: bool = False


@dataclass
class StationBlock:
    """The block's (n x T) charge ``c`` and discharge ``d`` [kW], energy ``e`` (n x T+1) [kWh]
    at period boundaries, per-EV ``shortfall`` [kWh], ``net_kw`` (station x period) net import,
    ``occupancy`` (n x T, 1 while an EV holds a port; None without binaries), storage, and the
    constraints by name."""

    c: cp.Expression
    d: cp.Expression
    e: cp.Expression
    shortfall: cp.Expression
    net_kw: cp.Expression  # (station x period) net import
    occupancy: cp.Expression | None
    ess_c: cp.Expression | None = None
    ess_d: cp.Expression | None = None
    ess_e: cp.Variable | None = None
    constraints: dict[str, list] = field(default_factory=dict)
    params: dict[str, cp.Parameter] = field(default_factory=dict)
    integer: bool = False

    def all_constraints(self) -> list:
        return [c for group in self.constraints.values() for c in group]


def _scatter(mask: np.ndarray) -> sp.csr_matrix:
    """(n*T x k) 0/1 matrix placing k values at the True entries of ``mask`` (row-major)."""
    idx = np.flatnonzero(mask.ravel())
    return sp.csr_matrix(
        (np.ones(len(idx)), (idx, np.arange(len(idx)))), shape=(mask.size, len(idx))
    )


def masked_binary(mask: np.ndarray, name: str) -> cp.Expression:
    """A boolean (n x T) expression that is a variable on plugged entries and 0 elsewhere."""
    n, T = mask.shape
    k = int(mask.sum())
    if k == 0:
        return cp.Constant(np.zeros((n, T)))
    y = cp.Variable(k, boolean=True, name=name)
    return cp.reshape(_scatter(mask) @ y, (n, T), order="C")


#: most EVs summed in one row of a station's net import; larger sums go through partial
#: sums (exact). Why: a (station, period) row over hundreds of EVs is a dense row that makes
#: the interior-point KKT factorization fill in (measured on 5,000 EVs: Clarabel's setup 29 s
#: -> 1.8 s with blocks of ~70, issue 11); a few auxiliary variables cost nothing.
PARTIAL_SUM_BLOCK = 64


def partial_sums(
    A: sp.csr_matrix, x: cp.Expression, block: int | None = PARTIAL_SUM_BLOCK, name: str = "station"
) -> tuple[cp.Expression, list]:
    """``A @ x`` (sums of per-entry powers: rows of A pick entries of ``x``, a vector or a
    matrix whose rows are the entries), through partial sums of at most ``block`` entries when
    a row is longer; returns the expression and the equalities that tie the auxiliary partial
    sums (none when no row is longer, or ``block`` is None)."""
    A = A.tocsr()
    counts = np.diff(A.indptr)
    if block is None or not len(counts) or counts.max() <= block:
        return A @ x, []
    # entry j of row r goes to block (r, position // block)
    row_of = np.repeat(np.arange(A.shape[0]), counts)
    pos = np.arange(A.nnz) - A.indptr[row_of]
    blocks = (counts + block - 1) // block
    first_block = np.concatenate([[0], np.cumsum(blocks)[:-1]])
    block_of = first_block[row_of] + pos // block
    nblocks = int(blocks.sum())
    B = sp.csr_matrix((A.data, (block_of, A.indices)), shape=(nblocks, A.shape[1]))
    S = sp.csr_matrix(
        (np.ones(nblocks), (np.repeat(np.arange(A.shape[0]), blocks), np.arange(nblocks))),
        shape=(A.shape[0], nblocks),
    )
    z = cp.Variable((nblocks, *x.shape[1:]), name=f"{name}-partial_sum")
    return S @ z, [z == B @ x]


def _station_sum(A: sp.csr_matrix, x: cp.Expression, cons: dict) -> cp.Expression:
    """``A @ x`` through :func:`partial_sums` (ties in ``cons["station-partial_sums"]``)."""
    expr, ties = partial_sums(A, x)
    if ties:
        cons["station-partial_sums"] = ties
    return expr


def _latest_before(rows: np.ndarray, cols: np.ndarray, n: int, bounds: np.ndarray) -> np.ndarray:
    """For query pairs (EV ``n_q``, boundary ``b_q``) flattened in ``bounds`` ((n x B) array of
    boundaries, one row per EV): the index of the EV's last plugged entry in a period before
    the boundary, or -1 when it has none (its energy there is still the arrival energy)."""
    T1 = int(max(cols.max(initial=0), bounds.max(initial=0))) + 2
    keys = rows.astype(np.int64) * T1 + cols
    ev = np.repeat(np.arange(n), bounds.shape[1])
    query = ev.astype(np.int64) * T1 + bounds.ravel()
    k = np.searchsorted(keys, query, side="left") - 1
    valid = k >= 0
    valid[valid] &= rows[k[valid]] == ev[valid]
    return np.where(valid, k, -1)


def _pick(index: np.ndarray, size: int) -> sp.csr_matrix:
    """(len(index) x size) 0/1 matrix picking entry ``index[q]`` in row q (no 1 where -1)."""
    ok = np.flatnonzero(index >= 0)
    return sp.csr_matrix((np.ones(len(ok)), (ok, index[ok])), shape=(len(index), size))


def station_block(
    ev: EVArrays,
    n_stations: int,
    hours: float,
    ports: np.ndarray,
    charger_p_max_kw: np.ndarray,
    charger_station: np.ndarray,
    soft_target: bool = False,
    exclusive: bool = False,
    ess: ESSArrays | None = None,
    ess_initial_kwh: cp.Expression | None = None,
    net_limits: bool = True,
) -> StationBlock:
    """Build the block. ``ports``: per station (``inf`` = one per EV, no binaries);
    ``charger_p_max_kw`` per shared charger. The import/export limits are Parameters
    ``params["p_import_max_kw"]`` / ``["p_export_max_kw"]`` (station x period; ``inf`` is
    not allowed in a Parameter, use a large number for "none"). ``ess_initial_kwh``: the
    storage energy at the start as an expression (e.g. a first-stage decision of a two-stage
    model); default ``soc_initial * e_kwh``. ``net_limits=False`` leaves the import/export
    limits out of the block (its Parameters still exist): a problem that splits the net
    import into bounded import and export variables bounds those instead (exact when the buy
    price is at least the sell price, :class:`~gridv2g.problems.station.StationSchedule`).

    Variables exist only where they can be non-zero: charge and energy on the K plugged
    (EV, period) entries, discharge on the plugged entries of V2G EVs. An overnight lot is
    plugged about half the day, so this halves the LP against full (EV x period) arrays
    bounded to 0 outside the windows, which interior-point solvers do not presolve away.
    ``c``, ``d`` (n x T) and ``e`` (n x T+1, energy at period boundaries) are returned as
    expressions of those variables, exactly 0 (resp. the arrival or departure energy)
    outside the windows.
    """
    n, T = ev.mask.shape
    rows, cols = np.nonzero(ev.mask)  # row-major: EV by EV, periods in order
    K = len(rows)
    can_discharge = ev.p_discharge_max_kw[rows] > 0
    kd = np.flatnonzero(can_discharge)  # plugged entries of V2G EVs
    ck = cp.Variable(K, nonneg=True, name="ev-p_charge")
    dk = cp.Variable(len(kd), nonneg=True, name="ev-p_discharge")
    Pd = sp.csr_matrix((np.ones(len(kd)), (kd, np.arange(len(kd)))), shape=(K, len(kd)))
    d_k = Pd @ dk  # discharge on all K entries (0 where no V2G)
    X = _scatter(ev.mask)
    c = cp.reshape(X @ ck, (n, T), order="C")
    d = cp.reshape(X @ d_k, (n, T), order="C")
    cons: dict[str, list] = {}

    need_port = np.isfinite(ports).any()
    integer = bool(exclusive or need_port)
    occupancy = None  # (K,) expression: the EV holds a port (charges or discharges)
    pc = ev.p_charge_max_kw[rows]
    pdis = ev.p_discharge_max_kw[rows[kd]]
    if exclusive:
        uc = cp.Variable(K, boolean=True, name="ev-charging") if K else None
        ud = cp.Variable(len(kd), boolean=True, name="ev-discharging") if len(kd) else None
        cons["ev-p_limits"] = [ck <= cp.multiply(pc, uc)] if K else []
        if len(kd):
            cons["ev-p_limits"].append(dk <= cp.multiply(pdis, ud))
            cons["ev-exclusive"] = [uc[kd] + ud <= 1]
            occupancy = uc + Pd @ ud
        else:
            occupancy = uc
    elif need_port and K:
        y = cp.Variable(K, boolean=True, name="ev-port")
        cons["ev-p_limits"] = [ck <= cp.multiply(pc, y)]
        if len(kd):
            cons["ev-p_limits"].append(dk <= cp.multiply(pdis, y[kd]))
        occupancy = y
    else:
        cons["ev-p_limits"] = [ck <= pc]
        if len(kd):
            cons["ev-p_limits"].append(dk <= pdis)

    # energy at the end of each plugged period: e_k = e_(k-1) + h (eta_c c - d / eta_d), the
    # first entry of each EV starting from its arrival energy (before it, c = d = 0)
    ek = cp.Variable(K, name="ev-e")
    first = np.ones(K, dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    prev = np.flatnonzero(~first)
    shift = sp.csr_matrix((np.ones(len(prev)), (prev, prev - 1)), shape=(K, K))
    start = np.where(first, ev.e_arrival_kwh[rows], 0.0)
    step = hours * (
        cp.multiply(ev.eta_charge[rows], ck) - cp.multiply(1.0 / ev.eta_discharge[rows], d_k)
    )
    cons["ev-energy_balance"] = [ek - shift @ ek == start + step] if K else []
    lo = np.minimum(ev.e_min_kwh, ev.e_arrival_kwh)[rows]
    hi = np.maximum(ev.e_max_kwh, ev.e_arrival_kwh)[rows]
    cons["ev-energy_bounds"] = [ek >= lo, ek <= hi] if K else []

    # energy at every period boundary 0..T, and at departure, as picks of e_k
    boundaries = np.broadcast_to(np.arange(T + 1), (n, T + 1))
    at_k = _latest_before(rows, cols, n, boundaries)
    arrival = np.where(at_k < 0, np.repeat(ev.e_arrival_kwh, T + 1), 0.0)
    e = cp.reshape(_pick(at_k, K) @ ek + arrival, (n, T + 1), order="C")
    dep_k = _latest_before(rows, cols, n, ev.departure_index[:, None])
    at_departure = _pick(dep_k, K) @ ek + np.where(dep_k < 0, ev.e_arrival_kwh, 0.0)
    if soft_target:
        shortfall = cp.Variable(n, nonneg=True, name="ev-shortfall")
        cons["ev-target"] = [at_departure + shortfall >= ev.e_target_kwh]
    else:
        shortfall = cp.Constant(np.zeros(n))
        cons["ev-target"] = [at_departure >= ev.e_target_kwh]

    # shared chargers: one row per (charger, period)
    on_charger = ev.charger[rows] >= 0
    if on_charger.any() and len(charger_p_max_kw):
        kk = np.flatnonzero(on_charger)
        nch = len(charger_p_max_kw)
        C = sp.csr_matrix(
            (np.ones(len(kk)), (ev.charger[rows[kk]] * T + cols[kk], kk)), shape=(nch * T, K)
        )
        cons["charger-p_limit"] = [C @ (ck + d_k) <= np.repeat(charger_p_max_kw, T)]

    # stations: net import / export, ports
    A = sp.csr_matrix(
        (np.ones(K), (ev.station[rows] * T + cols, np.arange(K))), shape=(n_stations * T, K)
    )
    net = cp.reshape(_station_sum(A, ck - d_k, cons), (n_stations, T), order="C")
    ess_c = ess_d = ess_e = None
    if ess is not None and len(ess.e_kwh):
        m = len(ess.e_kwh)
        ess_c = cp.Variable((m, T), nonneg=True, name="ess-p_charge")
        ess_d = cp.Variable((m, T), nonneg=True, name="ess-p_discharge")
        ess_e = cp.Variable((m, T + 1), name="ess-e")
        p_col = ess.p_kw[:, None] @ np.ones((1, T))
        if ess.exclusive:
            ue = cp.Variable((m, T), boolean=True, name="ess-charging")
            cons["ess-p_limits"] = [
                ess_c <= cp.multiply(p_col, ue),
                ess_d <= cp.multiply(p_col, 1 - ue),
            ]
            integer = True
        else:
            cons["ess-p_limits"] = [ess_c <= p_col, ess_d <= p_col]
        cons["ess-energy_balance"] = [
            ess_e[:, 1:]
            == ess_e[:, :-1]
            + hours
            * (
                cp.multiply(ess.eta_charge[:, None], ess_c)
                - cp.multiply(1.0 / ess.eta_discharge[:, None], ess_d)
            ),
            ess_e[:, 0]
            == (ess.soc_initial * ess.e_kwh if ess_initial_kwh is None else ess_initial_kwh),
        ]
        cons["ess-energy_bounds"] = [
            ess_e >= (ess.soc_min * ess.e_kwh)[:, None],
            ess_e <= (ess.soc_max * ess.e_kwh)[:, None],
        ]
        rules = np.asarray(ess.end_rule)
        cyc, eq = np.flatnonzero(rules == "cyclic"), np.flatnonzero(rules == "equal")
        cons["ess-end"] = []
        if len(cyc):
            cons["ess-end"].append(ess_e[cyc, T] >= ess_e[cyc, 0])
        if len(eq):
            cons["ess-end"].append(ess_e[eq, T] == ess_e[eq, 0])
        E = sp.csr_matrix((np.ones(m), (ess.station, np.arange(m))), shape=(n_stations, m))
        net = net + E @ (ess_c - ess_d)

    p_import = cp.Parameter((n_stations, T), nonneg=True, name="station-p_import_max")
    p_export = cp.Parameter((n_stations, T), nonneg=True, name="station-p_export_max")
    if net_limits:
        cons["station-import"] = [net <= p_import]
        cons["station-export"] = [-net <= p_export]
    if need_port and occupancy is not None:
        limited = np.flatnonzero(np.isfinite(ports))
        held = cp.reshape(A @ occupancy, (n_stations, T), order="C")
        cons["station-ports"] = [held[limited, :] <= ports[limited][:, None] @ np.ones((1, T))]
    return StationBlock(
        c=c,
        d=d,
        e=e,
        shortfall=shortfall,
        net_kw=net,
        occupancy=None if occupancy is None else cp.reshape(X @ occupancy, (n, T), order="C"),
        ess_c=ess_c,
        ess_d=ess_d,
        ess_e=ess_e,
        constraints=cons,
        params={"p_import_max_kw": p_import, "p_export_max_kw": p_export},
        integer=integer,
    )


def assign_ports(occupied: np.ndarray, station: np.ndarray, ports: np.ndarray) -> np.ndarray:
    """Number the ports: (n x T) occupancy -> port index per EV and period (-1: none).

    Greedy interval colouring per station: an EV keeps its port while it stays connected, a
    port freed in a period is reused from the next one, so no port ever holds two EVs. With
    ``ports`` infinite every connected EV gets its own number.
    """
    n, T = occupied.shape
    port = np.full((n, T), -1, dtype=int)
    for s in np.unique(station):
        evs = np.flatnonzero(station == s)
        holder: dict[int, int] = {}  # port -> EV holding it in the previous period
        for t in range(T):
            now = set(evs[occupied[evs, t]])
            holder = {p: i for p, i in holder.items() if i in now}
            kept = set(holder.values())
            free = (p for p in range(len(evs) + 1) if p not in holder)
            for i in sorted(now - kept):
                holder[next(free)] = i
            for p, i in holder.items():
                port[i, t] = p
            if np.isfinite(ports[s]) and len(holder) > ports[s]:
                raise RuntimeError(f"station {s}: {len(holder)} EVs on {ports[s]} ports at {t}")
    return port
