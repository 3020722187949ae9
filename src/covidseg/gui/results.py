"""Results panel: sizes per lung, lesion percentages, severity badge, per-slice lesion curve."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QCoreApplication, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QMouseEvent, QPainter
from PySide6.QtWidgets import (QAbstractItemView, QGroupBox, QHeaderView, QLabel, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QToolTip, QVBoxLayout, QWidget)

from covidseg.gui import curve, grades
from covidseg.gui.formatting import COLUMNS, ROWS, UNIT_TEXT, format_percent, format_value
from covidseg.report.model import CaseReport

translate = QCoreApplication.translate

class LesionCurve(QWidget):
    """Lesion area per slice (filled, own scale) and lung area (line, right scale); hover shows
    a slice's values, click jumps to that slice."""

    sliceClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.values: list[float] = []
        self.lung_values: list[float] = []
        self.unit = ""
        self.current = -1
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMouseTracking(True)
        self.setToolTip(translate("ResultsPanel", "Lesion area per slice; click to show that slice"))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 170)

    def set_data(self, values: Sequence[float], lung_values: Sequence[float] | None, unit: str) -> None:
        self.values = [float(v) for v in values]
        self.lung_values = [float(v) for v in lung_values] if lung_values is not None else []
        self.unit = unit
        self.update()

    def set_current(self, k: int) -> None:
        self.current = int(k)
        self.update()

    def _font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        return font

    def _plot_rect(self) -> QRectF:
        return curve.plot_rect(QRectF(self.rect()), self._font(), bool(self.lung_values))

    def x_of(self, k: int) -> float:
        rect, n = self._plot_rect(), len(self.values)
        return rect.left() + (rect.width() * (k + 0.5) / n if n else 0.0)

    def index_at(self, x: float) -> int | None:
        rect, n = self._plot_rect(), len(self.values)
        if not n:
            return None
        k = int((x - rect.left()) / rect.width() * n)
        return int(np.clip(k, 0, n - 1))

    def value_text(self, k: int) -> str:
        """What hovering slice ``k`` shows: its lesion area, and its share of that slice's lung."""
        u = UNIT_TEXT.get(self.unit, self.unit)
        text = translate("ResultsPanel", "Slice %1: lesion %2 %3").replace("%1", str(k + 1)).replace(
            "%2", f"{self.values[k]:,.0f}").replace("%3", u)
        if self.lung_values and self.lung_values[k] > 0:
            text += translate("ResultsPanel", " (%1 of the slice's lung, %2 %3)").replace(
                "%1", format_percent(100.0 * self.values[k] / self.lung_values[k])).replace(
                "%2", f"{self.lung_values[k]:,.0f}").replace("%3", u)
        return text

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        k = self.index_at(event.position().x())
        if k is not None:
            QToolTip.showText(event.globalPosition().toPoint(), self.value_text(k), self)
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        k = self.index_at(event.position().x())
        if k is not None and event.button() == Qt.MouseButton.LeftButton:
            self.sliceClicked.emit(k)
        event.accept()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        curve.paint_curve(p, QRectF(self.rect()), self.values, self.lung_values or None, self.unit, self.current,
                          text=pal.text().color(), grid=pal.mid().color(), font=self._font())
        p.end()


