"""The one painter of covidseg's pictures: grey levels, the segmentation overlay (colours,
opacity, lung outline), legend, montage and the per-slice curve.

``covidseg predict``'s pictures, the GUI's viewer and the GUI's HTML/PDF report all paint
through :func:`paint`, so a slice with the same masks and grey window looks the same
everywhere. Arrays are shown as stored: covidseg keeps every slice in radiological display
orientation (rows toward posterior, columns toward patient-left). Nothing here imports Qt
or torch.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi

from covidseg.io.windowing import MODEL_WINDOW

LUNG_COLOUR = (0, 200, 255)
GGO_COLOUR = (255, 215, 0)
CONSOLIDATION_COLOUR = (230, 30, 60)
LESION_COLOUR = (255, 140, 0)
#: the per-slice curve: lesion area (filled) and lung area (line)
CURVE_LESION_COLOUR = "#ff8c00"
CURVE_LUNG_COLOUR = "#0088bb"
_MIN_SIDE = 320  # small inputs (e.g. 64x64) are enlarged so the picture stays legible


@dataclass(frozen=True)
class OverlayOptions:
    """What the overlay shows. ``opacity`` in [0, 1] applies to the filled lesion colours
    (the lung outline is opaque)."""

    lung: bool = True
    ggo: bool = True
    consolidation: bool = True
    opacity: float = 0.45

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.opacity) <= 1.0:
            raise ValueError(f"opacity must be within [0, 1], got {self.opacity!r}")


def pretty_unit(unit: str) -> str:
    return {"mm2": "mm²", "mm3": "mm³"}.get(unit, unit)


def display_range(array: np.ndarray, is_hu: bool) -> tuple[float, float]:
    """The grey range of a saved picture: HU through the model's window
    (:data:`covidseg.io.MODEL_WINDOW`, what the networks see); an 8-bit image as stored
    (0..255); a deeper image (16-bit PNG ...) its own min..max."""
    if is_hu:
        return float(MODEL_WINDOW.lower), float(MODEL_WINDOW.upper)
    hi = float(np.max(array)) if np.size(array) else 255.0
    if hi > 255.0:
        lo = float(np.min(array))
        return lo, (hi if hi > lo else lo + 1.0)
    return 0.0, 255.0


def grey(slice2d: np.ndarray, low: float, high: float) -> np.ndarray:
    """uint8 (Y, X) display of one slice: ``low`` → black, ``high`` → white."""
    if not high > low:
        raise ValueError(f"high must be > low, got {(low, high)!r}")
    out = (np.asarray(slice2d, np.float32) - np.float32(low)) * np.float32(255.0 / (high - low))
    return np.clip(out, 0.0, 255.0, out=out).astype(np.uint8)


def lung_outline(lung2d: np.ndarray, width: int = 1) -> np.ndarray:
    """Boolean border, ``width`` pixels wide, of a 2-D lung mask (inside pixels within
    ``width`` of the outside; the image edge counts as outside)."""
    lung2d = np.asarray(lung2d, bool)
    if not lung2d.any():
        return lung2d.copy()
    return lung2d & ~ndi.binary_erosion(lung2d, iterations=max(1, int(width)), border_value=0)


def picture_scale(shape: tuple[int, ...]) -> int:
    """Whole-number enlargement that brings a slice's short side to at least 320 pixels."""
    return max(1, int(np.ceil(_MIN_SIDE / max(1, min(shape)))))


