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
from covidseg.gui.formatting import format_percent, format_value
from covidseg.gui.grades import translate
from covidseg.report import render
from covidseg.report.model import REGIONS, ROWS, CaseReport
from covidseg.report.pictures import slice_overlay
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
    """The overlay of one slice, the very picture of ``covidseg predict``'s overlay.png
    (:func:`covidseg.report.pictures.slice_overlay`; the legend and caption are text of the
    report, so they follow the interface language)."""
    return Image.fromarray(slice_overlay(pred, most_affected_slice(pred) if index is None else int(index)))


def curve_picture(report: CaseReport, width: int = CURVE_SIZE[0], height: int = CURVE_SIZE[1]) -> bytes | None:
    """The per-slice curve of the report as PNG, drawn like the panel's (Qt painter, the
    interface language); twice the size it is shown at, for print."""
    m = report.measurements
    if m.slice_lesion is None or len(m.slice_lesion) < 2:
        return None
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from covidseg.gui.curve import curve_image

    image = curve_image(list(m.slice_lesion), m.slice_lung, m.slice_unit or "pixels", 2 * width, 2 * height,
                        scale=2.0)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


# ---------------------------------------------------------------------------- report
def report_rows(report: CaseReport) -> list[dict]:
    """The CSV rows: one per region the case has (both lungs, then each lung if split), the
    numbers of :meth:`CaseReport.table` rounded as in report.json."""
    sev = report.severity
    rows = []
    for region, values in report.table().items():
        if report.region(region) is None:
            continue
        row = {"input": report.input["path"] or "", "region": region, "unit": report.unit}
        row.update({k: "" if v is None else round(float(v), 6) for k, v in values.items()})
        row.update(ratio_grade=sev.ratio_grade or "", mosmed_grade=sev.mosmed_grade or "",
                   zone_total="" if sev.zone_total is None else sev.zone_total)
        rows.append(row)
    return rows