class ResultsPanel(QWidget):
    """Numbers of one Prediction."""

    sliceRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.measurements = None
        self.badge = QLabel()
        self.badge.setObjectName("severityBadge")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setMinimumHeight(30)
        self.badge.setWordWrap(True)
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

        # The pipeline's plausibility warnings (a missing or tiny lung, an airless lung taken as
        # consolidation): report.json and predict's terminal carry them, so the GUI must too.
        self.warnings_label = QLabel()
        self.warnings_label.setObjectName("warningsLabel")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextFormat(Qt.TextFormat.PlainText)
        self.warnings_label.setStyleSheet("border-radius: 6px; padding: 4px; background: #FFF3CD; color: #664D03;"
                                          "border: 1px solid #FFDA6A;")
        self.warnings_label.setVisible(False)

        self.curve = LesionCurve()
        self.curve.sliceClicked.connect(self.sliceRequested)
        self.curve_box = QGroupBox(translate("ResultsPanel", "Lesion per slice"))
        lay = QVBoxLayout(self.curve_box)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.curve)

        sev = QGroupBox(translate("ResultsPanel", "Severity"))
        sev_lay = QVBoxLayout(sev)
        sev_lay.setContentsMargins(6, 4, 6, 4)
        sev_lay.addWidget(self.badge)
        sev_lay.addWidget(self.grades)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(sev)
        layout.addWidget(self.warnings_label)
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
        self.warnings_label.clear()
        self.warnings_label.setVisible(False)
        self.curve.set_data([], None, "")
        self.curve_box.setVisible(False)
        self._fit_table_height()

    def cell_text(self, row: str, column: str) -> str:
        return self.table.item(ROWS.index(row), COLUMNS.index(column)).text()

    def cell_value(self, row: str, column: str):
        return self.table.item(ROWS.index(row), COLUMNS.index(column)).data(Qt.ItemDataRole.UserRole)

    def show_prediction(self, pred, edited: bool = False) -> None:
        """Show the numbers of ``pred``'s report (:class:`CaseReport`, as in report.json)."""
        report = CaseReport.of(pred)
        m = report.measurements
        self.edited = edited
        self.measurements = m
        table = report.table()
        for c, col in enumerate(COLUMNS):
            values = table[col]
            for r, row in enumerate(ROWS):
                item = QTableWidgetItem(format_value(row, values[row], m.unit))
                item.setData(Qt.ItemDataRole.UserRole, values[row])
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        notes = {"mL": translate("ResultsPanel", "Volumes in mL from the voxel spacing."),
                 "mm2": translate("ResultsPanel", "Areas in mm² from the pixel spacing."),
                 "pixels": translate("ResultsPanel", "No pixel spacing is known for this image: areas are pixel counts."),
                 "voxels": translate("ResultsPanel", "No voxel spacing is known: volumes are voxel counts.")}
        note = notes.get(m.unit, "")
        if edited:
            note += " " + translate("ResultsPanel", "Masks corrected by hand.")
        self.unit_label.setText(note)
        if report.warnings:
            head = translate("ResultsPanel", "Check the lung mask:")
            self.warnings_label.setText("\n".join([head, *(f"• {w}" for w in report.warnings)]))
        else:
            self.warnings_label.clear()
        self.warnings_label.setVisible(bool(report.warnings))
        self._fit_table_height()
        sev = m.severity
        grade = sev.mosmed_grade  # the primary grade (published scale; docs/severity.md)
        pct = m.whole.lesion_percent
        head = grades.mosmed_text(grade)
        if pct is not None:
            head += "  —  " + translate("ResultsPanel", "Lesion: %1 of lung").replace("%1", format_percent(pct))
        self.badge.setText(head)
        self.badge.setToolTip(grades.mosmed_definition(grade))
        colour = grades.MOSMED_COLOURS.get(grade, "#757575")
        text_colour = "black" if grade == "CT-1" else "white"
        self.badge.setStyleSheet(f"border-radius: 6px; padding: 4px; background: {colour}; color: {text_colour};"
                                 "font-weight: bold; font-size: 12pt;")
        lines = [translate("ResultsPanel", "Primary grade: MosMed CT scale (hover for its definition).")]
        ratio = grades.ratio_line(sev.ratio_grade, sev.ratio_thresholds)
        if ratio:
            lines.append(ratio)
        zone = grades.zone_line(sev.zone_total)
        if zone:
            lines.append(zone)
        self.grades.setText("\n".join(lines))
        self.grades.setToolTip(grades.mosmed_definition(grade))
        if m.slice_lesion is not None and len(m.slice_lesion) > 1:
            lung_values = m.slice_lung if pred.lung is not None else None
            self.curve.set_data(m.slice_lesion, lung_values, m.slice_unit or "pixels")
            self.curve_box.setVisible(True)
        else:
            self.curve.set_data([], None, "")
            self.curve_box.setVisible(False)
