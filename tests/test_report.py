"""report.html without a browser: self-contained, every input text escaped, every figure of
the folder embedded; the grid figures show the numbers of the result tables and summary."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from report_cases import small_case, write_report

import gridv2g as g
from gridv2g.plots import feeder_figures

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def ieee33_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report") / "ieee33"
    return write_report("grid_ieee33_fleet", folder, name="evil_case", description=EVIL)


def test_report_is_self_contained_and_escaped(ieee33_folder):
    text = (ieee33_folder / "report.html").read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert 'src="http' not in text and 'href="http' not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    stems = {p.stem for p in ieee33_folder.glob("*.png")}
    assert {"substation_voltage", "feeder_map", "voltage_heatmap", "voltage_profile"} <= stems
    assert {"line_loading", "stations", "ev_energy"} <= stems
    embedded = set(
        re.findall(r'<figure id="fig-([^"]+)"><img alt="[^"]*" src="data:image/png', text)
    )
    assert embedded == stems | {"validation"}  # the replay's figure: on the page only


@pytest.fixture(scope="module", params=["grid_ieee33_fleet", "grid_ieee123_unbalanced"])
def result(request):
    return g.solve(small_case(request.param))


def test_node_voltages_are_the_summary_definition(result):
    nodes = result.node_voltages()
    s = result.summary
    assert nodes.min().min() == pytest.approx(s["vmin_pu"], abs=1e-12)
    at = nodes.stack().idxmin()
    assert (at[0], str(at[1])) == (s["vmin_time"], s["vmin_bus"])
    assert str(result.data.feeder.source_bus) not in {n.split(".")[0] for n in nodes.columns}


def test_substation_figure_names_the_worst_node_and_plots_the_summary_band(result):
    fig = g.plots.substation_and_voltage(result)
    ax = fig.axes[1]
    lines = {line.get_label(): line for line in ax.get_lines()}
    lowest = next(v for k, v in lines.items() if k.startswith("lowest"))
    assert np.min(lowest.get_ydata()) == pytest.approx(result.summary["vmin_pu"], abs=1e-12)
    texts = [t.get_text() for t in ax.texts]
    bus, _, phase = result.summary["vmin_bus"].partition(".")
    assert any(f"bus {bus}" in t and (not phase or f"phase {phase}" in t) for t in texts)
    limits = sorted(float(line.get_ydata()[0]) for line in ax.get_lines() if line.get_ls() == "--")
    assert limits == [result.data.vmin_pu, result.data.vmax_pu]


def test_heatmap_is_res_bus_unstacked(result):
    fig = feeder_figures.voltage_heatmap(result)
    images = [im for ax in fig.axes for im in ax.get_images()]
    source = str(result.data.feeder.source_bus)
    if len(result.res_bus_phase):
        phases = sorted(result.res_bus_phase.index.get_level_values("phase").unique())
        tables = {p: result.res_bus_phase.vm_pu.xs(p, level="phase") for p in phases}
    else:
        tables = {None: result.res_bus.vm_pu}
    assert len(images) == len(tables)
    for im, (phase, table) in zip(images, tables.items(), strict=True):
        order = feeder_figures.voltage_matrix(result, phase).index
        assert source not in order
        wide = table.unstack("time")
        wide.index = wide.index.astype(str)
        np.testing.assert_array_equal(
            np.ma.filled(im.get_array(), np.nan), wide.reindex(order).to_numpy()
        )


def test_profile_plots_res_bus_at_the_worst_period(result):
    fig = feeder_figures.voltage_profile(result)
    t = pd.Timestamp(result.summary["vmin_time"])
    ax = fig.axes[0]
    points = [line for line in ax.get_lines() if str(line.get_gid()).startswith("profile-")]
    plotted = np.sort(np.concatenate([line.get_ydata() for line in points]))
    if len(result.res_bus_phase):
        expected = result.res_bus_phase.vm_pu.xs(t, level="time")
    else:
        expected = result.res_bus.vm_pu.xs(t, level="time")
    np.testing.assert_allclose(plotted, np.sort(expected.to_numpy()), atol=0)
    assert plotted.min() <= result.summary["vmin_pu"] + 1e-12


def test_ieee123_band_leaves_the_source_out():
    result = g.solve(small_case("grid_ieee123_der"))
    fig = g.plots.substation_and_voltage(result)
    lowest = next(line for line in fig.axes[1].get_lines() if line.get_label().startswith("lowest"))
    # the source bus sits at v_source_pu = 0.965; the band is the summary's (bus 66 ...)
    assert np.min(lowest.get_ydata()) == pytest.approx(result.summary["vmin_pu"])
    assert result.summary["vmin_pu"] > result.data.v_source_pu + 1e-3
