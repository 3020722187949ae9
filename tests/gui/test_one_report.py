"""One report and one painter: what `covidseg predict` writes and what the GUI shows or
exports for the same case come from the same code (covidseg.report).

The pictures: the GUI viewer's overlay, the GUI report's overlay and predict's overlay.png
are the same pixels for the same slice, masks and grey window. The numbers: the GUI's JSON,
CSV and HTML reports say what predict's report.json says.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from covidseg.gui import overlay as ov
from covidseg.gui.export import key_picture
from covidseg.gui.formatting import format_value
from covidseg.report import render
from covidseg.report.model import REGIONS, ROWS, region_values

# 2-D inputs of at least 320 pixels a side: overlay.png holds the slice unscaled.
FLAT_KINDS = ["image", "dicom-file"]


def _segmented(qtbot, run_job, window, opened, inputs, kind):
    opened(inputs[kind])
    assert run_job(qtbot, window, window.segment) == ("segment", "finished"), window.banner.text()
    return window.prediction


def _picture_of_slice(folder, shape) -> np.ndarray:
    """The slice's part of predict's overlay.png (pasted centred above the legend strip)."""
    rgb = np.asarray(Image.open(folder / "overlay.png").convert("RGB"))
    h, w = shape
    left = (rgb.shape[1] - w) // 2
    return rgb[:h, left:left + w]


@pytest.mark.parametrize("kind", FLAT_KINDS)
def test_viewer_report_and_predict_draw_the_same_overlay(qtbot, run_job, window, opened, inputs, cli_outputs,
                                                         kind):
    pred = _segmented(qtbot, run_job, window, opened, inputs, kind)
    arr = pred.image.array
    assert arr.ndim == 2 and render.picture_scale(arr.shape) == 1
    cli = _picture_of_slice(cli_outputs[kind], arr.shape)
    if kind == "image":  # (the DICOM slice is below the lungs: it checks the HU grey window)
        assert pred.lung.any() and (pred.classes > 0).any()  # an outline and fills to compare

    # The viewer, set to the grey window of the saved pictures, shows predict's overlay exactly.
    window.viewer.set_window(ov.DisplayWindow.from_range(*render.display_range(arr, pred.image.is_hu)))
    shown = window.viewer.overlay_rgb()
    assert np.array_equal(shown, cli)
    # ... and so does the GUI's HTML/PDF report picture.
    assert np.array_equal(np.asarray(key_picture(pred)), cli)

    # The same painter, not two that agree today: a change of opacity shows in both ways of
    # calling it (the viewer's options and the painter's own).
    half = ov.OverlayOptions(opacity=0.9)
    window.viewer.set_options(half)
    grey = render.grey(arr, *render.display_range(arr, pred.image.is_hu))
    assert np.array_equal(window.viewer.overlay_rgb(),
                          render.paint(grey, lung=pred.lung, classes=pred.classes, lesion=pred.lesion, options=half))
    assert not np.array_equal(window.viewer.overlay_rgb(), cli) or not (pred.classes > 0).any()


def test_report_picture_is_a_tile_of_predicts_montage(qtbot, run_job, window, opened, inputs, cli_outputs):
    """A volume: the GUI report's overlay of a slice is that slice's tile in overlay.png."""
    pred = _segmented(qtbot, run_job, window, opened, inputs, "nifti")
    picks = render.pick_slices(pred.lesion.sum(axis=(1, 2)), pred.lung.sum(axis=(1, 2)))
    rgb = np.asarray(Image.open(cli_outputs["nifti"] / "overlay.png").convert("RGB"))
    tiles = [np.asarray(key_picture(pred, k)) for k in picks]
    th, tw = tiles[0].shape[:2]
    columns = min(3, len(tiles))
    left = (rgb.shape[1] - tw * columns) // 2
    assert render.picture_scale(pred.image.array.shape[1:]) > 1 and th > pred.image.array.shape[1]
    for j, tile in enumerate(tiles):
        r, c = divmod(j, columns)
        top = r * (th + 20)  # each montage row: the tile and a 20-pixel caption line
        assert np.array_equal(rgb[top:top + th, left + c * tw:left + (c + 1) * tw], tile), picks[j]


@pytest.mark.parametrize("kind", ["image", "nifti"])
def test_gui_reports_say_what_report_json_says(qtbot, run_job, window, opened, inputs, cli_outputs, tmp_path,
                                               kind):
    _segmented(qtbot, run_job, window, opened, inputs, kind)
    cli = json.loads((cli_outputs[kind] / "report.json").read_text())

    # JSON: report.json's content, but for what belongs to the run (timings, files, manifest).
    assert run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.json")) == ("export", "finished")
    gui = json.loads((tmp_path / "r.json").read_text())
    skip = {"timings_s", "files", "run", "manifest"}
    assert {k: v for k, v in gui.items() if k not in skip} == {k: v for k, v in cli.items() if k not in skip}

    # CSV: one row per region report.json has, every number equal to report.json's.
    assert run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.csv")) == ("export", "finished")
    rows = {r["region"]: r for r in csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8"))}
    assert list(rows) == [r for r in REGIONS if cli["measurements"][r] is not None]
    for region, row in rows.items():
        want = cli["measurements"][region]
        for key in ("lung", "lesion", "ggo", "consolidation", "lesion_percent"):
            assert (row[key] == "") == (want[key] is None), (region, key)
            if want[key] is not None:
                assert float(row[key]) == want[key], (region, key)
        assert row["unit"] == cli["unit"] and row["mosmed_grade"] == (cli["severity"]["mosmed_grade"] or "")

    # HTML: every table cell is report.json's number, as the panel formats it.
    assert run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.html")) == ("export", "finished")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")

    class Region:  # report.json's region record seen as a RegionMeasure
        def __init__(self, record):
            self.__dict__.update(record)

    for region in REGIONS:
        record = cli["measurements"][region]
        values = region_values(None if record is None else Region(record))
        for row in ROWS:
            assert f">{format_value(row, values[row], cli['unit'])}</td>" in html, (region, row)


def test_gui_overlay_helpers_are_the_painters():
    """The viewer's names for the overlay are the report painter's objects, not copies."""
    assert ov.compose is render.paint and ov.lung_outline is render.lung_outline
    assert ov.OverlayOptions is render.OverlayOptions
    assert ov.default_window(np.array([[0.0, 4000.0]]), False) == ov.DisplayWindow.from_range(
        *render.display_range(np.array([[0.0, 4000.0]]), False))
