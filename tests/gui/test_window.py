"""The main window, offscreen: open every format, segment in the worker thread, compare with
`covidseg predict`, overlays, cancel, bad files, navigation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent, QWheelEvent

from covidseg.gui import overlay as ov
from covidseg.gui.formatting import COLUMNS, ROWS, region_values
from covidseg.io import read_image

KINDS = ["image", "slices", "nifti", "dicom-series", "dicom-file"]


def name_is_2d(folder: Path) -> bool:
    """A single DICOM slice gets a one-slice NIfTI mask: compare it as 2-D."""
    report = json.loads((folder / "report.json").read_text())
    return report["input"]["kind"] == "dicom-file"


def _cli_mask(folder: Path, name: str) -> np.ndarray:
    for candidate in (folder / f"{name}.png", folder / f"{name}.nii.gz", folder / name):
        if candidate.exists():
            return np.squeeze(read_image(candidate).array, axis=0) if name_is_2d(folder) else read_image(
                candidate).array
    raise FileNotFoundError(f"{name} mask missing in {folder}")


@pytest.mark.parametrize("kind", KINDS)
def test_open_segment_matches_predict(qtbot, run_job, window, opened, inputs, cli_outputs, kind):
    opened(inputs[kind])
    image = window.image
    assert image.kind == kind
    n = 1 if image.array.ndim == 2 else image.array.shape[0]
    assert window.viewer.slice_count == n and window.viewer.slider.maximum() == n - 1
    assert window.act_segment.isEnabled() and not window.act_export_report.isEnabled()

    assert run_job(qtbot, window, window.segment) == ("segment", "finished"), window.banner.text()
    pred = window.prediction
    report = json.loads((cli_outputs[kind] / "report.json").read_text())

    # Numbers: every cell of the panel equals the CLI's report.json.
    unit = report["unit"]
    for col in COLUMNS:
        expected = report["measurements"][col]
        if expected is None:
            assert window.results.cell_text("lung", col) == "–"
            continue
        class R:  # the report's dict seen as a RegionMeasure
            pass
        r = R()
        r.__dict__.update(expected)
        for row in ROWS:
            want = region_values(r)[row]
            got = window.results.cell_value(row, col)
            assert (got is None) == (want is None), (row, col)
            if want is not None:
                assert got == pytest.approx(want, rel=1e-5, abs=1e-5), (row, col)
    assert unit == pred.measurements.unit
    # One primary grade (MosMed) on the badge; the ratio grade is labelled as what it is.
    grade = report["severity"]["mosmed_grade"]
    badge = window.results.badge.text()
    assert badge.startswith(grade) if grade else badge == "no lung found"
    assert "CT-" not in window.results.grades.text().replace("MosMed CT scale", "")
    if report["severity"]["ratio_grade"]:
        assert f"ratio grade (covidseg convention" in window.results.grades.text()
        assert f"): {report['severity']['ratio_grade']}" in window.results.grades.text()
    assert "MosMed" in window.results.badge.toolTip()

    # Masks: identical to the files `covidseg predict` wrote.
    for name in ("lung", "lesion", "classes"):
        cli = _cli_mask(cli_outputs[kind], name)
        mine = getattr(pred, name).astype(np.float32)
        if name != "classes" and kind in ("image", "slices"):
            mine = mine * 255  # PNG masks are 0/255
        assert np.array_equal(cli, mine), name

    # Overlay: the picture shown is the overlay of the CLI's masks on the shown slice.
    k = window.viewer.index
    pick = (lambda a: a if a.ndim == 2 else a[k])
    cli_lung = pick(_cli_mask(cli_outputs[kind], "lung")) > 0
    cli_classes = pick(_cli_mask(cli_outputs[kind], "classes")).astype(np.uint8)
    expected = ov.compose(ov.grey(pick(image.array), window.viewer.window), lung=cli_lung, classes=cli_classes,
                          options=window.viewer.options)
    assert np.array_equal(window.viewer.overlay_rgb(), expected)
    assert window.act_export_report.isEnabled()


def test_overlay_toggles_and_opacity(qtbot, run_job, window, opened, inputs):
    opened(inputs["nifti"])
    run_job(qtbot, window, window.segment)
    v = window.viewer
    pred = window.prediction
    k = int(np.argmax(pred.lesion.sum(axis=(1, 2))))
    v.set_index(k)
    grey = np.repeat(v.original_rgb()[..., None], 3, axis=2)
    lesion_px = pred.classes[k] > 0
    edge = ov.lung_outline(pred.lung[k])
    assert lesion_px.any() and edge.any()
    shown = v.overlay_rgb()
    assert np.any(shown[lesion_px & ~edge] != grey[lesion_px & ~edge])
    assert np.all(shown[edge] == ov.LUNG_COLOUR)

    for box in (window.show_lung, window.show_ggo, window.show_consolidation):
        box.setChecked(False)
    assert np.array_equal(v.overlay_rgb(), grey)  # everything off: the original picture
    window.show_ggo.setChecked(True)
    window.opacity.setValue(100)
    ggo = (pred.classes[k] == 1)
    assert np.all(v.overlay_rgb()[ggo] == ov.GGO_COLOUR)
    window.opacity.setValue(0)
    assert np.array_equal(v.overlay_rgb(), grey)
    window.show_lung.setChecked(True)
    assert np.all(v.overlay_rgb()[edge] == ov.LUNG_COLOUR)

    window.act_side.setChecked(False)  # overlay only
    assert not v.splitter.widget(0).isVisible() and v.splitter.widget(1).isVisible()


def test_event_loop_runs_during_segmentation(qtbot, run_job, window, opened, inputs):
    from dataclasses import replace

    opened(inputs["dicom-series"])
    window.apply_preferences(replace(window.prefs, batch_size=1))  # many progress steps
    ticks = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(window.progress.value()))
    timer.start()
    try:
        assert run_job(qtbot, window, window.segment) == ("segment", "finished")
    finally:
        timer.stop()
    assert len(ticks) >= 5, "the GUI thread was blocked during the run"
    assert len(set(ticks)) >= 3, "the progress bar did not advance while the event loop ran"


def test_cancel_a_run(qtbot, run_job, window, opened, inputs):
    from dataclasses import replace

    opened(inputs["dicom-series"])
    window.apply_preferences(replace(window.prefs, batch_size=1))
    with qtbot.waitSignal(window.jobFinished, timeout=30000) as blocker:
        window.segment()
        assert window.act_cancel.isEnabled() and not window.act_segment.isEnabled()
        qtbot.waitUntil(lambda: window.progress.maximum() > 0 and window.progress.value() >= 1, timeout=20000)
        window.act_cancel.trigger()
    assert blocker.args == ["segment", "cancelled"]
    assert window.prediction is None
    assert window.results.badge.text() == "not segmented"
    assert "Cancelled" in window.banner.text()
    assert window.act_segment.isEnabled() and not window.act_cancel.isEnabled()
    assert run_job(qtbot, window, window.segment) == ("segment", "finished")  # usable again


def _corrupt(tmp_path: Path, kind: str, semiseg: Path) -> Path:
    if kind == "truncated-png":
        data = (semiseg / "test" / "infection" / "69.png").read_bytes()
        p = tmp_path / "cut.png"
        p.write_bytes(data[: len(data) // 3])
    elif kind == "garbage-nifti":
        p = tmp_path / "scan.nii.gz"
        p.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    elif kind == "garbage-dicom":
        p = tmp_path / "img.dcm"
        p.write_bytes(b"\0" * 128 + b"DICM" + bytes(range(200)))
    elif kind == "mixed-sizes":
        p = tmp_path / "mixed"
        p.mkdir()
        for n in (1, 100):  # two sizes: not a stack
            name = f"Data-1_coronacases_org_001_{n}.jpg"
            (p / name).symlink_to(semiseg / "unlabeled" / "images" / name)
    elif kind == "missing":
        p = tmp_path / "nothing-here.nii.gz"
    else:  # pragma: no cover
        raise AssertionError(kind)
    return p


@pytest.mark.parametrize("kind", ["truncated-png", "garbage-nifti", "garbage-dicom", "mixed-sizes", "missing"])
def test_bad_input_shows_message_and_keeps_working(qtbot, run_job, window, opened, inputs, semiseg, tmp_path, kind):
    opened(inputs["image"])
    before = window.image
    bad = _corrupt(tmp_path, kind, semiseg)
    assert run_job(qtbot, window, lambda: window.open_path(bad)) == ("read", "failed")
    assert window.banner.isVisible() and window.banner.kind == "error"
    assert bad.name in window.banner.text()
    assert "internal error" not in window.banner.text() and "Traceback" not in window.banner.text()
    assert window.image is before  # the previous image stays
    assert window.act_open.isEnabled()
    opened(inputs["nifti"])  # and the window still works
    assert not window.banner.isVisible()


def test_missing_model_is_reported(qtbot, run_job, window, opened, inputs, tmp_path):
    from dataclasses import replace

    opened(inputs["image"])
    window.apply_preferences(replace(window.prefs, model_folder=str(tmp_path / "no-model")))
    assert run_job(qtbot, window, window.segment) == ("segment", "failed")
    assert "no-model" in window.banner.text() and "does not exist" in window.banner.text()


def test_curve_click_jumps_to_slice(qtbot, run_job, window, opened, inputs):
    opened(inputs["nifti"])
    run_job(qtbot, window, window.segment)
    curve = window.results.curve
    assert window.results.curve_box.isVisible() and len(curve.values) == 79
    for k in (3, 40, 77):
        qtbot.mouseClick(curve, Qt.MouseButton.LeftButton, pos=QPoint(int(curve.x_of(k)), curve.height() // 2))
        assert window.viewer.index == k and curve.current == k


def test_no_curve_for_a_slice(qtbot, run_job, window, opened, inputs):
    opened(inputs["image"])
    run_job(qtbot, window, window.segment)
    assert not window.results.curve_box.isVisible()


def test_slider_wheel_cursor_and_window(qtbot, run_job, window, opened, inputs):
    opened(inputs["nifti"])
    v = window.viewer
    arr = window.image.array
    v.slider.setValue(5)
    assert v.index == 5 and v.slice_label.text() == "Slice 6 / 79"
    # position of the slice in patient coordinates (RAS, as 3D Slicer shows it)
    z_mm = (window.image.affine @ [5, v.cursor[1], v.cursor[2], 1])[2]
    assert v.position_label.text() == f"S {z_mm:.1f} mm"

    def wheel(dy, mods=Qt.KeyboardModifier.NoModifier):
        view = v.overlay
        pos = QPointF(view.viewport().width() / 2, view.viewport().height() / 2)
        ev = QWheelEvent(pos, view.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, dy),
                         Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False)
        view.wheelEvent(ev)

    wheel(240)
    assert v.index == 7 and v.slider.value() == 7
    wheel(-120)
    assert v.index == 6
    scale = v.overlay.scale_factor()
    wheel(120, Qt.KeyboardModifier.ControlModifier)
    assert v.overlay.scale_factor() == pytest.approx(scale * 1.25)
    assert v.original.scale_factor() == pytest.approx(scale * 1.25)  # zoom is shared
    assert v.index == 6

    v.overlay.hovered.emit(30, 20)
    assert v.cursor_label.text() == f"(20, 30, 6)  {arr[6, 30, 20]:.0f} HU"  # no masks yet: no class

    assert v.preset_combo.isEnabled() and v.window == ov.PRESETS["lung"]
    v.set_preset("mediastinum")
    assert np.array_equal(v.original_rgb(), ov.grey(arr[6], ov.PRESETS["mediastinum"]))
    v.width_spin.setValue(800)
    assert v.preset_combo.currentData() == "custom" and v.window.width == 800


def test_window_presets_disabled_for_plain_images(window, opened, inputs):
    opened(inputs["image"])
    assert not window.viewer.preset_combo.isEnabled()
    assert window.viewer.window == ov.DisplayWindow.from_range(0, 255)


def test_drop_opens_file_and_recent_list(qtbot, run_job, window, inputs):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(inputs["nifti"]))])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.jobFinished, timeout=20000) as blocker:
        window.dropEvent(ev)
    assert blocker.args == ["read", "finished"]
    assert window.image.kind == "nifti"
    assert window.prefs.recent[0] == str(inputs["nifti"].resolve())
    assert [a.text() for a in window.recent_menu.actions()][0] == str(inputs["nifti"].resolve())
    from covidseg.gui import settings as st

    assert st.load(window.store).recent[0] == str(inputs["nifti"].resolve())  # persisted


def test_drop_of_several_series_files_opens_their_folder(qtbot, run_job, window, inputs):
    files = sorted(inputs["dicom-series"].glob("*.dcm"))[:3]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.jobFinished, timeout=20000):
        window.dropEvent(ev)
    assert window.image.kind == "dicom-series" and window.image.shape == (79, 64, 64)


def test_folder_with_several_series_asks_which(qtbot, run_job, window, ct_examples, tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    for sub, prefix in (("cip-ct64-dicom", "a"), ("cip-chest-512-dicom", "b")):
        for f in (ct_examples / sub).glob("*.dcm"):
            (folder / f"{prefix}_{f.name}").symlink_to(f)
    assert run_job(qtbot, window, lambda: window.open_path(folder)) == ("read", "finished")
    assert window.image is None  # nothing read yet: the user chooses first
    dialog = window.series_dialog
    assert dialog.isVisible() and dialog.comboBoxItems()[0].endswith(")") and "79 images" in dialog.comboBoxItems()[0]
    two = [t for t in dialog.comboBoxItems() if "2 images" in t]
    assert len(two) == 1 and "INSPIRATION" in two[0]
    with qtbot.waitSignal(window.jobFinished, timeout=20000) as blocker:
        dialog.setTextValue(two[0])
        dialog.accept()
    assert blocker.args == ["read", "finished"]
    assert window.image.kind == "dicom-series" and window.image.shape[1:] == (512, 512)
    assert window.image.shape[0] == 2


def test_anisotropic_pixels_are_shown_to_scale(qtbot):
    from covidseg.gui.viewer import ViewerPanel

    panel = ViewerPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 400)
    panel.show()
    arr = np.arange(10 * 20, dtype=np.float32).reshape(10, 20)
    panel.set_image(arr, is_hu=True, spacing=(2.0, 1.0))  # rows 2 mm apart, columns 1 mm
    rect = panel.overlay._item.sceneBoundingRect()
    assert (rect.width(), rect.height()) == (20, 20)
    seen = []
    panel.overlay.hovered.connect(lambda r, c: seen.append((r, c)))
    view = panel.overlay
    pos = view.mapFromScene(QPointF(5.5, 13.0))  # scene y 13 = row 6 (13 / 2)
    panel.overlay._report(QPointF(pos))
    assert seen[-1] == (6, 5)


def test_tta_preference_reaches_the_pipeline(qtbot, run_job, window, opened, inputs):
    from dataclasses import replace

    opened(inputs["image"])
    assert run_job(qtbot, window, window.segment) == ("segment", "finished")
    assert window._segmenter.runner.tta is False
    window.apply_preferences(replace(window.prefs, tta=True))
    assert run_job(qtbot, window, window.segment) == ("segment", "finished")
    assert window._segmenter.runner.tta is True  # a changed preference builds a new segmenter
