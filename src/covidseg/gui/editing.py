"""Correcting the masks by hand: brush and eraser on one slice of any plane, undo/redo.

Qt-free (the tests drive it directly too). The editor owns 3-D copies of the prediction's
lung, lesion and lesion-type masks; every stroke changes one 2-D slice of them and keeps
that slice's previous content for undo. :meth:`MaskEditor.prediction` measures the edited
masks with :func:`covidseg.quantify.measure` and :func:`covidseg.quantify.split_left_right`,
exactly as the Segmenter measures its own masks, so edited numbers equal what
``covidseg predict`` would report for the same masks.

A lesion is always inside the lung (the measurements count lesion ∩ lung): painting
lesion therefore marks those voxels as lung too, and erasing lung erases the lesion there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

#: what a brush or eraser acts on
LABELS = ("ggo", "consolidation", "lesion", "lung")
CLASS_VALUE = {"ggo": 1, "consolidation": 2}
#: undo steps kept (each holds one slice of each mask)
MAX_UNDO = 200


@dataclass(frozen=True)
class Brush:
    """``label`` in :data:`LABELS`; ``erase`` removes it instead of painting it; ``diameter``
    in pixels of the slice's columns (rows are scaled by ``aspect`` = row / column spacing, so
    the brush is round on the screen and in millimetres)."""

    label: str = "ggo"
    erase: bool = False
    diameter: int = 9
    aspect: float = 1.0

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, got {self.label!r}")
        if int(self.diameter) < 1:
            raise ValueError(f"diameter must be >= 1, got {self.diameter!r}")
        if not (np.isfinite(self.aspect) and self.aspect > 0):
            raise ValueError(f"aspect must be > 0, got {self.aspect!r}")


def disk(shape: tuple[int, int], points, diameter: int, aspect: float = 1.0) -> np.ndarray:
    """Boolean (rows, cols) mask of a round brush of ``diameter`` pixels swept through
    ``points`` ((row, col) pairs, in order; consecutive points are joined)."""
    out = np.zeros(shape, bool)
    r = max(0.5, diameter / 2.0)
    ry, rx = r / aspect, r  # a pixel is ``aspect`` times as tall as wide
    pts = [(float(y), float(x)) for y, x in points]
    if not pts:
        return out
    # Join consecutive points with steps of at most half a radius: a quick drag leaves no gaps.
    dense = [pts[0]]
    for (y0, x0), (y1, x1) in zip(pts, pts[1:]):
        n = int(np.ceil(max(abs(y1 - y0) / max(ry, 0.5), abs(x1 - x0) / max(rx, 0.5)) * 2))
        dense.extend((y0 + (y1 - y0) * t, x0 + (x1 - x0) * t) for t in np.linspace(0, 1, n + 1)[1:])
    for cy, cx in dense:
        y_lo, y_hi = max(0, int(np.floor(cy - ry))), min(shape[0], int(np.ceil(cy + ry)) + 1)
        x_lo, x_hi = max(0, int(np.floor(cx - rx))), min(shape[1], int(np.ceil(cx + rx)) + 1)
        if y_lo >= y_hi or x_lo >= x_hi:
            continue
        yy, xx = np.mgrid[y_lo:y_hi, x_lo:x_hi]
        # Pixel centres at integer coordinates + 0.5 (the point is where the cursor was).
        inside = ((yy + 0.5 - cy) / ry) ** 2 + ((xx + 0.5 - cx) / rx) ** 2 <= 1.0
        out[y_lo:y_hi, x_lo:x_hi] |= inside
    return out


@dataclass
class _Step:
    axis: int
    index: int
    before: tuple[np.ndarray, np.ndarray, np.ndarray | None]
    after: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
    lung_changed: bool = False


class MaskEditor:
    """Editable masks of one Prediction (2-D predictions are held as one-slice volumes)."""

    def __init__(self, pred):
        self.base = pred
        shape = pred.image.array.shape
        self.flat = len(shape) == 2
        shape3 = (1, *shape) if self.flat else tuple(shape)

        def as3d(m, dtype):
            if m is None:
                return None
            m = np.array(m, dtype=dtype, copy=True)
            return m.reshape(shape3)

        self.lung = as3d(pred.lung, bool) if pred.lung is not None else np.zeros(shape3, bool)
        self.lesion = as3d(pred.lesion, bool) if pred.lesion is not None else np.zeros(shape3, bool)
        self.classes = as3d(pred.classes, np.uint8)
        self._sides = pred.sides
        self._sides_stale = False
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._stroke: _Step | None = None
        self._points: list[tuple[float, float]] = []
        self._brush: Brush | None = None
        self.strokes = 0  # strokes applied (not undone) since the prediction

    # ------------------------------------------------------------------ state
    @property
    def typed(self) -> bool:
        return self.classes is not None

    @property
    def edited(self) -> bool:
        return bool(self._undo)

    def can_undo(self) -> bool:
        return bool(self._undo) and self._stroke is None

    def can_redo(self) -> bool:
        return bool(self._redo) and self._stroke is None

    def _slices(self, axis: int, index: int):
        sel = [slice(None)] * 3
        sel[axis] = index
        sel = tuple(sel)
        return (self.lung[sel], self.lesion[sel], None if self.classes is None else self.classes[sel])

    def _check(self, axis: int, index: int) -> None:
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        if not 0 <= index < self.lung.shape[axis]:
            raise ValueError(f"index must be within [0, {self.lung.shape[axis]}), got {index!r}")

    # ------------------------------------------------------------------ strokes
    def begin(self, axis: int, index: int, brush: Brush) -> None:
        """Start a stroke on slice ``index`` of ``axis`` (0 axial, 1 coronal, 2 sagittal)."""
        self._check(axis, index)
        if brush.label in CLASS_VALUE and not self.typed:
            brush = dataclasses.replace(brush, label="lesion")  # a model without lesion types
        if self._stroke is not None:
            self.end()
        self._stroke = _Step(axis, index, tuple(None if a is None else a.copy() for a in self._slices(axis, index)))
        self._points = []
        self._brush = brush

    def add(self, row: float, col: float) -> np.ndarray:
        """Extend the current stroke to (row, col) of the slice; returns the pixels it touched."""
        if self._stroke is None:
            raise RuntimeError("add() outside a stroke: call begin() first")
        last = self._points[-1:]
        self._points.append((row, col))
        lung, lesion, classes = self._slices(self._stroke.axis, self._stroke.index)
        b = self._brush
        d = disk(lung.shape, last + [(row, col)], b.diameter, b.aspect)
        apply(d, b, lung, lesion, classes)
        return d

    def end(self) -> bool:
        """Finish the stroke; True if it changed anything (then it can be undone)."""
        step, self._stroke = self._stroke, None
        if step is None:
            return False
        after = tuple(None if a is None else a.copy() for a in self._slices(step.axis, step.index))
        changed = any(b is not None and not np.array_equal(b, a) for b, a in zip(step.before, after))
        if not changed:
            return False
        step.after = after
        step.lung_changed = not np.array_equal(step.before[0], after[0])
        self._sides_stale |= step.lung_changed
        self._undo.append(step)
        del self._undo[:-MAX_UNDO]
        self._redo.clear()
        self.strokes += 1
        return True

    def stroke(self, axis: int, index: int, brush: Brush, points) -> bool:
        """One whole stroke through ``points`` ((row, col) pairs)."""
        self.begin(axis, index, brush)
        for r, c in points:
            self.add(r, c)
        return self.end()

    def _restore(self, step: _Step, content) -> None:
        for target, value in zip(self._slices(step.axis, step.index), content):
            if target is not None:
                target[...] = value
        self._sides_stale |= step.lung_changed

    def undo(self) -> tuple[int, int] | None:
        """Undo the last stroke; returns its (axis, index), None if there is nothing to undo."""
        if not self.can_undo():
            return None
        step = self._undo.pop()
        self._restore(step, step.before)
        self._redo.append(step)
        self.strokes -= 1
        return step.axis, step.index

    def redo(self) -> tuple[int, int] | None:
        if not self.can_redo():
            return None
        step = self._redo.pop()
        self._restore(step, step.after)
        self._undo.append(step)
        self.strokes += 1
        return step.axis, step.index

    # ------------------------------------------------------------------ results
    def prediction(self, *, copy: bool = False):
        """The base Prediction with the edited masks, re-measured (same code as predict).
        ``copy``: independent arrays (for exports running while the user keeps editing)."""
        from covidseg.quantify import split_left_right

        pred = self.base
        image = pred.image
        orientation = tuple(image.orientation)

        def out(a):
            if a is None:
                return None
            a = a[0] if self.flat else a
            return a.copy() if copy else a

        lung, lesion, classes = out(self.lung), out(self.lesion), out(self.classes)
        if self._sides_stale or self._sides is None:
            try:  # the Segmenter's split, with its midline: an edit never moves a lung to the other side
                self._sides = split_left_right(lung, orientation, midline=pred.midline)
            except ValueError:  # no lateral axis: no per-lung numbers (as in the Segmenter)
                self._sides = None
            self._sides_stale = False
        sides = self._sides
        severity = pred.config.severity if pred.config is not None else None
        kwargs = {} if severity is None else {"severity": severity}
        m = measure_in_lung_box(lung, lesion, classes, spacing=image.spacing, orientation=orientation, sides=sides,
                                **kwargs)
        return dataclasses.replace(pred, lung=lung if pred.lung is not None or lung.any() else None,
                                   lesion=lesion if pred.lesion is not None or lesion.any() else None,
                                   classes=classes, sides=None if sides is None else (sides.copy() if copy else sides),
                                   measurements=m, probabilities={})


def lung_box(lung: np.ndarray, orientation) -> tuple[slice, ...] | None:
    """The smallest box holding every lung voxel, whole along the slice axis (the head-feet
    axis of a volume, along which the per-slice curve and the zones are counted); None if
    there is no lung."""
    from covidseg.quantify.sides import cranial_axis

    if lung.ndim == 3:
        head = cranial_axis(orientation) if orientation is not None else None
        keep = head[0] if head is not None else 0  # measure() counts slices along axis 0 then
        proj = lung.any(axis=keep)
    else:
        keep, proj = None, lung
    if not proj.any():
        return None
    rows, cols = np.flatnonzero(proj.any(axis=1)), np.flatnonzero(proj.any(axis=0))
    inplane = [slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)]
    if keep is not None:
        inplane.insert(keep, slice(None))
    return tuple(inplane)


def measure_in_lung_box(lung, lesion, classes, *, spacing, orientation, sides, **kwargs):
    """:func:`covidseg.quantify.measure` of the masks cropped to :func:`lung_box`: the same
    numbers (only lung voxels are counted, and no slice is cropped away), several times faster
    on a whole CT whose lungs fill a part of each slice (re-measuring after every stroke)."""
    from covidseg.quantify import measure

    box = lung_box(lung, orientation) if sides is not None else None
    if box is None:  # no lung, or the sides must be worked out on the whole grid
        return measure(lung, lesion, classes, spacing=spacing, orientation=orientation, sides=sides, **kwargs)
    crop = (lambda a: None if a is None else a[box])
    return measure(crop(lung), crop(lesion), crop(classes), spacing=spacing, orientation=orientation,
                   sides=crop(sides), **kwargs)


def apply(d: np.ndarray, brush: Brush, lung: np.ndarray, lesion: np.ndarray, classes: np.ndarray | None) -> None:
    """Paint or erase ``brush.label`` on the pixels ``d`` of one slice (arrays changed in place)."""
    label = brush.label
    if label in CLASS_VALUE and classes is None:
        label = "lesion"
    if not brush.erase:
        if label == "lung":
            lung[d] = True
            return
        lung[d] = True  # a lesion lies inside the lung
        lesion[d] = True
        if classes is not None:
            # An untyped "lesion" brush keeps the existing type, new pixels become GGO.
            value = CLASS_VALUE.get(label)
            if value is None:
                classes[d & (classes == 0)] = 1
            else:
                classes[d] = value
        return
    if label == "lung":
        lung[d] = False
        lesion[d] = False
        if classes is not None:
            classes[d] = 0
        return
    if label in CLASS_VALUE and classes is not None:
        hit = d & (classes == CLASS_VALUE[label])
    else:
        hit = d & lesion
    lesion[hit] = False
    if classes is not None:
        classes[hit] = 0
