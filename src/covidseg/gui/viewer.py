"""Slice viewer: original and overlay side by side, slices on the wheel, zoom and pan.

Mouse: wheel = next/previous slice, Ctrl+wheel = zoom, drag = pan, double-click = fit.
Both views share one zoom and scroll position, so the same anatomy sits side by side.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QMouseEvent, QPainter, QPixmap, QTransform, QWheelEvent
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView,
                               QHBoxLayout, QLabel, QSlider, QSplitter, QVBoxLayout, QWidget)

from covidseg.gui import overlay as ov

ZOOM_STEP = 1.25
ZOOM_RANGE = (0.05, 40.0)


class SliceView(QGraphicsView):
    """Shows one picture; reports the image pixel under the cursor."""

    hovered = Signal(int, int)  # row, column of the image (-1, -1 when outside)
    wheelSlices = Signal(int)  # +1 / -1 slice steps asked by the wheel
    zoomed = Signal(float)  # the new scale factor
    fitRequested = Signal()

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
        self.setMinimumSize(160, 160)
        self._fit = True
        self._wheel_rest = 0

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

    def clear(self) -> None:
        self._item.setPixmap(QPixmap())

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

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mouseMoveEvent(event)
        self._report(event.position())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.fit()
        self.fitRequested.emit()
        event.accept()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.hovered.emit(-1, -1)
        super().leaveEvent(event)

    def _report(self, pos: QPointF) -> None:
        p = self._item.mapFromScene(self.mapToScene(pos.toPoint()))
        pm = self._item.pixmap()
        x, y = int(np.floor(p.x())), int(np.floor(p.y()))
        if pm.isNull() or not (0 <= x < pm.width() and 0 <= y < pm.height()):
            self.hovered.emit(-1, -1)
        else:
            self.hovered.emit(y, x)


class ViewerPanel(QWidget):
    """Two synchronised views, a slice slider, window/level controls and a cursor read-out."""

    sliceChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.array: np.ndarray | None = None  # (Z, Y, X) always (a slice is Z=1)
        self.is_hu = False
        self.spacing = None
        self.masks: dict[str, np.ndarray | None] = {}
        self.options = ov.OverlayOptions()
        self.window = ov.DisplayWindow(127.5, 255.0)
        self._index = 0

        self.original = SliceView("original")
        self.overlay = SliceView("overlay")
        self.original.setToolTip(self.tr("Original. Wheel: slices, Ctrl+wheel: zoom, drag: pan, double-click: fit"))
        self.overlay.setToolTip(self.tr("Segmentation overlay. Wheel: slices, Ctrl+wheel: zoom, drag: pan"))
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self._titled(self.original, self.tr("Original")))
        self.splitter.addWidget(self._titled(self.overlay, self.tr("Segmentation")))
        for a, b in ((self.original, self.overlay), (self.overlay, self.original)):
            a.horizontalScrollBar().valueChanged.connect(b.horizontalScrollBar().setValue)
            a.verticalScrollBar().valueChanged.connect(b.verticalScrollBar().setValue)
            a.zoomed.connect(b.set_scale_factor)
            a.fitRequested.connect(b.fit)
            a.hovered.connect(self._hovered)
            a.wheelSlices.connect(self.step)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("sliceSlider")
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self.set_index)
        self.slice_label = QLabel()
        self.slice_label.setObjectName("sliceLabel")
        self.slice_label.setMinimumWidth(110)

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
        label = QLabel(title)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet("font-weight: bold;")
        lay.addWidget(label)
        lay.addWidget(view, 1)
        return box

    # ------------------------------------------------------------------ data
    def set_image(self, array: np.ndarray, is_hu: bool, spacing=None) -> None:
        """Show a new image (2-D slice or (Z, Y, X) volume); forgets any masks."""
        array = np.asarray(array)
        self.array = array[None] if array.ndim == 2 else array
        self.is_hu = bool(is_hu)
        self.spacing = spacing
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
        self._index = n // 2
        self.original._fit = self.overlay._fit = True
        aspect = 1.0
        if spacing is not None and len(spacing) >= 2 and spacing[-1] > 0:
            aspect = float(spacing[-2]) / float(spacing[-1])
        self.refresh()
        for view in (self.original, self.overlay):
            view.set_aspect(aspect)
        self.sliceChanged.emit(self._index)

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

    def clear(self) -> None:
        self.array = None
        self.masks = {}
        self.original.clear()
        self.overlay.clear()
        self.slider.setRange(0, 0)
        self.slice_label.clear()
        self.cursor_label.clear()

    @property
    def index(self) -> int:
        return self._index

    @property
    def slice_count(self) -> int:
        return 0 if self.array is None else int(self.array.shape[0])

    # ------------------------------------------------------------------ pictures
    def original_rgb(self) -> np.ndarray | None:
        if self.array is None:
            return None
        return ov.grey(self.array[self._index], self.window)

    def overlay_rgb(self) -> np.ndarray | None:
        if self.array is None:
            return None
        k = self._index
        pick = (lambda name: None if self.masks.get(name) is None else self.masks[name][k])
        return ov.compose(ov.grey(self.array[k], self.window), lung=pick("lung"), classes=pick("classes"),
                          lesion=pick("lesion"), options=self.options)

    def refresh(self) -> None:
        if self.array is None:
            return
        g = self.original_rgb()
        self.original.set_image(ov.to_qimage(g))
        self.overlay.set_image(ov.to_qimage(self.overlay_rgb()))
        n = self.slice_count
        self.slice_label.setText(self.tr("Slice %1 / %2").replace("%1", str(self._index + 1)).replace("%2", str(n)))

    # ------------------------------------------------------------------ slots
    @Slot(int)
    def set_index(self, k: int) -> None:
        if self.array is None:
            return
        k = int(np.clip(k, 0, self.slice_count - 1))
        if k == self._index and self.slider.value() == k:
            return
        self._index = k
        with QSignalBlocker(self.slider):
            self.slider.setValue(k)
        self.refresh()
        self.sliceChanged.emit(k)

    @Slot(int)
    def step(self, steps: int) -> None:
        self.set_index(self._index + steps)

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

    @Slot(int, int)
    def _hovered(self, row: int, col: int) -> None:
        if self.array is None or row < 0:
            self.cursor_label.clear()
            return
        value = float(self.array[self._index, row, col])
        text = (self.tr("(%1, %2)  %3 HU") if self.is_hu else self.tr("(%1, %2)  value %3"))
        self.cursor_label.setText(text.replace("%1", str(col)).replace("%2", str(row)).replace("%3", f"{value:.0f}"))
