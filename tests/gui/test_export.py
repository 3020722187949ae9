"""Exports from the window, read back: masks (PNG / NIfTI / DICOM-SEG), report (JSON / CSV /
HTML / PDF), the current view as PNG."""

from __future__ import annotations

import csv
from pathlib import Path
import json
import re

import numpy as np
import pytest
from PIL import Image

from covidseg.gui.formatting import format_percent
from covidseg.io import read_image


@pytest.fixture()
def segmented(qtbot, run_job, window, opened, inputs):
    def _seg(kind):
        opened(inputs[kind])
        assert run_job(qtbot, window, window.segment) == ("segment", "finished")
        return window.prediction
    return _seg


@pytest.mark.parametrize("kind", ["image", "dicom-series"])
@pytest.mark.parametrize("fmt", ["png", "nifti"])
def test_mask_export_reads_back(qtbot, run_job, window, segmented, tmp_path, kind, fmt):
    pred = segmented(kind)
    out = tmp_path / "masks"
    assert run_job(qtbot, window, lambda: window.export_masks(out, fmt)) == ("export", "finished")
    assert "Saved" in window.banner.text()
    for name in ("lung", "lesion", "classes"):
        want = getattr(pred, name).astype(np.uint8)
        if fmt == "nifti":
            got = read_image(out / f"{name}.nii.gz").array
            got = got.reshape(want.shape)
        elif want.ndim == 2:
            got = np.asarray(Image.open(out / f"{name}.png"))
        else:
            files = sorted((out / name).glob("*.png"))
            assert len(files) == want.shape[0]
            got = np.stack([np.asarray(Image.open(f)) for f in files])
        scale = 255 if fmt == "png" and name != "classes" else 1
        assert np.array_equal(got, want * scale), name


def test_dicom_seg_export(qtbot, run_job, window, segmented, tmp_path):
    import pydicom

    pred = segmented("dicom-series")
    assert window.act_masks["dicom-seg"].isEnabled()
    assert run_job(qtbot, window, lambda: window.export_masks(tmp_path, "dicom-seg")) == ("export", "finished")
    ds = pydicom.dcmread(tmp_path / "segmentation.dcm")
    assert ds.Modality == "SEG"
    src = pydicom.dcmread(sorted(pred.image.metadata["files"])[0])
    assert ds.StudyInstanceUID == src.StudyInstanceUID
    assert int(ds.NumberOfFrames) >= 1


def test_dicom_seg_refused_for_plain_images(qtbot, run_job, window, segmented, tmp_path):
    segmented("image")
    assert not window.act_masks["dicom-seg"].isEnabled()
    assert run_job(qtbot, window, lambda: window.export_masks(tmp_path, "dicom-seg")) == ("export", "failed")
    assert "DICOM" in window.banner.text()


