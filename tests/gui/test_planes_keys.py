"""Coronal and sagittal planes, the linked crosshair, orientation letters, mouse window/level
and the keyboard: as a user drives them, offscreen."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from covidseg.gui import overlay as ov
from covidseg.gui.viewer import AXIAL, CORONAL, SAGITTAL


@pytest.fixture()
def volume(qtbot, window, opened, inputs):
    opened(inputs["nifti"])  # 79 x 64 x 64, orientation (S, P, L), spacing 3.99 x 4.17 x 4.17 mm
    return window.image


def test_planes_show_the_volume_to_scale_with_letters(qtbot, window, volume):
    v = window.viewer
    assert window.act_planes.isEnabled() and not v.plane_splitter.isVisible()
    window.act_planes.setChecked(True)
    assert v.plane_splitter.isVisible() and v.coronal.isVisible() and v.sagittal.isVisible()
    z, y, x = v.cursor
    arr = volume.array
    # coronal: rows are slices, head up (the slice axis runs toward S); sagittal likewise
    assert np.array_equal(v.plane_rgb(CORONAL)[..., 0], ov.grey(arr[::-1, y, :], v.window))
    assert np.array_equal(v.plane_rgb(SAGITTAL)[..., 0], ov.grey(arr[::-1, :, x], v.window))
    sz, sy, sx = volume.spacing
    assert v.coronal.aspect() == pytest.approx(sz / sx) and v.sagittal.aspect() == pytest.approx(sz / sy)
    rect = v.coronal._item.sceneBoundingRect()
    assert rect.height() / rect.width() == pytest.approx(79 * sz / (64 * sx), rel=1e-6)  # millimetres to scale
    # radiological axial view: anterior up, patient's right on the screen's left
    assert v.overlay.letters == ("A", "P", "R", "L")
    assert v.coronal.letters == ("S", "I", "R", "L")
    assert v.sagittal.letters == ("S", "I", "A", "P")


def test_crosshair_links_the_planes(qtbot, window, volume):
    v = window.viewer
    window.act_planes.setChecked(True)
    n = volume.array.shape[0]
    # a click in the axial view moves the coronal and sagittal slices to that point
    v.overlay.clicked.emit(20.5, 30.5)  # row (y) 20, column (x) 30
    assert v.cursor[1:] == [20, 30]
    assert v.overlay.crosshair == (20, 30)
    assert np.array_equal(v.plane_rgb(CORONAL)[..., 0], ov.grey(volume.array[::-1, 20, :], v.window))
    # a click in the coronal view picks the axial slice (head up: picture row 0 is the last slice)
    before = v.index
    with qtbot.waitSignal(v.sliceChanged):
        v.coronal.clicked.emit(10.5, 5.5)
    assert v.index == n - 1 - 10 != before and v.cursor[2] == 5
    assert window.results.curve.current == v.index or window.prediction is None
    assert v.coronal.crosshair == (10, 5) and v.sagittal.crosshair == (10, 20)
    # the wheel on the sagittal view steps through x
    v.sagittal.wheelSlices.emit(2)
    assert v.cursor[2] == 7
    # the real mouse: a click (press and release in place) on the sagittal view
    pos = v.sagittal.viewport_point(40.5, 12.5).toPoint()
    QTest.mouseClick(v.sagittal.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    assert v.cursor[0] == n - 1 - 40 and v.cursor[1] == 12


def test_slice_position_and_cursor_readout(qtbot, run_job, window, volume):
    v = window.viewer
    v.set_index(10)
    s_mm = (volume.affine @ [10, v.cursor[1], v.cursor[2], 1])[2]
    assert v.position_label.text() == f"S {s_mm:.1f} mm" and v.overlay.corner == v.position_label.text()
    assert run_job(qtbot, window, window.segment) == ("segment", "finished")
    pred = window.prediction
    k = v.index
    ys, xs = np.nonzero(pred.classes[k] == 1)
    if ys.size:
        v.overlay.hovered.emit(int(ys[0]), int(xs[0]))
        assert v.cursor_label.text().endswith("· GGO")
    ys, xs = np.nonzero(~pred.lung[k])
    v.overlay.hovered.emit(int(ys[0]), int(xs[0]))
    assert v.cursor_label.text().endswith("· outside the lung")


def test_keys_step_slices_and_toggle_the_overlay(qtbot, run_job, window, volume):
    assert run_job(qtbot, window, window.segment) == ("segment", "finished")
    v = window.viewer
    view = v.overlay
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    v.set_index(20)
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert v.index == 21
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert v.index == 19
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert v.index == v.slice_count - 1
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert v.index == 0
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert v.index == 1
    k = int(np.argmax(window.prediction.lesion.sum(axis=(1, 2))))
    v.set_index(k)
    grey = np.repeat(v.original_rgb()[..., None], 3, axis=2)
    assert not np.array_equal(v.overlay_rgb(), grey)
    qtbot.keyClick(view, Qt.Key.Key_O)
    assert not window.act_overlay.isChecked() and np.array_equal(v.overlay_rgb(), grey)
    qtbot.keyClick(view, Qt.Key.Key_O)
    assert not np.array_equal(v.overlay_rgb(), grey)
    qtbot.keyClick(view, Qt.Key.Key_B)
    assert window.act_brush.isChecked() and v.tool == "paint"
    size = window.brush_size.value()
    qtbot.keyClick(view, Qt.Key.Key_BracketRight)
    assert window.brush_size.value() == size + 2 and v.overlay.brush_diameter == size + 2
    qtbot.keyClick(view, Qt.Key.Key_N)
    assert v.tool == "navigate"
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.act_planes.isChecked() and v.plane_splitter.isVisible()


def test_right_drag_changes_window_and_level(qtbot, window, volume):
    v = window.viewer
    view = v.overlay
    assert v.window == ov.PRESETS["lung"]
    start = QPoint(view.viewport().width() // 2, view.viewport().height() // 2)
    QTest.mousePress(view.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(view.viewport(), start + QPoint(60, 30))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(60, 30))
    w0 = ov.PRESETS["lung"]
    assert v.window.width == pytest.approx(w0.width + 60 * w0.width / 300)  # right: wider
    assert v.window.level == pytest.approx(w0.level + 30 * w0.width / 300)  # down: higher level
    assert v.preset_combo.currentData() == "custom" and v.width_spin.value() == pytest.approx(v.window.width, abs=1)
    assert np.array_equal(v.original_rgb(), ov.grey(volume.array[v.index], v.window))


def test_results_dock_can_be_hidden_and_small_screens_fit(qtbot, run_job, window, volume):
    assert run_job(qtbot, window, window.segment) == ("segment", "finished")  # the curve and grades show
    window.dock.toggleViewAction().trigger()
    assert not window.dock.isVisible()
    window.dock.toggleViewAction().trigger()
    assert window.dock.isVisible()
    window.act_planes.setChecked(True)
    hint = window.minimumSizeHint()
    # 1366 x 768 less a taskbar and the title bar
    assert hint.width() <= 1366 and hint.height() <= 768 - 40 - 30, hint
    window.resize(1366, 768 - 40 - 30)
    qtbot.waitUntil(lambda: window.height() <= 768 - 70)
    assert window.viewer.overlay.height() >= 200 and window.viewer.overlay.width() >= 200


def test_arrow_keys_in_a_number_box_stay_there(qtbot, window, volume):
    v = window.viewer
    v.set_index(30)
    v.level_spin.setFocus()
    qtbot.waitUntil(v.level_spin.hasFocus)
    level = v.level_spin.value()
    qtbot.keyClick(v.level_spin, Qt.Key.Key_Up)
    assert v.index == 30 and v.level_spin.value() == level + 10
