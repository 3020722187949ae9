"""Correcting masks by hand: brush and eraser change the numbers by exactly the painted
voxels, undo/redo restore them, edited masks export, and the report says they were edited."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from covidseg.gui.editing import Brush, MaskEditor, disk
from covidseg.quantify import measure, split_left_right


@pytest.fixture()
def segmented_volume(qtbot, run_job, window, opened, inputs):
    opened(inputs["nifti"])
    assert run_job(qtbot, window, window.segment) == ("segment", "finished")
    return window.prediction


def _lung_spot(pred, k):
    """A (row, col) inside the lung of slice k with the most lesion-free lung around it."""
    from scipy import ndimage as ndi

    free = (pred.lung[k] & ~pred.lesion[k]).astype(float)
    score = ndi.uniform_filter(free, size=3) * ndi.binary_erosion(pred.lung[k], iterations=1)
    assert score.max() > 0, "no lung on this slice"
    r, c = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(r), int(c)


def _clear_slice(window, k):
    """Erase all lesion of slice k (the random test model marks lesion nearly everywhere);
    returns the prediction after that edit."""
    h, w = window.prediction.lung.shape[-2:]
    assert window.editor.stroke(0, k, Brush("lesion", erase=True, diameter=3 * max(h, w)), [(h / 2, w / 2)])
    window._after_edit()
    return window.editor.prediction(copy=True)


def test_disk_is_round_and_to_scale():
    d = disk((41, 41), [(20.5, 20.5)], 9)
    assert d.sum() == pytest.approx(np.pi * 4.5 ** 2, rel=0.15)
    assert d[20].sum() == 9 and d[:, 20].sum() == 9
    tall = disk((41, 41), [(20.5, 20.5)], 9, aspect=3.0)  # rows 3x as far apart: a third as many rows
    assert tall[:, 20].sum() == 3 and tall[20].sum() == 9
    line = disk((20, 60), [(10.5, 5.5), (10.5, 50.5)], 3)
    assert line[10, 5:51].all()  # a quick drag leaves no gaps


def test_brush_changes_numbers_by_the_painted_voxels(qtbot, window, segmented_volume):
    k = int(np.argmax(segmented_volume.lung.sum(axis=(1, 2))))
    pred = _clear_slice(window, k)
    m0 = pred.measurements
    assert not pred.lesion[k].any() and m0.slice_lesion[k] == 0
    window.viewer.set_index(k)
    r, c = _lung_spot(pred, k)
    voxel_ml = float(np.prod(pred.image.spacing)) / 1000.0
    painted = disk(pred.lung[k].shape, [(r + 0.5, c + 0.5)], 3)
    assert (painted & pred.lung[k]).sum() == painted.sum()  # all inside the lung
    new_lesion = int((painted & ~pred.lesion[k]).sum())
    ggo_to_cons = int((painted & (pred.classes[k] == 1)).sum())
    assert new_lesion > 0

    window.edit_label.setCurrentIndex(window.edit_label.findData("consolidation"))
    window.brush_size.setValue(3)
    window.act_brush.setChecked(True)
    assert window.viewer.tool == "paint"
    # a stroke as the viewer sends it: press and release at one point
    window.viewer.stroke.emit("begin", 0, k, r + 0.5, c + 0.5)
    window.viewer.stroke.emit("end", 0, k, r + 0.5, c + 0.5)
    m1 = window.prediction.measurements
    n = new_lesion
    assert m1.whole.lesion == pytest.approx(m0.whole.lesion + n * voxel_ml)
    assert m1.whole.consolidation == pytest.approx(m0.whole.consolidation + (n + ggo_to_cons) * voxel_ml)
    assert m1.whole.ggo == pytest.approx(m0.whole.ggo - ggo_to_cons * voxel_ml)
    assert m1.whole.lung == pytest.approx(m0.whole.lung)
    assert m1.whole.lesion_percent == pytest.approx(100 * m1.whole.lesion / m1.whole.lung)
    assert m1.slice_lesion[k] == pytest.approx(m0.slice_lesion[k] + n * np.prod(pred.image.spacing[1:]))
    # the panel and the curve show the edited numbers
    assert window.results.cell_value("consolidation", "whole") == pytest.approx(m1.whole.consolidation)
    assert window.results.curve.values[k] == pytest.approx(m1.slice_lesion[k])
    assert window.act_undo.isEnabled() and "(edits: 2)" in window.edit_status.text()
    assert window.viewer.overlay_rgb()[r, c].tolist() != window.viewer.original_rgb()[r, c].tolist()

    # the same numbers as measuring the edited masks the way predict does
    e = window.prediction
    ref = measure(e.lung, e.lesion, e.classes, spacing=pred.image.spacing, orientation=pred.image.orientation,
                  sides=split_left_right(e.lung, pred.image.orientation))
    assert ref == m1

    # the consolidation eraser on the same spot removes all the painted voxels
    window.act_eraser.setChecked(True)
    window.viewer.stroke.emit("begin", 0, k, r + 0.5, c + 0.5)
    window.viewer.stroke.emit("end", 0, k, r + 0.5, c + 0.5)
    cons_before = int((painted & (pred.classes[k] == 2)).sum())
    assert window.prediction.measurements.whole.lesion == pytest.approx(
        m0.whole.lesion - (painted & pred.lesion[k]).sum() * voxel_ml)
    assert window.prediction.measurements.whole.consolidation == pytest.approx(
        m0.whole.consolidation - cons_before * voxel_ml)

    window.act_undo.trigger()  # back to the painted state
    assert window.prediction.measurements.whole.consolidation == pytest.approx(m1.whole.consolidation)
    window.act_undo.trigger()  # back to the cleared slice
    assert window.prediction.measurements == m0
    window.act_undo.trigger()  # back to the prediction
    assert window.prediction.measurements == segmented_volume.measurements
    assert not window.act_undo.isEnabled() and window.act_redo.isEnabled()
    window.act_redo.trigger()
    window.act_redo.trigger()
    assert window.prediction.measurements.whole.consolidation == pytest.approx(m1.whole.consolidation)


def test_erasing_lung_erases_its_lesion_and_regrades(segmented_volume):
    pred = segmented_volume
    ed = MaskEditor(pred)
    k = int(np.argmax(pred.lesion.sum(axis=(1, 2))))
    lesion_k = pred.lesion[k].copy()
    assert lesion_k.any()
    ys, xs = np.nonzero(lesion_k)
    shape = lesion_k.shape
    big = max(shape) * 3  # one stroke covering the whole slice
    assert ed.stroke(0, k, Brush("lung", erase=True, diameter=big), [(shape[0] / 2, shape[1] / 2)])
    e = ed.prediction()
    assert not e.lung[k].any() and not e.lesion[k].any() and not e.classes[k].any()
    assert e.measurements.slice_lesion[k] == 0
    voxel_ml = float(np.prod(pred.image.spacing)) / 1000.0
    assert e.measurements.whole.lesion == pytest.approx(pred.measurements.whole.lesion
                                                        - lesion_k.sum() * voxel_ml)
    assert e.measurements.whole.lung == pytest.approx(pred.measurements.whole.lung
                                                      - pred.lung[k].sum() * voxel_ml)
    assert pred.lesion[k].sum() == lesion_k.sum()  # the original prediction is untouched


def test_painting_lesion_outside_the_lung_adds_it_to_the_lung(segmented_volume):
    pred = segmented_volume
    ed = MaskEditor(pred)
    k = int(np.argmax(pred.lung.sum(axis=(1, 2))))
    outside = ~pred.lung[k]
    outside[:3] = outside[-3:] = False
    r, c = [int(v[0]) for v in np.nonzero(outside)]
    ed.stroke(0, k, Brush("ggo", diameter=1), [(r + 0.5, c + 0.5)])
    e = ed.prediction()
    assert e.lung[k, r, c] and e.lesion[k, r, c] and e.classes[k, r, c] == 1
    n_ml = float(np.prod(pred.image.spacing)) / 1000.0
    assert e.measurements.whole.lung == pytest.approx(pred.measurements.whole.lung + n_ml)
    assert e.measurements.whole.ggo == pytest.approx(pred.measurements.whole.ggo + n_ml)


def test_coronal_stroke_edits_the_right_voxels(segmented_volume):
    pred = segmented_volume
    ed = MaskEditor(pred)
    y = pred.lung.shape[1] // 2
    # a coronal slice is (Z, X): paint one voxel at z=10, x=20
    ed.stroke(1, y, Brush("consolidation", diameter=1), [(10.5, 20.5)])
    assert ed.classes[10, y, 20] == 2 and ed.lesion[10, y, 20] and ed.lung[10, y, 20]
    changed = (ed.classes != (pred.classes if pred.classes is not None else 0))
    assert changed.sum() <= 1


def test_mouse_stroke_on_the_view_paints(qtbot, window, segmented_volume):
    k = int(np.argmax(segmented_volume.lung.sum(axis=(1, 2))))
    pred = _clear_slice(window, k)
    window.viewer.set_index(k)
    r, c = _lung_spot(pred, k)
    window.brush_size.setValue(3)
    window.act_brush.setChecked(True)
    view = window.viewer.overlay
    pos = view.viewport_point(r + 0.5, c + 0.5).toPoint()
    before = window.prediction.measurements.whole.lesion
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseMove(view.viewport(), pos + QPoint(6, 0))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=pos + QPoint(6, 0))
    assert window.prediction.measurements.whole.lesion > before
    assert window.editor.edited and window.editor.strokes == 2


def test_edited_masks_export_and_report_says_edited(qtbot, run_job, window, segmented_volume, tmp_path):
    from covidseg.io import read_image

    pred = segmented_volume
    k = int(np.argmax(pred.lung.sum(axis=(1, 2))))
    r, c = _lung_spot(_clear_slice(window, k), k)
    window.act_brush.setChecked(True)
    window.viewer.stroke.emit("begin", 0, k, r + 0.5, c + 0.5)
    window.viewer.stroke.emit("end", 0, k, r + 0.5, c + 0.5)
    edited = window.prediction
    assert run_job(qtbot, window, lambda: window.export_masks(tmp_path / "m", "nifti")) == ("export", "finished")
    got = read_image(tmp_path / "m" / "lesion.nii.gz").array.reshape(edited.lesion.shape)
    assert np.array_equal(got.astype(bool), edited.lesion)
    assert not np.array_equal(got.astype(bool), pred.lesion)

    assert run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.json")) == ("export", "finished")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["edited"] == {"by_hand": True, "strokes": 2}
    assert report["measurements"]["whole"]["lesion"] == pytest.approx(edited.measurements.whole.lesion)
    assert run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.html")) == ("export", "finished")
    assert "corrected by hand" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("orientation", [("S", "P", "L"), ("P", "S", "L"), ("?", "P", "L")])
def test_measuring_in_the_lung_box_gives_the_same_numbers(orientation):
    from covidseg.gui.editing import lung_box, measure_in_lung_box

    rng = np.random.default_rng(0)
    lung = np.zeros((12, 40, 50), bool)
    lung[2:10, 5:30, 8:20] = True
    lung[3:9, 6:28, 30:44] = True
    lesion = lung & (rng.random(lung.shape) < 0.3)
    lesion[0, 0, 0] = True  # outside the lung: never counted
    classes = lesion.astype(np.uint8) + (lesion & (rng.random(lung.shape) < 0.4))
    spacing = (2.0, 0.8, 0.7)
    try:
        sides = split_left_right(lung, orientation)
    except ValueError:
        sides = None
    whole = measure(lung, lesion, classes, spacing=spacing, orientation=orientation, sides=sides)
    fast = measure_in_lung_box(lung, lesion, classes, spacing=spacing, orientation=orientation, sides=sides)
    assert fast == whole
    box = lung_box(lung, orientation)
    head = [i for i, o in enumerate(orientation) if o in "SI"]
    assert box[head[0] if head else 0] == slice(None)  # the slice axis is never cropped
    assert lung[box].sum() == lung.sum()


def test_an_edit_keeps_a_single_lung_on_its_side():
    """The editor re-splits the lungs with the Segmenter's midline (the body's centre), not by
    the array's centre: one erased spot must not turn a lone left lung into a right lung.
    (The one-lung chest of the hostile corpus, padded with air on the patient's left so the
    array's centre lies left of the lung.)"""
    from covidseg import Segmenter
    from hostile.corpus import ONE_LUNG_SPACING, one_lung_volume

    data, _, _ = one_lung_volume()  # (x, y, z): x toward the patient's left
    vol = np.pad(np.transpose(data, (2, 1, 0)).astype(np.float32), ((0, 0), (0, 0), (0, 60)), constant_values=-1000)
    sx, sy, sz = ONE_LUNG_SPACING
    pred = Segmenter(tasks=("lung",), lung_method="hu").predict(vol, spacing=(sz, sy, sx), hu=True, orientation="SPL")
    m = pred.measurements
    assert m.right.lung == 0 and m.left.lung > 0 and pred.midline is not None
    assert vol.shape[2] / 2 > np.nonzero(pred.lung.any(axis=(0, 1)))[0].max()  # the array's centre: past the lung

    editor = MaskEditor(pred)
    k = int(np.argmax(pred.lung.sum(axis=(1, 2))))
    rows, cols = np.nonzero(pred.lung[k])
    assert editor.stroke(0, k, Brush(label="lung", erase=True, diameter=3), [(float(rows[0]), float(cols[0]))])
    edited = editor.prediction().measurements
    assert edited.right.lung == 0 and 0 < edited.left.lung < m.left.lung
