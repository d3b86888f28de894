"""IEEE 33-bus: the published Baran-Wu figures and pandapower's own case33bw."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from gridv2g.feeders.compare import opendss_solution, pandapower_summary

BARAN_WU_LOSSES_KW = 202.68  # published total active losses
BARAN_WU_VMIN_PU = 0.9131  # published minimum voltage, at bus 18


def test_data_matches_the_paper_totals(ieee33):
    s = ieee33.summary()
    assert (s["buses"], s["lines"]) == (33, 32)
    assert s["p_kw"] == pytest.approx(3715.0)
    assert s["q_kvar"] == pytest.approx(2300.0)
    assert ieee33.bus.vn_kv.unique().tolist() == [12.66]


def test_losses_and_min_voltage_are_the_published_figures(ieee33):
    net = ieee33.to_pandapower()
    pp.runpp(net, tolerance_mva=1e-10)
    losses_kw = 1000.0 * net.res_line.pl_mw.sum()
    assert losses_kw == pytest.approx(BARAN_WU_LOSSES_KW, rel=5e-4)
    vmin = net.res_bus.vm_pu.min()
    assert vmin == pytest.approx(BARAN_WU_VMIN_PU, abs=5e-5)
    assert net.bus.name[net.res_bus.vm_pu.idxmin()] == "18"


def test_bus_by_bus_agreement_with_pandapower_case33bw(ieee33):
    ours = ieee33.to_pandapower()
    ref = pn.case33bw()
    pp.runpp(ours, tolerance_mva=1e-10)
    pp.runpp(ref, tolerance_mva=1e-10)
    # case33bw numbers its buses 0..32 in the paper's order 1..33
    ours_vm = dict(zip(ours.bus.name, ours.res_bus.vm_pu, strict=True))
    ref_vm = ref.res_bus.vm_pu.sort_index().to_numpy()
    ours_sorted = np.array([ours_vm[str(i)] for i in range(1, 34)])
    assert np.max(np.abs(ours_sorted - ref_vm)) < 1e-6


def test_opendss_agrees_with_pandapower_on_the_balanced_feeder(ieee33):
    """The 3-phase export solved by OpenDSS is a second, independent AC solver."""
    dss = opendss_solution(ieee33)
    summary, vm = pandapower_summary(ieee33)
    assert dss.summary["losses_kw"] == pytest.approx(summary["losses_kw"], rel=1e-5)
    phase_a = dss.res_node[dss.res_node.node == 1].set_index("bus").vm_pu
    assert np.max(np.abs(phase_a[vm.index] - vm)) < 1e-6
