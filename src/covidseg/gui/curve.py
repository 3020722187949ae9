"""The per-slice lesion curve, painted with QPainter: one drawing for the panel and the reports.

Only QtGui (no widgets), so a worker thread can draw it into a QImage for an HTML report.
Lesion area (filled, orange) has its own scale on the left axis; the lung area (blue line)
its own on the right, so a small lesion is not flattened against a large lung. Slices are
ticked with their 1-based numbers, inferior to superior.
"""

from __future__ import annotations

import math
from typing import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen, QPolygonF

from covidseg.gui.formatting import UNIT_TEXT
from covidseg.gui.grades import translate
from covidseg.report.render import CURVE_LESION_COLOUR, CURVE_LUNG_COLOUR

LESION = QColor(CURVE_LESION_COLOUR)
LUNG = QColor(CURVE_LUNG_COLOUR)


def nice_ceiling(v: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``v`` (axis tops)."""
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= v * (1 - 1e-9):
            return m * e
    return 10 * e


def tick_step(n: int, max_ticks: int = 8) -> int:
    """A step of 1, 2, 5, 10, 20, 50 … slices giving at most ``max_ticks`` ticks."""
    e = 1
    while True:
        for m in (1, 2, 5):
            if math.ceil(n / (m * e)) <= max(1, max_ticks):
                return m * e
        e *= 10


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:.2g}"


def margins(font: QFont, has_lung: bool) -> tuple[float, float, float, float]:
    fm = QFontMetricsF(font)
    h = fm.height()
    side = fm.horizontalAdvance("000,000") + 8
    return side, h * 1.8, (side if has_lung else 10.0), h * 3.0


def plot_rect(rect: QRectF, font: QFont, has_lung: bool) -> QRectF:
    l, t, r, b = margins(font, has_lung)
    return QRectF(rect.left() + l, rect.top() + t, max(1.0, rect.width() - l - r), max(1.0, rect.height() - t - b))


def paint_curve(p: QPainter, rect: QRectF, values: Sequence[float], lung_values: Sequence[float] | None,
                unit: str, current: int = -1, *, text: QColor = QColor("black"), grid: QColor = QColor("#bbbbbb"),
                font: QFont | None = None) -> None:
    """Draw the curve into ``rect`` of ``p`` (axes, ticks, legend, current-slice marker)."""
    font = QFont(font) if font is not None else QFont()
    p.save()
    p.setFont(font)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    fm = QFontMetricsF(font)
    has_lung = bool(lung_values)
    plot = plot_rect(rect, font, has_lung)
    p.setPen(QPen(grid, 1))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(plot)
    n = len(values)
    if not n:
        p.setPen(text)
        p.drawText(plot, Qt.AlignmentFlag.AlignCenter, translate("ResultsPanel", "no per-slice data"))
        p.restore()
        return
    top = nice_ceiling(max(values))
    lung_top = nice_ceiling(max(lung_values)) if has_lung else 1.0

    def x_of(k: float) -> float:
        return plot.left() + plot.width() * (k + 0.5) / n

    def y_of(v: float, t: float) -> float:
        return plot.bottom() - plot.height() * v / t

    # grid and y labels: 0, half, top on each axis
    for frac in (0.5, 1.0):
        y = plot.bottom() - plot.height() * frac
        p.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
    for frac in (0.0, 0.5, 1.0):
        y = plot.bottom() - plot.height() * frac
        p.setPen(LESION.darker(130))
        p.drawText(QRectF(rect.left(), y - fm.height() / 2, plot.left() - rect.left() - 4, fm.height()),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, _fmt(top * frac))
        if has_lung:
            p.setPen(LUNG)
            p.drawText(QRectF(plot.right() + 4, y - fm.height() / 2, rect.right() - plot.right() - 4, fm.height()),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, _fmt(lung_top * frac))
    # x ticks: slice numbers
    step = tick_step(n, max(2, int(plot.width() / (fm.horizontalAdvance("0000") + 6))))
    p.setPen(QPen(text, 1))
    for k in range(0, n, step):
        x = x_of(k)
        p.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 3))
        p.drawText(QRectF(x - 20, plot.bottom() + 3, 40, fm.height()), Qt.AlignmentFlag.AlignHCenter, str(k + 1))
    p.drawText(QRectF(plot.left(), plot.bottom() + 3 + fm.height(), plot.width(), rect.bottom() - plot.bottom()
                      - 3 - fm.height()),
               Qt.AlignmentFlag.AlignHCenter, translate("ResultsPanel", "slice (inferior → superior)"))
    # data
    if has_lung:
        p.setPen(QPen(LUNG, 1.4))
        p.drawPolyline(QPolygonF([QPointF(x_of(k), y_of(v, lung_top)) for k, v in enumerate(lung_values)]))
    area = QPainterPath(QPointF(x_of(0), plot.bottom()))
    for k, v in enumerate(values):
        area.lineTo(QPointF(x_of(k), y_of(v, top)))
    area.lineTo(QPointF(x_of(n - 1), plot.bottom()))
    area.closeSubpath()
    p.setPen(QPen(LESION, 1.0))
    fill = QColor(LESION)
    fill.setAlpha(150)
    p.setBrush(QBrush(fill))
    p.drawPath(area)
    if 0 <= current < n:
        p.setPen(QPen(QColor("#d32f2f"), 1.5, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(x_of(current), plot.top()), QPointF(x_of(current), plot.bottom()))
    # legend above the plot
    u = UNIT_TEXT.get(unit, unit)
    items = [(LESION, translate("ResultsPanel", "lesion, %1 (left axis)").replace("%1", u))]
    if has_lung:
        items.append((LUNG, translate("ResultsPanel", "lung, %1 (right axis)").replace("%1", u)))
    x = plot.left()
    y = rect.top() + 2
    for colour, label in items:
        p.fillRect(QRectF(x, y + fm.height() * 0.25, fm.height() * 0.6, fm.height() * 0.6), colour)
        x += fm.height() * 0.9
        p.setPen(text)
        p.drawText(QRectF(x, y, fm.horizontalAdvance(label) + 4, fm.height() * 1.5), Qt.AlignmentFlag.AlignLeft, label)
        x += fm.horizontalAdvance(label) + fm.height()
    p.restore()


def curve_image(values: Sequence[float], lung_values: Sequence[float] | None, unit: str, width: int,
                height: int, *, scale: float = 1.0) -> QImage:
    """The curve as an RGB image of ``width`` × ``height`` pixels (``scale``: font and line size)."""
    img = QImage(int(width), int(height), QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    font = QFont()
    font.setPixelSize(max(8, int(round(11 * scale))))
    paint_curve(p, QRectF(0, 0, width, height), values, lung_values, unit, font=font)
    p.end()
    return img