def paint(grey2d: np.ndarray, *, lung: np.ndarray | None = None, classes: np.ndarray | None = None,
          lesion: np.ndarray | None = None, options: OverlayOptions = OverlayOptions(),
          scale: int = 1) -> np.ndarray:
    """The overlay: RGB uint8 of ``grey2d`` (uint8) with GGO / consolidation blended at
    ``options.opacity`` (or the untyped ``lesion`` when there are no ``classes``, shown with
    the GGO switch) and the lung outline drawn opaque on top.

    ``scale``: enlarge every pixel to ``scale`` × ``scale`` first (small inputs in saved
    pictures); the outline is then ``scale // 2`` pixels wide.
    """
    grey2d = np.asarray(grey2d)
    if grey2d.ndim != 2:
        raise ValueError(f"grey2d must be 2-D, got shape {grey2d.shape}")
    for name, m in (("lung", lung), ("classes", classes), ("lesion", lesion)):
        if m is not None and np.shape(m) != grey2d.shape:
            raise ValueError(f"{name} shape {np.shape(m)} differs from the slice's {grey2d.shape}")
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")

    def up(a):
        if a is None or scale == 1:
            return a
        return np.repeat(np.repeat(np.asarray(a), scale, axis=0), scale, axis=1)

    grey2d, lung, classes, lesion = up(grey2d), up(lung), up(classes), up(lesion)
    rgb = np.repeat(grey2d[..., None], 3, axis=2).astype(np.float32)
    alpha = np.float32(options.opacity)

    def fill(mask: np.ndarray, colour) -> None:
        if mask.any():
            rgb[mask] = (1 - alpha) * rgb[mask] + alpha * np.asarray(colour, np.float32)

    if classes is not None:
        if options.ggo:
            fill(classes == 1, GGO_COLOUR)
        if options.consolidation:
            fill(classes == 2, CONSOLIDATION_COLOUR)
    elif lesion is not None and options.ggo:
        fill(np.asarray(lesion, bool), LESION_COLOUR)
    out = np.rint(rgb).astype(np.uint8)
    if lung is not None and options.lung:
        out[lung_outline(lung, max(1, scale // 2))] = LUNG_COLOUR
    return out


@functools.lru_cache(maxsize=8)
def _font(size: int = 14):
    # DejaVu Sans ships with matplotlib (a dependency) and has the ² and ³ of mm²/mm³,
    # which Pillow's built-in font lacks.
    try:
        import matplotlib

        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)
    except (ImportError, OSError):
        pass
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


#: the English legend words of the saved pictures (the GUI's report translates its own)
LEGEND_WORDS = {"lung": "lung outline", "ggo": "ground-glass opacity", "consolidation": "consolidation",
                "lesion": "lesion"}


def legend_keys(has_classes: bool, has_lesion: bool, has_lung: bool) -> list[tuple[str, tuple[int, int, int]]]:
    """What the overlay shows, as (key, colour): ``lung``, then ``ggo`` + ``consolidation``
    or the untyped ``lesion`` (the keys of :data:`LEGEND_WORDS`)."""
    items = []
    if has_lung:
        items.append(("lung", LUNG_COLOUR))
    if has_classes:
        items += [("ggo", GGO_COLOUR), ("consolidation", CONSOLIDATION_COLOUR)]
    elif has_lesion:
        items.append(("lesion", LESION_COLOUR))
    return items


def legend_items(has_classes: bool, has_lesion: bool, has_lung: bool) -> list[tuple[str, tuple[int, int, int]]]:
    """:func:`legend_keys` with the English words of the saved pictures."""
    return [(LEGEND_WORDS[key], colour) for key, colour in legend_keys(has_classes, has_lesion, has_lung)]


def with_legend(rgb: np.ndarray, items: list[tuple[str, tuple[int, int, int]]], caption: str = "") -> Image.Image:
    """Add a legend strip (and an optional caption) under an RGB picture."""
    font = _font(14)
    width = max(rgb.shape[1], 420)
    rows = 1 + (1 if caption else 0)
    strip = 24 * rows + 6
    img = Image.new("RGB", (width, rgb.shape[0] + strip), (20, 20, 20))
    img.paste(Image.fromarray(rgb), ((width - rgb.shape[1]) // 2, 0))
    draw = ImageDraw.Draw(img)
    x, y = 8, rgb.shape[0] + 6
    for label, colour in items:
        draw.rectangle([x, y + 2, x + 14, y + 16], fill=colour)
        draw.text((x + 20, y), label, fill=(235, 235, 235), font=font)
        x += 28 + int(draw.textlength(label, font=font))
    if caption:
        draw.text((8, y + 24), caption, fill=(200, 200, 200), font=font)
    return img


def pick_slices(lesion_per_slice: np.ndarray, lung_per_slice: np.ndarray, n: int = 6) -> list[int]:
    """The ``n`` slices with most lesion (in slice order); evenly spaced lung slices if no lesion."""
    if lesion_per_slice.max(initial=0) > 0:
        top = np.argsort(lesion_per_slice, kind="stable")[::-1][:n]
        return sorted(int(i) for i in top if lesion_per_slice[i] > 0)
    with_lung = np.nonzero(lung_per_slice)[0]
    if with_lung.size == 0:
        return [len(lung_per_slice) // 2]
    return sorted(set(int(i) for i in np.linspace(with_lung[0], with_lung[-1], n + 2)[1:-1].round()))


def montage(tiles: list[np.ndarray], captions: list[str], columns: int = 3) -> np.ndarray:
    """Tiles (RGB, possibly different sizes) in a grid, each with its caption."""
    font = _font(13)
    h = max(t.shape[0] for t in tiles) + 20
    w = max(t.shape[1] for t in tiles)
    columns = min(columns, len(tiles))
    rows = int(np.ceil(len(tiles) / columns))
    canvas = Image.new("RGB", (w * columns, h * rows), (20, 20, 20))
    draw = ImageDraw.Draw(canvas)
    for k, (tile, caption) in enumerate(zip(tiles, captions)):
        r, c = divmod(k, columns)
        canvas.paste(Image.fromarray(tile), (c * w, r * h))
        draw.text((c * w + 4, r * h + tile.shape[0] + 3), caption, fill=(235, 235, 235), font=font)
    return np.asarray(canvas)


def lesion_curve(values: list[float], lung_values: list[float] | None, unit: str, path_like,
                 xlabel: str = "slice") -> None:
    """Per-slice lesion (and lung) area along the head-feet axis, saved as PNG to ``path_like``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    z = np.arange(len(values))
    if lung_values is not None:
        ax.plot(z, lung_values, color=CURVE_LUNG_COLOUR, lw=1.2, label="lung")
    ax.fill_between(z, values, color=CURVE_LESION_COLOUR, alpha=0.6, label="lesion")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"area per slice ({pretty_unit(unit)})")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path_like, format="png")