def write_json(report: CaseReport, path: Path, edits: dict | None = None) -> Path:
    """report.json's content (:meth:`CaseReport.to_json`), marked when the masks were edited."""
    data = report.to_json()
    if edits:
        data["edited"] = {"by_hand": True, **edits}
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_csv(report: CaseReport, path: Path, edits: dict | None = None) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerows({**row, "edited": "yes" if edits else "no"} for row in report_rows(report))
    with atomic_write(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _labels() -> dict[str, str]:
    return {"lung": translate("Report", "Lung"), "lesion": translate("Report", "Lesion"), "ggo": translate("Report", "GGO"), "consolidation": translate("Report", "Consolidation"),
            "lesion_percent": translate("Report", "Lesion % of lung"), "ggo_percent": translate("Report", "GGO % of lung"),
            "consolidation_percent": translate("Report", "Consolidation % of lung")}


def _legend_words() -> dict[str, str]:
    return {"lung": translate("Report", "lung outline"), "ggo": translate("Report", "ground-glass opacity"),
            "consolidation": translate("Report", "consolidation"), "lesion": translate("Report", "lesion")}


def _picture_height(report: CaseReport, width: int) -> int:
    """Height of the overlay picture shown ``width`` wide, to scale of the pixel spacing."""
    shape = report.input["shape"][-2:]
    sp = report.input["spacing_mm"]
    aspect = float(sp[-2]) / float(sp[-1]) if sp is not None else 1.0
    return max(1, round(width * shape[0] / shape[1] * aspect))


def legend_of(pred: "PredictionData") -> list[tuple[str, tuple[int, int, int]]]:
    """The overlay's legend (keys and colours of :func:`covidseg.report.render.legend_keys`)."""
    return render.legend_keys(pred.classes is not None, pred.lesion is not None, pred.lung is not None)


def report_html(report: CaseReport, pictures: dict[str, str], *, legend=(), view_index: int | None = None,
                edits: dict | None = None) -> str:
    """One-page report of ``report`` in the interface language. ``pictures`` maps ``overlay``
    / ``curve`` to an ``<img src>`` value (a data URI for a standalone HTML file, a resource
    name for the PDF); ``legend``: the overlay's (:func:`legend_of`); ``view_index``: the
    slice the overlay shows (volumes). Laid out for :data:`PAGE_PX` (A4 less the margins):
    the overlay sits beside the grades, the curve spans the page under the table, so
    nothing is wider than the page."""
    m = report.measurements
    sev = m.severity
    inp = report.input
    esc = html.escape
    labels = _labels()
    head = "".join(f"<th>{esc(h)}</th>" for h in ("", translate("Report", "Both lungs"), translate("Report", "Right"), translate("Report", "Left")))
    table = report.table()
    body = []
    for row in ROWS:
        cells = [format_value(row, table[region][row], m.unit) for region in REGIONS]
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
    spacing = translate("Report", "unknown") if inp["spacing_mm"] is None else " × ".join(
        f"{s:.3g}" for s in inp["spacing_mm"]) + " mm"
    unit_words = {"mL": translate("Report", "Volumes in mL from the voxel spacing."), "mm2": translate("Report", "Areas in mm² from the pixel spacing."),
                  "pixels": translate("Report", "No pixel spacing is known for this image: areas are pixel counts."),
                  "voxels": translate("Report", "No voxel spacing is known: volumes are voxel counts.")}.get(m.unit, m.unit)
    words = _legend_words()
    legend_html = " &nbsp; ".join(f"<span style='color:#{r:02x}{g:02x}{b:02x}'>■</span> {esc(words[key])}"
                                  for key, (r, g, b) in legend)
    volume = len(inp["shape"]) == 3
    caption = "" if not volume or view_index is None else translate("Report", "slice %1 / %2").replace(
        "%1", str(int(view_index) + 1)).replace("%2", str(inp["shape"][0]))
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
        f"<p><b>{esc(T_INPUT)}</b> {esc(inp['path'] or '')} ({esc(inp['kind'])}, "
        f"{' × '.join(map(str, inp['shape']))}, {esc(T_SPACING)} {esc(spacing)})</p>",
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
        h = _picture_height(report, OVERLAY_WIDTH)
        parts.append(f"<td width='{OVERLAY_WIDTH + 12}' valign='top'><img src='{pictures['overlay']}' "
                     f"width='{OVERLAY_WIDTH}' height='{h}'><br><span style='font-size:8pt'>{esc(caption)}"
                     f"<br>{legend_html}</span></td>")
    parts.append("<td valign='top'>" + "".join(grade_cell) + "</td></tr></table>")
    parts.append(f"<table class='n' width='99%'><tr>{head}</tr>{''.join(body)}</table>")
    parts.append(f"<p style='color:#555'>{esc(unit_words)} {esc(grades.lung_source_words(report.lung_source))}</p>")
    if "curve" in pictures:
        parts.append(f"<p><b>{esc(T_LESION_PER_SLICE)}</b><br><img src='{pictures['curve']}' "
                     f"width='{CURVE_SIZE[0]}' height='{CURVE_SIZE[1]}'></p>")
    models = ", ".join(f"{d.get('name')} ({d.get('task')})" for d in report.models) or "none"
    parts.append(f"<p style='color:#555;font-size:7pt'>covidseg {esc(report.version)}; {esc(T_MODELS)} "
                 f"{esc(models)}. "
                 + esc(translate("Report", "Research software, not a medical device: every result needs a radiologist's review."))
                 + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _page(pred: "PredictionData", view_index: int | None) -> tuple[CaseReport, dict[str, bytes], dict]:
    """What a page shows: the report (built once), its pictures as PNG, and the arguments of
    :func:`report_html` that come from the picture (legend, slice)."""
    report = CaseReport.of(pred)
    k = most_affected_slice(pred) if view_index is None else int(view_index)
    pngs = {"overlay": _png_bytes(key_picture(pred, k)), "curve": curve_picture(report)}
    volume = pred.image.array.ndim == 3
    return report, {n: b for n, b in pngs.items() if b is not None}, {"legend": legend_of(pred),
                                                                      "view_index": k if volume else None}


def write_html(pred: "PredictionData", path: Path, view_index: int | None = None, edits: dict | None = None) -> Path:
    report, pngs, kw = _page(pred, view_index)
    text = report_html(report, {n: _data_uri(b) for n, b in pngs.items()}, edits=edits, **kw)
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
    report, pngs, kw = _page(pred, view_index)
    pictures = {}
    for name, png in pngs.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"covidseg:{name}.png"),
                        QImage.fromData(QByteArray(png), "PNG"))
        pictures[name] = f"covidseg:{name}.png"
    doc.setHtml(report_html(report, pictures, edits=edits, **kw))
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
        return writer(CaseReport.of(pred), path, edits)
    return (write_html if suffix == ".html" else write_pdf)(pred, path, view_index, edits)
