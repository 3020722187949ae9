"""Exporting a Prediction from the GUI: masks, report (JSON / CSV / HTML / PDF), pictures.

Qt-free except :func:`write_pdf` (QTextDocument + QPdfWriter, from QtGui: no window
needed). Every file goes through :func:`covidseg.io.atomic_write`.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from covidseg import __version__
from covidseg.errors import ConfigError, InputError
from covidseg.gui.formatting import COLUMNS, GRADE_COLOURS, ROWS, format_percent, format_value, region_values
from covidseg.inference import render
from covidseg.io import atomic_write, write_mask

if TYPE_CHECKING:  # pragma: no cover
    from covidseg.inference import Prediction

MASK_FORMATS = ("png", "nifti", "dicom-seg")
REPORT_SUFFIXES = (".json", ".csv", ".html", ".pdf")
CSV_FIELDS = ["input", "region", "unit", *ROWS, "ratio_grade", "mosmed_grade", "zone_total"]
DICOM_KINDS = ("dicom-series", "dicom-file")


def _masks(pred: "Prediction") -> dict[str, np.ndarray]:
    out = {}
    for name in ("lung", "lesion", "classes"):
        m = getattr(pred, name)
        if m is not None:
            out[name] = m
    return out


def _png_bytes(array_or_image) -> bytes:
    img = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_png(array_or_image, path: str | Path) -> Path:
    path = Path(path)
    data = _png_bytes(array_or_image)
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    return path


def export_masks(pred: "Prediction", folder: str | Path, fmt: str) -> list[Path]:
    """Write the lung, lesion and lesion-type masks of ``pred`` into ``folder``.

    ``png``: binary masks 0/255 and ``classes`` 0/1/2 (a volume: one PNG per slice in a
    sub-folder per mask); ``nifti``: ``.nii.gz`` label maps in the input's geometry;
    ``dicom-seg``: one DICOM Segmentation object (DICOM input only).
    """
    if fmt not in MASK_FORMATS:
        raise ValueError(f"fmt must be one of {MASK_FORMATS}, got {fmt!r}")
    folder = Path(folder)
    img = pred.image
    if fmt == "dicom-seg" and img.kind not in DICOM_KINDS:
        raise ConfigError(f"a DICOM-SEG needs DICOM input; this input is {img.kind!r}", img.source)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if fmt == "dicom-seg":
        from covidseg.inference.dicom_seg import write_dicom_seg

        return [write_dicom_seg(pred, folder / "segmentation.dcm")]
    for name, mask in _masks(pred).items():
        if fmt == "nifti":
            written.append(write_mask(mask.astype(np.uint8), img, folder / f"{name}.nii.gz"))
            continue
        data = mask.astype(np.uint8) * (1 if name == "classes" else 255)
        if data.ndim == 2:
            written.append(write_mask(data, img, folder / f"{name}.png"))
        elif img.kind == "slices":  # PNGs named after the input slices
            written.append(write_mask(data, img, folder / name))
        else:
            sub = folder / name
            sub.mkdir(exist_ok=True)
            for k in range(data.shape[0]):
                write_png(Image.fromarray(np.ascontiguousarray(data[k]), mode="L"), sub / f"{name}_{k:04d}.png")
            written.append(sub)
    return written


# ---------------------------------------------------------------------------- pictures
def most_affected_slice(pred: "Prediction") -> int:
    """Index of the slice with most lesion (most lung if none) of a volume; 0 for a slice."""
    if pred.image.array.ndim == 2:
        return 0
    for m in (pred.lesion, pred.lung):
        if m is not None and m.any():
            return int(np.argmax(m.sum(axis=(1, 2))))
    return pred.image.array.shape[0] // 2


def key_picture(pred: "Prediction", index: int | None = None) -> Image.Image:
    """The overlay of one slice with its legend, drawn like ``covidseg predict``'s overlay.png."""
    img = pred.image
    arr = img.array
    k = most_affected_slice(pred) if index is None else int(index)
    pick = (lambda a: None if a is None else (a if a.ndim == 2 else a[k]))
    hi = float(arr.max()) if arr.size else 255.0
    value_range = None if img.is_hu or hi <= 255 else (float(arr.min()), hi)
    rgb = render.overlay(render.grey(pick(arr), img.is_hu, value_range), pick(pred.lung), pick(pred.classes),
                         pick(pred.lesion))
    items = render.legend_items(pred.classes is not None, pred.lesion is not None, pred.lung is not None)
    caption = "" if arr.ndim == 2 else f"slice {k + 1} / {arr.shape[0]}"
    return render.with_legend(rgb, items, caption)


def curve_picture(pred: "Prediction") -> bytes | None:
    m = pred.measurements
    if m.slice_lesion is None or len(m.slice_lesion) < 2:
        return None
    lung = None
    if pred.lung is not None and pred.lung.ndim == 3:
        per = float(np.prod(pred.image.spacing[1:])) if pred.image.spacing is not None else 1.0
        lung = list(pred.lung.sum(axis=(1, 2)) * per)
    buf = io.BytesIO()
    render.lesion_curve(list(m.slice_lesion), lung, m.slice_unit or "pixels", buf,
                        xlabel="slice (inferior → superior)")
    return buf.getvalue()


# ---------------------------------------------------------------------------- report
def report_rows(pred: "Prediction") -> list[dict]:
    m = pred.measurements
    sev = m.severity
    rows = []
    for col in COLUMNS:
        region = getattr(m, col)
        if region is None:
            continue
        row = {"input": str(pred.image.source or ""), "region": col, "unit": m.unit}
        row.update({k: "" if v is None else round(float(v), 6) for k, v in region_values(region).items()})
        row.update(ratio_grade=sev.ratio_grade or "", mosmed_grade=sev.mosmed_grade or "",
                   zone_total="" if sev.zone_total is None else sev.zone_total)
        rows.append(row)
    return rows