@pytest.mark.parametrize("kind", ["image", "nifti"])
def test_report_exports_read_back(qtbot, run_job, window, segmented, tmp_path, kind):
    pred = segmented(kind)
    m = pred.measurements

    run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["measurements"]["whole"]["lesion"] == pytest.approx(m.whole.lesion, rel=1e-6)
    assert data["severity"]["ratio_grade"] == m.severity.ratio_grade

    run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.csv"))
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert [r["region"] for r in rows] == ["whole", "right", "left"][: len(rows)]
    assert float(rows[0]["lung"]) == pytest.approx(m.whole.lung, rel=1e-6)
    assert rows[0]["mosmed_grade"] == (m.severity.mosmed_grade or "")

    run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == (2 if kind == "nifti" else 1)  # overlay (+ curve)
    assert format_percent(m.whole.lesion_percent) in html

    assert window.export_report(tmp_path / "r.pdf")  # laid out in the GUI thread, synchronous
    pdf = (tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one page
    assert len(re.findall(rb"/Subtype\s*/Image", pdf)) >= 1


def test_bad_report_suffix_is_reported(qtbot, run_job, window, segmented, tmp_path):
    segmented("image")
    assert run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.docx")) == ("export", "failed")
    assert "r.docx" in window.banner.text() and ".pdf" in window.banner.text()


def test_view_png(window, segmented, tmp_path):
    segmented("image")
    assert window.export_view(tmp_path / "view.png")
    img = Image.open(tmp_path / "view.png")
    assert img.width > 200 and img.height > 100
    # Both panes: the right half (overlay) differs from the left half (original).
    a = np.asarray(img.convert("RGB")).astype(int)
    h, w = a.shape[:2]
    assert np.abs(a[:, : w // 2].mean(axis=(0, 1)) - a[:, w - w // 2:].mean(axis=(0, 1))).max() > 1


@pytest.fixture()
def language(qapp):
    """``language("zh_CN")`` installs that translation for the rest of the test."""
    from covidseg.gui.app import install_translator

    installed = []

    def _set(code):
        installed.extend(install_translator(qapp, code))
        assert code == "en" or installed
    yield _set
    for t in installed:
        qapp.removeTranslator(t)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_pdf_report_lies_inside_the_a4_page(qtbot, window, segmented, tmp_path, language, lang):
    """The report is laid out on the A4 text area in every language: nothing is wider than the
    page, it is one page, and the rendered page has ink only inside the margins (the old report
    put two fixed-width pictures side by side and cut the curve off at the page edge)."""
    import shutil
    import subprocess

    from covidseg.gui.export import PAGE_MARGIN_MM, PAGE_PX, report_document

    language(lang)
    pred = segmented("dicom-series")
    doc = report_document(pred, window.viewer.index)
    size = doc.documentLayout().documentSize()
    assert size.width() <= PAGE_PX[0] + 0.5 and doc.pageCount() == 1, (size, doc.pageCount())
    html_text = doc.toHtml()
    assert ("严重程度" in html_text) == (lang == "zh_CN") and ("Severity" in html_text) == (lang == "en")

    assert window.export_report(tmp_path / "r.pdf")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the rendered page is not checked")
    dpi = 60
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(tmp_path / "r.pdf"),
                    str(tmp_path / "page")], check=True)
    page = np.asarray(Image.open(tmp_path / "page.png").convert("RGB")).astype(int)
    h, w, _ = page.shape
    assert (w, h) == pytest.approx((210 / 25.4 * dpi, 297 / 25.4 * dpi), abs=2)  # A4
    m = int(PAGE_MARGIN_MM / 25.4 * dpi) - 2  # a little inside the margin (anti-aliasing)
    ink = (page < 240).any(axis=2)
    assert not ink[:, :m].any() and not ink[:, w - m:].any() and not ink[:m].any() and not ink[h - m:].any()
    # the curve is there in full: its orange lesion fill and its blue lung line, right axis included
    orange = (page[..., 0] > 200) & (page[..., 1] > 120) & (page[..., 1] < 200) & (page[..., 2] < 140)
    blue = (page[..., 2] - page[..., 0] > 60) & (page[..., 2] > 120)
    assert orange[h // 2:].sum() > 20 and blue[h // 2:].sum() > 20
    assert blue[h // 2:, w // 2:].any()  # the right half of the curve made it onto the page


def test_reports_follow_the_interface_language(qtbot, run_job, window, segmented, tmp_path, language):
    language("zh_CN")
    segmented("nifti")
    assert run_job(qtbot, window, lambda: window.export_report(tmp_path / "r.html")) == ("export", "finished")
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    for word in ("covidseg 报告", "严重程度", "双肺", "MosMed CT 分级", "病灶/肺比例分级", "肺由 CT 值（HU）阈值"):
        assert word in text, word
    assert "Severity" not in text and "Both lungs" not in text and "lung from hu" not in text


def test_save_dialogs_start_in_the_last_export_folder(qtbot, window, segmented, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    segmented("image")
    target = tmp_path / "exports"
    target.mkdir()
    starts = []

    def fake_save(parent, title, start, filters):
        starts.append(Path(start))
        return str(target / "r.json"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda parent, title, start: starts.append(Path(start)) or ""))
    window.choose_report()
    assert starts[0].parent != target
    qtbot.waitUntil(lambda: not window.busy)
    window.choose_view_png()
    window.choose_masks("png")
    assert starts[1].parent == target and starts[2] == target
