"""Exporting a Prediction from the GUI: masks, report (JSON / CSV / HTML / PDF), pictures.

Report texts follow the interface language (``QCoreApplication.translate``, thread-safe);
the curve is painted with QtGui (a QImage, fine in a worker thread) and the PDF is a
QTextDocument printed by QPdfWriter (no window needed). Every file goes through :func:`covidseg.io.atomic_write`.
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
from covidseg.gui import grades
from covidseg.gui.formatting import COLUMNS, ROWS, format_percent, format_value, region_values
from covidseg.gui.grades import translate
from covidseg.report import render
from covidseg.report.model import build_report
from covidseg.io import atomic_write, write_mask

if TYPE_CHECKING:  # pragma: no cover
    from covidseg.inference.prediction import PredictionData

MASK_FORMATS = ("png", "nifti", "dicom-seg")
REPORT_SUFFIXES = (".json", ".csv", ".html", ".pdf")
CSV_FIELDS = ["input", "region", "unit", *ROWS, "ratio_grade", "mosmed_grade", "zone_total", "edited"]
#: the report's page: A4 less 15 mm margins is 180 x 267 mm; laid out in CSS pixels (96 per inch)
PAGE_MARGIN_MM = 15.0
PAGE_PX = (round(180 / 25.4 * 96), round(267 / 25.4 * 96))  # 680 x 1009
OVERLAY_WIDTH = 300  # px on the page, beside the severity text
CURVE_SIZE = (PAGE_PX[0], 240)  # px on the page, under the table
DICOM_KINDS = ("dicom-series", "dicom-file")


def _masks(pred: "PredictionData") -> dict[str, np.ndarray]:
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


def export_masks(pred: "PredictionData", folder: str | Path, fmt: str) -> list[Path]:
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
        from covidseg.report.dicom_seg import write_dicom_seg

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
def most_affected_slice(pred: "PredictionData") -> int:
    """Index of the slice with most lesion (most lung if none) of a volume; 0 for a slice."""
    if pred.image.array.ndim == 2:
        return 0
    for m in (pred.lesion, pred.lung):
        if m is not None and m.any():
            return int(np.argmax(m.sum(axis=(1, 2))))
    return pred.image.array.shape[0] // 2


def key_picture(pred: "PredictionData", index: int | None = None) -> Image.Image:
    """The overlay of one slice, drawn like ``covidseg predict``'s overlay.png (the legend and
    caption are text of the report, so they follow the interface language)."""
    img = pred.image
    arr = img.array
    k = most_affected_slice(pred) if index is None else int(index)
    pick = (lambda a: None if a is None else (a if a.ndim == 2 else a[k]))
    hi = float(arr.max()) if arr.size else 255.0
    value_range = None if img.is_hu or hi <= 255 else (float(arr.min()), hi)
    rgb = render.overlay(render.grey(pick(arr), img.is_hu, value_range), pick(pred.lung), pick(pred.classes),
                         pick(pred.lesion))
    return Image.fromarray(rgb)


def slice_lung_values(pred: "PredictionData") -> list[float] | None:
    if pred.lung is None or pred.lung.ndim != 3:
        return None
    per = float(np.prod(pred.image.spacing[1:])) if pred.image.spacing is not None else 1.0
    return list(pred.lung.sum(axis=(1, 2)) * per)


def curve_picture(pred: "PredictionData", width: int = CURVE_SIZE[0], height: int = CURVE_SIZE[1]) -> bytes | None:
    """The per-slice curve as PNG, drawn like the panel's (Qt painter, the interface language);
    twice the size it is shown at, for print."""
    m = pred.measurements
    if m.slice_lesion is None or len(m.slice_lesion) < 2:
        return None
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from covidseg.gui.curve import curve_image

    image = curve_image(list(m.slice_lesion), slice_lung_values(pred), m.slice_unit or "pixels", 2 * width,
                        2 * height, scale=2.0)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


# ---------------------------------------------------------------------------- report
def report_rows(pred: "PredictionData") -> list[dict]:
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


def write_json(pred: "PredictionData", path: Path, edits: dict | None = None) -> Path:
    report = build_report(pred)
    if edits:
        report["edited"] = {"by_hand": True, **edits}
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_csv(pred: "PredictionData", path: Path, edits: dict | None = None) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerows({**row, "edited": "yes" if edits else "no"} for row in report_rows(pred))
    with atomic_write(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _labels() -> dict[str, str]:
    return {"lung": translate("Report", "Lung"), "lesion": translate("Report", "Lesion"), "ggo": translate("Report", "GGO"), "consolidation": translate("Report", "Consolidation"),
            "lesion_percent": translate("Report", "Lesion % of lung"), "ggo_percent": translate("Report", "GGO % of lung"),
            "consolidation_percent": translate("Report", "Consolidation % of lung")}


def _picture_height(pred: "PredictionData", width: int) -> int:
    """Height of the overlay picture shown ``width`` wide, to scale of the pixel spacing."""
    shape = pred.image.array.shape[-2:]
    sp = pred.image.spacing
    aspect = float(sp[-2]) / float(sp[-1]) if sp is not None else 1.0
    return max(1, round(width * shape[0] / shape[1] * aspect))


def report_html(pred: "PredictionData", pictures: dict[str, str], *, view_index: int | None = None,
                edits: dict | None = None) -> str:
    """One-page report in the interface language. ``pictures`` maps ``overlay`` / ``curve``
    to an ``<img src>`` value (a data URI for a standalone HTML file, a resource name for the
    PDF). Laid out for :data:`PAGE_PX` (A4 less the margins): the overlay sits beside the
    grades, the curve spans the page under the table, so nothing is wider than the page."""
    m = pred.measurements
    sev = m.severity
    img = pred.image
    esc = html.escape
    labels = _labels()
    head = "".join(f"<th>{esc(h)}</th>" for h in ("", translate("Report", "Both lungs"), translate("Report", "Right"), translate("Report", "Left")))
    body = []
    for row in ROWS:
        cells = [format_value(row, region_values(getattr(m, col))[row], m.unit) for col in COLUMNS]
        body.append(f"<tr><th align='left'>{esc(labels[row])}</th>"
                    + "".join(f"<td align='right'>{esc(c)}</td>" for c in cells) + "</tr>")
    grade = sev.mosmed_grade
    colour = grades.MOSMED_COLOURS.get(grade, "#757575")
    text_colour = "black" if grade == "CT-1" else "white"
    badge = grades.mosmed_text(grade)
    pct = m.whole.lesion_percent
    share = translate("Report", "Lesion: %1 of lung").replace("%1", format_percent(pct)) if pct is not None else ""
    secondary = [x for x in (grades.ratio_line(sev.ratio_grade, sev.ratio_thresholds), grades.zone_line(sev.zone_total))
                 if x]
    spacing = translate("Report", "unknown") if img.spacing is None else " × ".join(f"{s:.3g}" for s in img.spacing) + " mm"
    unit_words = {"mL": translate("Report", "Volumes in mL from the voxel spacing."), "mm2": translate("Report", "Areas in mm² from the pixel spacing."),
                  "pixels": translate("Report", "No pixel spacing is known for this image: areas are pixel counts."),
                  "voxels": translate("Report", "No voxel spacing is known: volumes are voxel counts.")}.get(m.unit, m.unit)
    k = most_affected_slice(pred) if view_index is None else int(view_index)
    legend = [(render.LUNG_COLOUR, translate("Report", "lung outline"))] if pred.lung is not None else []
    if pred.classes is not None:
        legend += [(render.GGO_COLOUR, translate("Report", "ground-glass opacity")), (render.CONSOLIDATION_COLOUR, translate("Report", "consolidation"))]
    elif pred.lesion is not None:
        legend.append((render.LESION_COLOUR, translate("Report", "lesion")))
    legend_html = " &nbsp; ".join(f"<span style='color:#{r:02x}{g:02x}{b:02x}'>■</span> {esc(name)}"
                                  for (r, g, b), name in legend)
    caption = "" if img.array.ndim == 2 else translate("Report", "slice %1 / %2").replace("%1", str(k + 1)).replace(
        "%2", str(img.array.shape[0]))
    T_COVIDSEG_REPORT = translate("Report", "covidseg report")
    T_INPUT = translate("Report", "Input:")
    T_SPACING = translate("Report", "spacing")
    T_SEVERITY = translate("Report", "Severity")
    T_OTHER_MEASURES_SECONDARY = translate("Report", "Other measures (secondary):")
    T_LESION_PER_SLICE = translate("Report", "Lesion per slice")
    T_MODELS = translate("Report", "models:")
    parts = [
        "<html><head><meta charset='utf-8'><title>covidseg</title>",
        "<style>body{font-family:sans-serif;font-size:9pt} table.n{border-collapse:collapse}"
        "table.n td, table.n th{border:1px solid #999;padding:2px 6px}</style></head>"
        f"<body style='max-width:{PAGE_PX[0]}px'>",
        f"<h2>{esc(T_COVIDSEG_REPORT)}</h2>",
        f"<p><b>{esc(T_INPUT)}</b> {esc(str(img.source or ''))} ({esc(img.kind)}, "
        f"{' × '.join(map(str, img.shape))}, {esc(T_SPACING)} {esc(spacing)})</p>",
    ]
    if edits:
        parts.append("<p style='color:#b71c1c'><b>"
                     + esc(translate("Report", "Masks corrected by hand (edits: %1): the numbers and grades are those of the corrected "
                             "masks.").replace("%1", str(edits.get("strokes", ""))))
                     + "</b></p>")
    grade_cell = [
        f"<p><b>{esc(T_SEVERITY)}</b></p>",
        f"<table cellpadding='6'><tr><td style='background:{colour};color:{text_colour};font-weight:bold;"
        f"font-size:12pt'>{esc(badge)}</td></tr></table>",
        f"<p><b>{esc(share)}</b></p>",
        f"<p style='font-size:8pt'>{esc(grades.mosmed_definition(grade))}</p>",
        f"<p style='font-size:8pt;color:#444'>{esc(T_OTHER_MEASURES_SECONDARY)}<br>"
        + "<br>".join(esc(x) for x in secondary) + "</p>",
    ]
    parts.append(f"<table width='100%' border='0' cellspacing='0' cellpadding='0'><tr>")
    if "overlay" in pictures:
        h = _picture_height(pred, OVERLAY_WIDTH)
        parts.append(f"<td width='{OVERLAY_WIDTH + 12}' valign='top'><img src='{pictures['overlay']}' "
                     f"width='{OVERLAY_WIDTH}' height='{h}'><br><span style='font-size:8pt'>{esc(caption)}"
                     f"<br>{legend_html}</span></td>")
    parts.append("<td valign='top'>" + "".join(grade_cell) + "</td></tr></table>")
    parts.append(f"<table class='n' width='99%'><tr>{head}</tr>{''.join(body)}</table>")
    parts.append(f"<p style='color:#555'>{esc(unit_words)} {esc(grades.lung_source_words(pred.lung_source))}</p>")
    if "curve" in pictures:
        parts.append(f"<p><b>{esc(T_LESION_PER_SLICE)}</b><br><img src='{pictures['curve']}' "
                     f"width='{CURVE_SIZE[0]}' height='{CURVE_SIZE[1]}'></p>")
    models = ", ".join(f"{d.get('name')} ({d.get('task')})" for d in pred.models) or "none"
    parts.append(f"<p style='color:#555;font-size:7pt'>covidseg {esc(__version__)}; {esc(T_MODELS)} "
                 f"{esc(models)}. "
                 + esc(translate("Report", "Research software, not a medical device: every result needs a radiologist's review."))
                 + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def write_html(pred: "PredictionData", path: Path, view_index: int | None = None, edits: dict | None = None) -> Path:
    pictures = {"overlay": _data_uri(_png_bytes(key_picture(pred, view_index)))}
    curve = curve_picture(pred)
    if curve is not None:
        pictures["curve"] = _data_uri(curve)
    text = report_html(pred, pictures, view_index=view_index, edits=edits)
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def report_document(pred: "PredictionData", view_index: int | None = None, edits: dict | None = None):
    """The report as a QTextDocument laid out on the A4 text area (:data:`PAGE_PX`)."""
    from PySide6.QtCore import QByteArray, QSizeF, QUrl
    from PySide6.QtGui import QImage, QTextDocument

    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setPageSize(QSizeF(*PAGE_PX))
    pictures = {}
    for name, png in (("overlay", _png_bytes(key_picture(pred, view_index))), ("curve", curve_picture(pred))):
        if png is None:
            continue
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"covidseg:{name}.png"),
                        QImage.fromData(QByteArray(png), "PNG"))
        pictures[name] = f"covidseg:{name}.png"
    doc.setHtml(report_html(pred, pictures, view_index=view_index, edits=edits))
    return doc


def write_pdf(pred: "PredictionData", path: Path, view_index: int | None = None, edits: dict | None = None) -> Path:
    """An A4 PDF of :func:`report_document` (Qt's rich-text engine, no browser needed)."""
    from PySide6.QtCore import QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter

    doc = report_document(pred, view_index, edits)
    with atomic_write(path) as tmp:
        writer = QPdfWriter(str(tmp))
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                         QMarginsF(*(PAGE_MARGIN_MM,) * 4), QPageLayout.Unit.Millimeter))
        writer.setTitle("covidseg report")
        writer.setCreator(f"covidseg {__version__}")
        doc.print_(writer)  # the document's page size (PAGE_PX) is scaled onto the A4 text area
        del writer  # flushes and closes the file before the rename
    return path


def write_report(pred: "PredictionData", path: str | Path, view_index: int | None = None, *,
                 edits: dict | None = None) -> Path:
    """Write the report in the format named by ``path``'s suffix (.json .csv .html .pdf)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ConfigError(f"report must end in one of {', '.join(REPORT_SUFFIXES)}", path)
    if not path.parent.is_dir():
        raise InputError("the folder does not exist", path.parent)
    writer = {".json": write_json, ".csv": write_csv}.get(suffix)
    if writer is not None:
        return writer(pred, path, edits)
    return (write_html if suffix == ".html" else write_pdf)(pred, path, view_index, edits)