def write_json(pred: "Prediction", path: Path) -> Path:
    text = json.dumps(pred.report(), indent=2, ensure_ascii=False) + "\n"
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_csv(pred: "Prediction", path: Path) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerows(report_rows(pred))
    with atomic_write(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return path


_LABELS = {"lung": "Lung", "lesion": "Lesion", "ggo": "GGO", "consolidation": "Consolidation",
           "lesion_percent": "Lesion % of lung", "ggo_percent": "GGO % of lung",
           "consolidation_percent": "Consolidation % of lung"}


def report_html(pred: "Prediction", pictures: dict[str, str], *, view_index: int | None = None) -> str:
    """One-page report. ``pictures`` maps ``overlay`` / ``curve`` to an ``<img src>`` value
    (a data URI for a standalone HTML file, a resource name for the PDF)."""
    m = pred.measurements
    sev = m.severity
    img = pred.image
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in ("", "Both lungs", "Right", "Left"))
    body = []
    for row in ROWS:
        cells = []
        for col in COLUMNS:
            cells.append(format_value(row, region_values(getattr(m, col))[row], m.unit))
        body.append(f"<tr><th align='left'>{esc(_LABELS[row])}</th>"
                    + "".join(f"<td align='right'>{esc(c)}</td>" for c in cells) + "</tr>")
    grade = sev.ratio_grade or "no lung found"
    colour = GRADE_COLOURS.get(grade, "#757575")
    details = [f"Lesion: {format_percent(m.whole.lesion_percent)} of lung"]
    if sev.mosmed_grade:
        details.append(f"MosMed grade: {sev.mosmed_grade}")
    if sev.zone_total is not None:
        details.append(f"Zone score: {sev.zone_total} / 24")
    spacing = "unknown" if img.spacing is None else " x ".join(f"{s:.3g}" for s in img.spacing) + " mm"
    parts = [
        "<html><head><meta charset='utf-8'><title>covidseg report</title>",
        "<style>body{font-family:sans-serif;font-size:10pt} table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:3px 8px} .badge{color:white;padding:4px 10px;font-weight:bold}"
        "</style></head><body>",
        "<h2>covidseg report</h2>",
        f"<p><b>Input:</b> {esc(str(img.source or ''))} ({esc(img.kind)}, {' x '.join(map(str, img.shape))}, "
        f"spacing {esc(spacing)})</p>",
        f"<p><b>Severity:</b> <span class='badge' style='background:{colour}'>&nbsp;{esc(grade.upper())}&nbsp;</span>"
        f" &nbsp; {esc(' · '.join(details))}</p>",
        f"<table><tr>{head}</tr>{''.join(body)}</table>",
        f"<p style='color:#555'>Sizes in {esc(m.unit)}; lung from {esc(pred.lung_source)}.</p>",
        "<table style='border:none'><tr>",
    ]
    if "overlay" in pictures:
        parts.append(f"<td style='border:none' valign='top'><img src='{pictures['overlay']}' width='340'></td>")
    if "curve" in pictures:
        parts.append(f"<td style='border:none' valign='top'><img src='{pictures['curve']}' width='360'></td>")
    parts.append("</tr></table>")
    models = ", ".join(f"{d.get('name')} ({d.get('task')})" for d in pred.models) or "none"
    parts.append(f"<p style='color:#555;font-size:8pt'>covidseg {esc(__version__)}; models: {esc(models)}. "
                 "Research software, not a medical device: every result needs a radiologist's review.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def write_html(pred: "Prediction", path: Path, view_index: int | None = None) -> Path:
    pictures = {"overlay": _data_uri(_png_bytes(key_picture(pred, view_index)))}
    curve = curve_picture(pred)
    if curve is not None:
        pictures["curve"] = _data_uri(curve)
    text = report_html(pred, pictures)
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_pdf(pred: "Prediction", path: Path, view_index: int | None = None) -> Path:
    """A one-page A4 PDF of :func:`report_html` (Qt's rich-text engine, no browser needed)."""
    from PySide6.QtCore import QByteArray, QMarginsF, QUrl
    from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

    doc = QTextDocument()
    pictures = {}
    for name, png in (("overlay", _png_bytes(key_picture(pred, view_index))), ("curve", curve_picture(pred))):
        if png is None:
            continue
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"covidseg:{name}.png"),
                        QImage.fromData(QByteArray(png), "PNG"))
        pictures[name] = f"covidseg:{name}.png"
    doc.setHtml(report_html(pred, pictures))
    with atomic_write(path) as tmp:
        writer = QPdfWriter(str(tmp))
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                         QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
        writer.setTitle("covidseg report")
        writer.setCreator(f"covidseg {__version__}")
        doc.print_(writer)
        del writer  # flushes and closes the file before the rename
    return path


def write_report(pred: "Prediction", path: str | Path, view_index: int | None = None) -> Path:
    """Write the report in the format named by ``path``'s suffix (.json .csv .html .pdf)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ConfigError(f"report must end in one of {', '.join(REPORT_SUFFIXES)}", path)
    if not path.parent.is_dir():
        raise InputError("the folder does not exist", path.parent)
    writer = {".json": write_json, ".csv": write_csv}.get(suffix)
    if writer is not None:
        return writer(pred, path)
    return (write_html if suffix == ".html" else write_pdf)(pred, path, view_index)
