"""Results panel: sizes per lung, lesion percentages, severity badge, per-slice lesion curve."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QMouseEvent, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (QAbstractItemView, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QSizePolicy,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from covidseg.gui.formatting import (COLUMNS, GRADE_COLOURS, ROWS, UNIT_TEXT, format_percent, format_value,
                                     region_values)

translate = QCoreApplication.translate

#: grade names as shown (translated at display time)
GRADE_NAMES = {
    "none": QT_TRANSLATE_NOOP("ResultsPanel", "none"),
    "mild": QT_TRANSLATE_NOOP("ResultsPanel", "mild"),
    "moderate": QT_TRANSLATE_NOOP("ResultsPanel", "moderate"),
    "severe": QT_TRANSLATE_NOOP("ResultsPanel", "severe"),
}


class LesionCurve(QWidget):
    """Lesion area per slice (filled) over the lung area (line); click a slice to jump to it."""

    sliceClicked = Signal(int)
    MARGIN = (46, 10, 10, 24)  # left, top, right, bottom (pixels)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.values: list[float] = []
        self.lung_values: list[float] = []
        self.unit = ""
        self.current = -1
        self.setMinimumHeight(130)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(translate("ResultsPanel", "Lesion area per slice; click to show that slice"))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 150)

    def set_data(self, values: Sequence[float], lung_values: Sequence[float] | None, unit: str) -> None:
        self.values = [float(v) for v in values]
        self.lung_values = [float(v) for v in lung_values] if lung_values is not None else []
        self.unit = unit
        self.update()

    def set_current(self, k: int) -> None:
        self.current = int(k)
        self.update()

    def _plot_rect(self) -> QRectF:
        l, t, r, b = self.MARGIN
        return QRectF(l, t, max(1, self.width() - l - r), max(1, self.height() - t - b))

    def _ymax(self) -> float:
        top = max(self.values + self.lung_values + [0.0])
        return top if top > 0 else 1.0

    def x_of(self, k: int) -> float:
        rect, n = self._plot_rect(), len(self.values)
        return rect.left() + (rect.width() * (k + 0.5) / n if n else 0.0)

    def index_at(self, x: float) -> int | None:
        rect, n = self._plot_rect(), len(self.values)
        if not n:
            return None
        k = int((x - rect.left()) / rect.width() * n)
        return int(np.clip(k, 0, n - 1))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        k = self.index_at(event.position().x())
        if k is not None and event.button() == Qt.MouseButton.LeftButton:
            self.sliceClicked.emit(k)
        event.accept()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        rect = self._plot_rect()
        text_pen = QPen(pal.text().color())
        p.setPen(QPen(pal.mid().color()))
        p.drawRect(rect)
        if not self.values:
            p.setPen(text_pen)
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, translate("ResultsPanel", "no per-slice data"))
            return
        n, ymax = len(self.values), self._ymax()

        def pt(k: int, v: float) -> QPointF:
            return QPointF(self.x_of(k), rect.bottom() - rect.height() * v / ymax)

        if self.lung_values:
            p.setPen(QPen(QColor("#00a0d0"), 1.2))
            p.drawPolyline(QPolygonF([pt(k, v) for k, v in enumerate(self.lung_values)]))
        area = QPainterPath(QPointF(self.x_of(0), rect.bottom()))
        for k, v in enumerate(self.values):
            area.lineTo(pt(k, v))
        area.lineTo(QPointF(self.x_of(n - 1), rect.bottom()))
        area.closeSubpath()
        p.setPen(QPen(QColor("#ff8c00"), 1.0))
        p.setBrush(QBrush(QColor(255, 140, 0, 150)))
        p.drawPath(area)
        if 0 <= self.current < n:
            p.setPen(QPen(QColor("#d32f2f"), 1.5, Qt.PenStyle.DashLine))
            x = self.x_of(self.current)
            p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        p.setPen(text_pen)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        x = rect.right() - 8
        for label, colour in ((translate("ResultsPanel", "lesion"), QColor("#ff8c00")),
                              (translate("ResultsPanel", "lung"), QColor("#00a0d0"))):
            if label == translate("ResultsPanel", "lung") and not self.lung_values:
                continue
            w = p.fontMetrics().horizontalAdvance(label)
            x -= w
            p.drawText(QPointF(x, rect.top() + 14), label)
            x -= 14
            p.fillRect(QRectF(x, rect.top() + 5, 10, 10), colour)
            x -= 12
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        l, _, _, b = self.MARGIN
        p.drawText(QRectF(0, rect.top() - 4, l - 4, 16), Qt.AlignmentFlag.AlignRight, f"{ymax:,.0f}")
        p.drawText(QRectF(0, rect.bottom() - 12, l - 4, 16), Qt.AlignmentFlag.AlignRight, "0")
        p.drawText(QRectF(rect.left(), rect.bottom() + 2, rect.width(), b - 2),
                   Qt.AlignmentFlag.AlignCenter,
                   translate("ResultsPanel", "slice (inferior → superior), area per slice in %1").replace("%1", UNIT_TEXT.get(self.unit,
                                                                                                       self.unit)))


class ResultsPanel(QWidget):
    """Numbers of one Prediction."""

    sliceRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.measurements = None
        self.badge = QLabel()
        self.badge.setObjectName("severityBadge")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setMinimumHeight(34)
        self.grades = QLabel()
        self.grades.setObjectName("gradesLabel")
        self.grades.setWordWrap(True)

        self.table = QTableWidget(len(ROWS), len(COLUMNS))
        self.table.setObjectName("resultsTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setVerticalHeaderLabels([
            translate("ResultsPanel", "Lung"), translate("ResultsPanel", "Lesion"),
            translate("ResultsPanel", "GGO"), translate("ResultsPanel", "Consolidation"),
            translate("ResultsPanel", "Lesion % of lung"), translate("ResultsPanel", "GGO % of lung"),
            translate("ResultsPanel", "Consolidation % of lung")])
        self.table.setHorizontalHeaderLabels([translate("ResultsPanel", "Both lungs"), translate("ResultsPanel", "Right"), translate("ResultsPanel", "Left")])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.unit_label = QLabel()
        self.unit_label.setObjectName("unitLabel")
        self.unit_label.setWordWrap(True)
        self.unit_label.setStyleSheet("color: palette(mid);")

        self.curve = LesionCurve()
        self.curve.sliceClicked.connect(self.sliceRequested)
        self.curve_box = QGroupBox(translate("ResultsPanel", "Lesion per slice"))
        lay = QVBoxLayout(self.curve_box)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.curve)

        sev = QGroupBox(translate("ResultsPanel", "Severity"))
        sev_lay = QHBoxLayout(sev)
        sev_lay.addWidget(self.badge, 1)
        sev_lay.addWidget(self.grades, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(sev)
        layout.addWidget(self.table)
        layout.addWidget(self.unit_label)
        layout.addWidget(self.curve_box, 1)
        layout.addStretch(0)  # takes the room when there is no curve (a single slice)
        self.clear()

    def _fit_table_height(self) -> None:
        # The table shows all its rows and never grows into an empty white block.
        self.table.resizeRowsToContents()
        h = self.table.verticalHeader().length() + self.table.horizontalHeader().height()
        self.table.setFixedHeight(h + 2 * self.table.frameWidth())

    def clear(self) -> None:
        self.measurements = None
        self.badge.setText(translate("ResultsPanel", "not segmented"))
        self.badge.setStyleSheet("border-radius: 6px; padding: 4px; background: #757575; color: white;"
                                 "font-weight: bold;")
        self.grades.clear()
        for r in range(len(ROWS)):
            for c in range(len(COLUMNS)):
                self.table.setItem(r, c, QTableWidgetItem("–"))
        self.unit_label.clear()
        self.curve.set_data([], None, "")
        self.curve_box.setVisible(False)
        self._fit_table_height()

    def cell_text(self, row: str, column: str) -> str:
        return self.table.item(ROWS.index(row), COLUMNS.index(column)).text()

    def cell_value(self, row: str, column: str):
        return self.table.item(ROWS.index(row), COLUMNS.index(column)).data(Qt.ItemDataRole.UserRole)

    def show_prediction(self, pred) -> None:
        m = pred.measurements
        self.measurements = m
        for c, col in enumerate(COLUMNS):
            values = region_values(getattr(m, col))
            for r, row in enumerate(ROWS):
                item = QTableWidgetItem(format_value(row, values[row], m.unit))
                item.setData(Qt.ItemDataRole.UserRole, values[row])
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        notes = {"mL": translate("ResultsPanel", "Volumes in mL from the voxel spacing."),
                 "mm2": translate("ResultsPanel", "Areas in mm² from the pixel spacing."),
                 "pixels": translate("ResultsPanel", "No pixel spacing is known for this image: areas are pixel counts."),
                 "voxels": translate("ResultsPanel", "No voxel spacing is known: volumes are voxel counts.")}
        self.unit_label.setText(notes.get(m.unit, ""))
        self._fit_table_height()
        sev = m.severity
        grade = sev.ratio_grade
        if grade is None:
            self.badge.setText(translate("ResultsPanel", "no lung found"))
            colour = "#757575"
        else:
            self.badge.setText(translate("ResultsPanel", GRADE_NAMES[grade]).upper() if grade in GRADE_NAMES else grade)
            colour = GRADE_COLOURS.get(grade, "#757575")
        text_colour = "black" if grade == "mild" else "white"
        self.badge.setStyleSheet(f"border-radius: 6px; padding: 4px; background: {colour}; color: {text_colour};"
                                 "font-weight: bold; font-size: 14pt;")
        lines = []
        if m.whole.lesion_percent is not None:
            lines.append(translate("ResultsPanel", "Lesion: %1 of lung").replace("%1", format_percent(m.whole.lesion_percent)))
        if sev.mosmed_grade:
            lines.append(translate("ResultsPanel", "MosMed grade: %1").replace("%1", sev.mosmed_grade))
        if sev.zone_total is not None:
            lines.append(translate("ResultsPanel", "Zone score: %1 / 24").replace("%1", str(sev.zone_total)))
        self.grades.setText("\n".join(lines))
        if m.slice_lesion is not None and len(m.slice_lesion) > 1:
            lung_values = None
            if pred.lung is not None and pred.lung.ndim == 3:
                per = float(np.prod(pred.image.spacing[1:])) if pred.image.spacing is not None else 1.0
                lung_values = list(pred.lung.sum(axis=(1, 2)) * per)
            self.curve.set_data(m.slice_lesion, lung_values, m.slice_unit or "pixels")
            self.curve_box.setVisible(True)
        else:
            self.curve.set_data([], None, "")
            self.curve_box.setVisible(False)
