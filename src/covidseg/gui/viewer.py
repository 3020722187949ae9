"""Slice viewer: the axial original and overlay side by side, coronal and sagittal planes,
a linked crosshair, zoom and pan, mouse window/level and the brush for correcting masks.

Mouse: wheel = next/previous slice of that plane, Ctrl+wheel = zoom, left drag = pan (or
paint with the brush / eraser), left click = move the crosshair, right drag = window/level
(left-right: width, up-down: level), double-click = fit. The axial original and overlay
share one zoom and scroll position, so the same anatomy sits side by side.

Planes (array axes of a (Z, Y, X) volume): 0 axial (rows Y, columns X), 1 coronal (rows Z,
columns X), 2 sagittal (rows Z, columns Y). Coronal and sagittal are shown with the head
up when the slice axis runs toward the head or feet, and every view is drawn to the scale
of its voxel spacing, with the patient direction letters on its edges.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPen, QPixmap, QTransform, QWheelEvent
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView,
                               QHBoxLayout, QLabel, QSlider, QSplitter, QVBoxLayout, QWidget)

from covidseg.gui import overlay as ov

ZOOM_STEP = 1.25
ZOOM_RANGE = (0.05, 40.0)
AXIAL, CORONAL, SAGITTAL = 0, 1, 2
OPPOSITE = {"R": "L", "L": "R", "A": "P", "P": "A", "S": "I", "I": "S"}
#: RAS component (nibabel world axes) of each patient direction
RAS_AXIS = {"R": 0, "L": 0, "A": 1, "P": 1, "S": 2, "I": 2}
CLICK_SLOP = 4  # pixels a press may move and still count as a click


class SliceView(QGraphicsView):
    """Shows one picture; reports the image pixel under the cursor, clicks, brush strokes and
    window/level drags."""

    hovered = Signal(int, int)  # row, column of the image (-1, -1 when outside)
    wheelSlices = Signal(int)  # +1 / -1 slice steps asked by the wheel
    zoomed = Signal(float)  # the new scale factor
    fitRequested = Signal()
    clicked = Signal(float, float)  # row, column (image pixels, fractional) of a left click
    painted = Signal(str, float, float)  # "begin" | "move" | "end", row, column (paint tool)
    windowDragged = Signal(float, float)  # right-drag: dx, dy in screen pixels since the last event

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(title)
        self._scene = QGraphicsScene(self)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.FastTransformation)  # show true pixels
        self._scene.addItem(self._item)
        self.setScene(self._scene)
        self.setBackgroundBrush(Qt.GlobalColor.black)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setMouseTracking(True)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)  # right button: window/level
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)  # letters, cursor
        self.setMinimumSize(120, 120)
        self._fit = True
        self._wheel_rest = 0
        self.letters = ("", "", "", "")  # top, bottom, left, right
        self.corner = ""  # text in the lower left corner (slice position)
        self.crosshair: tuple[float, float] | None = None  # row, column (image pixels)
        self.tool = "navigate"  # or "paint"
        self.brush_diameter = 0.0  # pixels of the image's columns (paint tool)
        self._press: QPointF | None = None
        self._right: QPointF | None = None
        self._painting = False
        self._mouse: QPointF | None = None

    def set_image(self, image) -> None:
        """Show a QImage (same size as before keeps zoom and pan)."""
        pm = QPixmap.fromImage(image)
        resized = self._item.pixmap().size() != pm.size()
        self._item.setPixmap(pm)
        if resized:
            self._scene.setSceneRect(self._item.sceneBoundingRect())
            if self._fit:
                self.fit()

    def set_aspect(self, row_over_column: float) -> None:
        """Show pixels ``row_over_column`` times as tall as wide (anisotropic pixel spacing)."""
        self._item.setTransform(QTransform.fromScale(1.0, float(row_over_column)))
        self._scene.setSceneRect(self._item.sceneBoundingRect())
        if self._fit:
            self.fit()

    def aspect(self) -> float:
        return float(self._item.transform().m22())

    def clear(self) -> None:
        self._item.setPixmap(QPixmap())
        self.crosshair = None
        self.corner = ""
        self.letters = ("", "", "", "")

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def scale_factor(self) -> float:
        return float(self.transform().m11())

    def set_scale_factor(self, factor: float) -> None:
        factor = float(np.clip(factor, *ZOOM_RANGE))
        current = self.scale_factor()
        if abs(factor - current) > 1e-9:
            self.scale(factor / current, factor / current)
            self._fit = False

    def fit(self) -> None:
        if self.has_image():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
            self._fit = True

    def set_tool(self, tool: str, diameter: float = 0.0) -> None:
        if tool not in ("navigate", "paint"):
            raise ValueError(f"tool must be 'navigate' or 'paint', got {tool!r}")
        self.tool = tool
        self.brush_diameter = float(diameter)
        paint = tool == "paint"
        self.setDragMode(QGraphicsView.DragMode.NoDrag if paint else QGraphicsView.DragMode.ScrollHandDrag)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if paint else Qt.CursorShape.OpenHandCursor)
        self.viewport().update()

    def image_point(self, pos: QPointF) -> QPointF:
        """Image pixel coordinates (column, row; fractional) of a viewport position."""
        return self._item.mapFromScene(self.mapToScene(pos.toPoint()))

    def viewport_point(self, row: float, col: float) -> QPointF:
        return QPointF(self.mapFromScene(self._item.mapToScene(QPointF(col, row))))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if delta:
                self.set_scale_factor(self.scale_factor() * (ZOOM_STEP if delta > 0 else 1 / ZOOM_STEP))
                self.zoomed.emit(self.scale_factor())
            event.accept()
            return
        # Touchpads send many small deltas: one slice per 120 units (one notch).
        self._wheel_rest += delta
        steps = int(self._wheel_rest / 120)
        if steps:
            self._wheel_rest -= steps * 120
            self.wheelSlices.emit(steps)  # wheel forward: higher index, i.e. toward the head
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.RightButton:
            self._right = event.position()
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            if self.tool == "paint" and self.has_image():
                p = self.image_point(event.position())
                self._painting = True
                self.painted.emit("begin", p.y(), p.x())
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._mouse = event.position()
        if self._right is not None:
            d = event.position() - self._right
            self._right = event.position()
            self.windowDragged.emit(d.x(), d.y())
            event.accept()
        elif self._painting:
            p = self.image_point(event.position())
            self.painted.emit("move", p.y(), p.x())
            event.accept()
        else:
            super().mouseMoveEvent(event)
        self._report(event.position())
        if self.tool == "paint":
            self.viewport().update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.RightButton:
            self._right = None
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            if self._painting:
                self._painting = False
                p = self.image_point(event.position())
                self.painted.emit("end", p.y(), p.x())
                self._press = None
                event.accept()
                return
            press, self._press = self._press, None
            if press is not None and (event.position() - press).manhattanLength() <= CLICK_SLOP and self.has_image():
                p = self.image_point(event.position())
                self.clicked.emit(p.y(), p.x())
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.tool == "paint":
            event.accept()
            return
        self.fit()
        self.fitRequested.emit()
        event.accept()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.hovered.emit(-1, -1)
        self._mouse = None
        self.viewport().update()
        super().leaveEvent(event)

    def _report(self, pos: QPointF) -> None:
        p = self._item.mapFromScene(self.mapToScene(pos.toPoint()))
        pm = self._item.pixmap()
        x, y = int(np.floor(p.x())), int(np.floor(p.y()))
        if pm.isNull() or not (0 <= x < pm.width() and 0 <= y < pm.height()):
            self.hovered.emit(-1, -1)
        else:
            self.hovered.emit(y, x)

    def drawForeground(self, painter: QPainter, rect) -> None:  # noqa: N802
        if not self.has_image():
            return
        painter.save()
        if self.crosshair is not None:
            row, col = self.crosshair
            pm = self._item.pixmap()
            pen = QPen(QColor(80, 220, 80, 170), 0, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            a, b = self._item.mapToScene(QPointF(col + 0.5, 0)), self._item.mapToScene(QPointF(col + 0.5, pm.height()))
            painter.drawLine(a, b)
            a, b = self._item.mapToScene(QPointF(0, row + 0.5)), self._item.mapToScene(QPointF(pm.width(), row + 0.5))
            painter.drawLine(a, b)
        painter.resetTransform()  # the rest in viewport pixels
        w, h = self.viewport().width(), self.viewport().height()
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        painter.setFont(font)
        painter.setPen(QColor(255, 215, 0))
        top, bottom, left, right = self.letters
        m = 4
        painter.drawText(QRectF(0, m, w, 20), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, top)
        painter.drawText(QRectF(0, h - 20 - m, w, 20), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                         bottom)
        painter.drawText(QRectF(m, 0, 30, h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, left)
        painter.drawText(QRectF(w - 30 - m, 0, 30, h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         right)
        if self.corner:
            font.setBold(False)
            painter.setFont(font)
            painter.setPen(QColor(230, 230, 230))
            painter.drawText(QRectF(m, h - 20 - m, w / 2, 20), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                             self.corner)
        if self.tool == "paint" and self._mouse is not None and self.brush_diameter > 0:
            # The brush outline, to scale (the image may be zoomed and anisotropic).
            c = self._mouse
            rx = self.brush_diameter / 2.0 * self.scale_factor()
            ry = rx  # the brush is round in millimetres, and the view is drawn to scale
            painter.setPen(QPen(QColor(255, 255, 255, 200), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(c, rx, ry)
        painter.restore()


class ViewerPanel(QWidget):
    """The views, a slice slider, window/level controls and a cursor read-out."""

    sliceChanged = Signal(int)
    cursorMoved = Signal(int, int, int)  # crosshair (z, y, x)
    # brush stroke on a plane: phase ("begin" | "move" | "end"), axis, slice index, row, column
    # (row and column of that slice of the (Z, Y, X) array, fractional pixels)
    stroke = Signal(str, int, int, float, float)
    windowChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.array: np.ndarray | None = None  # (Z, Y, X) always (a slice is Z=1)
        self.is_hu = False
        self.spacing = None
        self.orientation: tuple[str, ...] = ("?", "P", "L")
        self.affine = None
        self.masks: dict[str, np.ndarray | None] = {}
        self.options = ov.OverlayOptions()
        self.overlay_visible = True
        self.window = ov.DisplayWindow(127.5, 255.0)
        self.cursor = [0, 0, 0]  # z, y, x of the crosshair; z is the axial slice shown
        self.planes_on = False
        self.tool = "navigate"
        self.brush_diameter = 9

        self.original = SliceView("original")
        self.overlay = SliceView("overlay")
        self.coronal = SliceView("coronal")
        self.sagittal = SliceView("sagittal")
        self.views = {AXIAL: self.overlay, CORONAL: self.coronal, SAGITTAL: self.sagittal}
        tip = self.tr("Wheel: slices, Ctrl+wheel: zoom, drag: pan, click: crosshair, right-drag: window/level, "
                      "double-click: fit")
        self.original.setToolTip(self.tr("Original.") + " " + tip)
        self.overlay.setToolTip(self.tr("Segmentation overlay.") + " " + tip)
        self.coronal.setToolTip(self.tr("Coronal plane.") + " " + tip)
        self.sagittal.setToolTip(self.tr("Sagittal plane.") + " " + tip)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self._titled(self.original, self.tr("Original")))
        self.axial_title = self.tr("Segmentation")
        self.splitter.addWidget(self._titled(self.overlay, self.axial_title))
        self.plane_splitter = QSplitter(Qt.Orientation.Vertical)
        self.plane_splitter.setChildrenCollapsible(False)
        self.plane_splitter.addWidget(self._titled(self.coronal, self.tr("Coronal")))
        self.plane_splitter.addWidget(self._titled(self.sagittal, self.tr("Sagittal")))
        self.splitter.addWidget(self.plane_splitter)
        self.plane_splitter.hide()
        for a, b in ((self.original, self.overlay), (self.overlay, self.original)):
            a.horizontalScrollBar().valueChanged.connect(b.horizontalScrollBar().setValue)
            a.verticalScrollBar().valueChanged.connect(b.verticalScrollBar().setValue)
            a.zoomed.connect(b.set_scale_factor)
            a.fitRequested.connect(b.fit)
        for axis, view in ((AXIAL, self.original), (AXIAL, self.overlay), (CORONAL, self.coronal),
                           (SAGITTAL, self.sagittal)):
            view.hovered.connect(lambda r, c, a=axis: self._hovered_plane(a, r, c))
            view.wheelSlices.connect(lambda s, a=axis: self.step_plane(a, s))
            view.clicked.connect(lambda r, c, a=axis: self._clicked(a, r, c))
            view.painted.connect(lambda phase, r, c, a=axis: self._painted(a, phase, r, c))
            view.windowDragged.connect(self._window_drag)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("sliceSlider")
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self.set_index)
        self.slice_label = QLabel()
        self.slice_label.setObjectName("sliceLabel")
        self.slice_label.setMinimumWidth(110)
        self.position_label = QLabel()
        self.position_label.setObjectName("positionLabel")

        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("windowPreset")
        self.preset_combo.addItem(self.tr("Lung"), "lung")
        self.preset_combo.addItem(self.tr("Mediastinum"), "mediastinum")
        self.preset_combo.addItem(self.tr("Custom"), "custom")
        self.preset_combo.currentIndexChanged.connect(self._preset_chosen)
        self.level_spin = QDoubleSpinBox()
        self.width_spin = QDoubleSpinBox()
        for spin, lo, hi in ((self.level_spin, -3000.0, 5000.0), (self.width_spin, 1.0, 10000.0)):
            spin.setRange(lo, hi)
            spin.setDecimals(0)
            spin.setSingleStep(10.0)
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(self._custom_window)
        self.level_label = QLabel(self.tr("L"))
        self.width_label = QLabel(self.tr("W"))
        self.cursor_label = QLabel()
        self.cursor_label.setObjectName("cursorLabel")
        self.cursor_label.setMinimumWidth(200)

        bar = QHBoxLayout()
        bar.addWidget(self.slice_label)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.position_label)
        wl = QHBoxLayout()
        self.window_title = QLabel(self.tr("Window:"))
        wl.addWidget(self.window_title)
        wl.addWidget(self.preset_combo)
        wl.addWidget(self.level_label)
        wl.addWidget(self.level_spin)
        wl.addWidget(self.width_label)
        wl.addWidget(self.width_spin)
        wl.addStretch(1)
        wl.addWidget(self.cursor_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(bar)
        layout.addLayout(wl)
        self._set_window_controls_enabled(False)

    @staticmethod
    def _titled(view: QWidget, title: str) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        label = QLabel(title)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet("font-weight: bold;")
        lay.addWidget(label)
        lay.addWidget(view, 1)
        return box

    # ------------------------------------------------------------------ data
    def set_image(self, array: np.ndarray, is_hu: bool, spacing=None, orientation=None, affine=None) -> None:
        """Show a new image (2-D slice or (Z, Y, X) volume); forgets any masks.
        ``orientation``: patient direction each array axis increases toward (letters on the
        views); ``affine``: voxel → RAS mm of the (z, y, x) axes (slice positions)."""
        array = np.asarray(array)
        self.array = array[None] if array.ndim == 2 else array
        self.is_hu = bool(is_hu)
        self.spacing = None if spacing is None else tuple(float(s) for s in spacing)
        if self.spacing is not None and len(self.spacing) == 2:
            self.spacing = (1.0, *self.spacing)  # a slice: its thickness is irrelevant
            self._spacing_2d = True
        else:
            self._spacing_2d = False
        orient = tuple(str(o).upper() for o in orientation) if orientation is not None else ()
        self.orientation = orient if len(orient) == 3 else ("?", *(orient or ("P", "L"))[-2:])
        # A single slice's affine describes its own 2-D grid: positions are for volumes only.
        self.affine = None if affine is None or array.ndim == 2 else np.asarray(affine, float)
        self.masks = {}
        self.window = ov.default_window(self.array, self.is_hu)
        self._set_window_controls_enabled(self.is_hu)
        with QSignalBlocker(self.preset_combo):
            self.preset_combo.setCurrentIndex(0 if self.is_hu else 2)
        self._show_window_values()
        n = self.array.shape[0]
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, n - 1)
            self.slider.setValue(n // 2)
        self.slider.setEnabled(n > 1)
        self.cursor = [n // 2, self.array.shape[1] // 2, self.array.shape[2] // 2]
        for view in self.views.values():
            view._fit = True
        self.original._fit = True
        self.refresh()
        for axis, view in self.views.items():
            view.set_aspect(self.plane_aspect(axis))
        self.original.set_aspect(self.plane_aspect(AXIAL))
        self._update_letters()
        self.set_planes(self.planes_on)
        self.sliceChanged.emit(self.cursor[0])

    def set_masks(self, lung=None, lesion=None, classes=None) -> None:
        """Masks in the image's grid (2-D or 3-D, like the array given to :meth:`set_image`)."""
        def as3d(m):
            if m is None:
                return None
            m = np.asarray(m)
            return m[None] if m.ndim == 2 else m

        self.masks = {"lung": as3d(lung), "lesion": as3d(lesion), "classes": as3d(classes)}
        for name, m in self.masks.items():
            if m is not None and self.array is not None and m.shape != self.array.shape:
                raise ValueError(f"{name} mask shape {m.shape} differs from the image's {self.array.shape}")
        self.refresh()

    def set_options(self, options: ov.OverlayOptions) -> None:
        self.options = options
        self.refresh()

    def set_overlay_visible(self, on: bool) -> None:
        """Show or hide all mask colours at once (the check boxes keep their state)."""
        self.overlay_visible = bool(on)
        self.refresh()

    def clear(self) -> None:
        self.array = None
        self.masks = {}
        for view in (self.original, *self.views.values()):
            view.clear()
        self.slider.setRange(0, 0)
        self.slice_label.clear()
        self.position_label.clear()
        self.cursor_label.clear()

    @property
    def index(self) -> int:
        return self.cursor[0]

    @property
    def slice_count(self) -> int:
        return 0 if self.array is None else int(self.array.shape[0])

    @property
    def is_volume(self) -> bool:
        return self.array is not None and self.array.shape[0] > 1

    # ------------------------------------------------------------------ geometry
    def _flip_rows(self) -> bool:
        """Coronal/sagittal rows run along the slice axis: show the head up."""
        return self.orientation[0] == "S"

    def plane_aspect(self, axis: int) -> float:
        """Row spacing / column spacing of a plane (1 when unknown)."""
        if self.spacing is None:
            return 1.0
        rows, cols = {AXIAL: (1, 2), CORONAL: (0, 2), SAGITTAL: (0, 1)}[axis]
        return self.spacing[rows] / self.spacing[cols]

    def plane_shape(self, axis: int) -> tuple[int, int]:
        z, y, x = self.array.shape
        return {AXIAL: (y, x), CORONAL: (z, x), SAGITTAL: (z, y)}[axis]

    def to_voxel(self, axis: int, row: float, col: float) -> tuple[float, float]:
        """(row, column) of the picture of ``axis`` → (row, column) of that slice of the array."""
        if axis != AXIAL and self._flip_rows():
            row = self.array.shape[0] - row
        return row, col

    def plane_letters(self, axis: int) -> tuple[str, str, str, str]:
        """Patient directions at the top, bottom, left and right edge of a plane's picture."""
        o = self.orientation

        def ends(d: str) -> tuple[str, str]:  # (low-index end, high-index end)
            return (OPPOSITE.get(d, ""), d if d in OPPOSITE else "")

        if axis == AXIAL:
            top, bottom = ends(o[1])
            left, right = ends(o[2])
        else:
            top, bottom = ends(o[0])
            if self._flip_rows():
                top, bottom = bottom, top
            left, right = ends(o[2] if axis == CORONAL else o[1])
        return top, bottom, left, right

    def slice_position(self, axis: int, index: int | None = None) -> str:
        """Position of a slice in mm: the patient coordinate (RAS, as 3D Slicer shows it) along
        the plane's normal, else the distance from the first slice; "" when unknown."""
        if self.array is None or self.array.shape[0] == 1 and axis == AXIAL and self.affine is None:
            return ""
        index = self.cursor[axis] if index is None else index
        if self.affine is not None and self.affine.shape == (4, 4):
            voxel = [float(c) for c in self.cursor]
            voxel[axis] = float(index)
            world = self.affine @ np.array([*voxel, 1.0])
            d = self.orientation[axis]
            if d in RAS_AXIS:
                comp = RAS_AXIS[d]
                return f"{'RAS'[comp]} {world[comp]:.1f} mm"
        if self.spacing is not None and not (self._spacing_2d and axis == AXIAL):
            return self.tr("%1 mm from the first slice").replace("%1", f"{index * self.spacing[axis]:.1f}")
        return ""

    def _update_letters(self) -> None:
        if self.array is None:
            return
        self.original.letters = self.plane_letters(AXIAL)
        for axis, view in self.views.items():
            view.letters = self.plane_letters(axis)

    # ------------------------------------------------------------------ pictures
    def _options(self) -> ov.OverlayOptions:
        if self.overlay_visible:
            return self.options
        return ov.OverlayOptions(lung=False, ggo=False, consolidation=False, opacity=self.options.opacity)

    def _take(self, a: np.ndarray, axis: int, index: int) -> np.ndarray:
        if axis == AXIAL:
            return a[index]
        out = a[:, index, :] if axis == CORONAL else a[:, :, index]
        return out[::-1] if self._flip_rows() else out

    def plane_rgb(self, axis: int, index: int | None = None) -> np.ndarray | None:
        """The overlay picture of a plane (rows as shown on screen)."""
        if self.array is None:
            return None
        k = self.cursor[axis] if index is None else index
        pick = (lambda name: None if self.masks.get(name) is None else self._take(self.masks[name], axis, k))
        return ov.compose(ov.grey(self._take(self.array, axis, k), self.window), lung=pick("lung"),
                          classes=pick("classes"), lesion=pick("lesion"), options=self._options())

    def original_rgb(self) -> np.ndarray | None:
        if self.array is None:
            return None
        return ov.grey(self.array[self.cursor[0]], self.window)

    def overlay_rgb(self) -> np.ndarray | None:
        return self.plane_rgb(AXIAL)

    def refresh(self) -> None:
        if self.array is None:
            return
        self.original.set_image(ov.to_qimage(self.original_rgb()))
        self.overlay.set_image(ov.to_qimage(self.overlay_rgb()))
        if self.planes_on and self.is_volume:
            self.coronal.set_image(ov.to_qimage(self.plane_rgb(CORONAL)))
            self.sagittal.set_image(ov.to_qimage(self.plane_rgb(SAGITTAL)))
        self._update_cursor_marks()
        n = self.slice_count
        self.slice_label.setText(self.tr("Slice %1 / %2").replace("%1", str(self.cursor[0] + 1)).replace("%2", str(n)))
        self.position_label.setText(self.slice_position(AXIAL))

    def _update_cursor_marks(self) -> None:
        z, y, x = self.cursor
        show = self.planes_on and self.is_volume
        self.overlay.crosshair = (y, x) if show else None
        self.original.crosshair = None
        if show:
            zrow = self.array.shape[0] - 1 - z if self._flip_rows() else z  # picture row of slice z
            self.coronal.crosshair = (zrow, x)
            self.sagittal.crosshair = (zrow, y)
        self.original.corner = self.overlay.corner = self.slice_position(AXIAL)
        self.coronal.corner = self.slice_position(CORONAL) if show else ""
        self.sagittal.corner = self.slice_position(SAGITTAL) if show else ""
        for view in (self.original, *self.views.values()):
            view.viewport().update()

    # ------------------------------------------------------------------ planes and tools
    def set_planes(self, on: bool) -> None:
        """Show the coronal and sagittal planes (volumes only) beside the axial views."""
        self.planes_on = bool(on)
        show = self.planes_on and self.is_volume
        self.plane_splitter.setVisible(show)
        self.refresh()
        if show:
            for view in (self.coronal, self.sagittal):
                view.set_aspect(view.aspect())  # fit once laid out

    def set_tool(self, tool: str, diameter: int | None = None) -> None:
        """"navigate" (drag pans) or "paint" (drag paints with a brush of ``diameter`` pixels)."""
        if diameter is not None:
            self.brush_diameter = int(diameter)
        self.tool = tool
        for view in (self.original, *self.views.values()):
            view.set_tool(tool, self.brush_diameter)

    def set_cursor(self, z: int | None = None, y: int | None = None, x: int | None = None) -> None:
        """Move the crosshair; the axial slice follows ``z``."""
        if self.array is None:
            return
        old_z = self.cursor[0]
        for axis, v in enumerate((z, y, x)):
            if v is not None:
                self.cursor[axis] = int(np.clip(int(v), 0, self.array.shape[axis] - 1))
        with QSignalBlocker(self.slider):
            self.slider.setValue(self.cursor[0])
        self.refresh()
        self.cursorMoved.emit(*self.cursor)
        if self.cursor[0] != old_z:
            self.sliceChanged.emit(self.cursor[0])

    # ------------------------------------------------------------------ slots
    @Slot(int)
    def set_index(self, k: int) -> None:
        if self.array is None:
            return
        k = int(np.clip(k, 0, self.slice_count - 1))
        if k == self.cursor[0] and self.slider.value() == k:
            return
        self.set_cursor(z=k)

    @Slot(int)
    def step(self, steps: int) -> None:
        self.set_index(self.cursor[0] + steps)

    def step_plane(self, axis: int, steps: int) -> None:
        if self.array is None:
            return
        if axis == AXIAL:
            self.step(steps)
        else:
            value = self.cursor[axis] + steps
            self.set_cursor(**{"y" if axis == CORONAL else "x": value})

    def _clicked(self, axis: int, row: float, col: float) -> None:
        if self.array is None:
            return
        r, c = self.to_voxel(axis, row, col)
        r, c = int(np.floor(r)), int(np.floor(c))
        if axis == AXIAL:
            self.set_cursor(y=r, x=c)
        elif axis == CORONAL:
            self.set_cursor(z=r, x=c)
        else:
            self.set_cursor(z=r, y=c)

    def _painted(self, axis: int, phase: str, row: float, col: float) -> None:
        if self.array is None or (axis != AXIAL and not self.is_volume):
            return
        r, c = self.to_voxel(axis, row, col)
        self.stroke.emit(phase, axis, self.cursor[axis], r, c)

    def _window_drag(self, dx: float, dy: float) -> None:
        """Right-drag: right widens the window, down raises the level (as in 3D Slicer)."""
        w = self.window
        scale = max(w.width, 1.0) / 300.0  # a 300-pixel drag changes the width by its own size
        width = float(np.clip(w.width + dx * scale, 1.0, 10000.0))
        level = float(np.clip(w.level + dy * scale, -3000.0, 5000.0))
        self.set_window(ov.DisplayWindow(level, width))
        with QSignalBlocker(self.preset_combo):
            self.preset_combo.setCurrentIndex(self.preset_combo.findData("custom"))
        self.windowChanged.emit()

    def set_window(self, win: ov.DisplayWindow) -> None:
        self.window = win
        self._show_window_values()
        self.refresh()

    def set_preset(self, name: str) -> None:
        i = self.preset_combo.findData(name)
        if i < 0:
            raise ValueError(f"unknown window preset {name!r}")
        self.preset_combo.setCurrentIndex(i)

    @Slot(int)
    def _preset_chosen(self, i: int) -> None:
        name = self.preset_combo.itemData(i)
        if name in ov.PRESETS:
            self.set_window(ov.PRESETS[name])

    @Slot()
    def _custom_window(self) -> None:
        win = ov.DisplayWindow(self.level_spin.value(), self.width_spin.value())
        if win != self.window:
            with QSignalBlocker(self.preset_combo):
                self.preset_combo.setCurrentIndex(self.preset_combo.findData("custom"))
            self.window = win
            self.refresh()

    def _show_window_values(self) -> None:
        for spin, v in ((self.level_spin, self.window.level), (self.width_spin, self.window.width)):
            with QSignalBlocker(spin):
                spin.setValue(v)

    def _set_window_controls_enabled(self, on: bool) -> None:
        # Presets are in HU: meaningless for already-windowed 8-bit pictures.
        for w in (self.preset_combo, self.level_spin, self.width_spin):
            w.setEnabled(on)

    def class_at(self, z: int, y: int, x: int) -> str:
        """What the masks say at a voxel: "ggo", "consolidation", "lesion", "lung", "outside", or ""
        without masks."""
        m = self.masks
        if not any(v is not None for v in m.values()):
            return ""
        if m.get("classes") is not None and m["classes"][z, y, x] in (1, 2):
            return "ggo" if m["classes"][z, y, x] == 1 else "consolidation"
        if m.get("lesion") is not None and m["lesion"][z, y, x]:
            return "lesion"
        if m.get("lung") is not None and m["lung"][z, y, x]:
            return "lung"
        return "outside"

    def class_name(self, key: str) -> str:
        return {"ggo": self.tr("GGO"), "consolidation": self.tr("consolidation"), "lesion": self.tr("lesion"),
                "lung": self.tr("lung"), "outside": self.tr("outside the lung"), "": ""}[key]

    @Slot(int, int)
    def _hovered(self, row: int, col: int) -> None:
        self._hovered_plane(AXIAL, row, col)

    def _hovered_plane(self, axis: int, row: int, col: int) -> None:
        if self.array is None or row < 0:
            self.cursor_label.clear()
            return
        r, c = self.to_voxel(axis, row + 0.5, col + 0.5)
        r, c = int(np.floor(r)), int(np.floor(c))
        z, y, x = {AXIAL: (self.cursor[0], r, c), CORONAL: (r, self.cursor[1], c),
                   SAGITTAL: (r, c, self.cursor[2])}[axis]
        value = float(self.array[z, y, x])
        text = (self.tr("(%1, %2)  %3 HU") if self.is_hu else self.tr("(%1, %2)  value %3"))
        text = text.replace("%1", str(x)).replace("%2", str(y)).replace("%3", f"{value:.0f}")
        if self.is_volume:
            text = text.replace(")", f", {z})", 1)
        what = self.class_name(self.class_at(z, y, x))
        self.cursor_label.setText(text + (f"  · {what}" if what else ""))
