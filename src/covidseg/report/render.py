"""Pictures of a prediction: overlays with a legend, a montage of the most affected slices,
the per-slice lesion curve. Arrays are shown as stored: covidseg keeps every slice in
radiological display orientation (rows toward posterior, columns toward patient-left)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi

from covidseg.io.windowing import MODEL_WINDOW

LUNG_COLOUR = (0, 200, 255)
GGO_COLOUR = (255, 215, 0)
CONSOLIDATION_COLOUR = (230, 30, 60)
LESION_COLOUR = (255, 140, 0)
_MIN_SIDE = 320  # small inputs (e.g. 64x64) are enlarged so the picture stays legible


def pretty_unit(unit: str) -> str:
    return {"mm2": "mm²", "mm3": "mm³"}.get(unit, unit)


def grey(slice2d: np.ndarray, is_hu: bool, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """8-bit display of a slice: HU through the training window, images as they are."""
    lo, hi = (MODEL_WINDOW.lower, MODEL_WINDOW.upper) if is_hu else (value_range or (0.0, 255.0))
    out = (np.asarray(slice2d, np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(out, 0, 255).astype(np.uint8)


def _scale(shape: tuple[int, int]) -> int:
    return max(1, int(np.ceil(_MIN_SIDE / max(1, min(shape)))))


def overlay(grey2d: np.ndarray, lung: np.ndarray | None, classes: np.ndarray | None,
            lesion: np.ndarray | None = None) -> np.ndarray:
    """RGB overlay: lung outline, GGO and consolidation (or untyped lesion) filled, half-transparent."""
    k = _scale(grey2d.shape)
    up = (lambda a: np.kron(a, np.ones((k, k), a.dtype))) if k > 1 else (lambda a: a)
    rgb = np.repeat(up(grey2d)[..., None], 3, axis=2).astype(np.float32)

    def paint(mask, colour, alpha):
        if mask is not None and mask.any():
            m = up(mask.astype(np.uint8)).astype(bool)
            rgb[m] = (1 - alpha) * rgb[m] + alpha * np.asarray(colour, np.float32)

    if classes is not None:
        paint(classes == 1, GGO_COLOUR, 0.45)
        paint(classes == 2, CONSOLIDATION_COLOUR, 0.55)
    elif lesion is not None:
        paint(lesion, LESION_COLOUR, 0.5)
    if lung is not None and lung.any():
        m = up(lung.astype(np.uint8)).astype(bool)
        edge = m & ~ndi.binary_erosion(m, iterations=max(1, k // 2))
        rgb[edge] = LUNG_COLOUR
    return rgb.clip(0, 255).astype(np.uint8)


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


def legend_items(has_classes: bool, has_lesion: bool, has_lung: bool) -> list[tuple[str, tuple[int, int, int]]]:
    items = []
    if has_lung:
        items.append(("lung outline", LUNG_COLOUR))
    if has_classes:
        items += [("ground-glass opacity", GGO_COLOUR), ("consolidation", CONSOLIDATION_COLOUR)]
    elif has_lesion:
        items.append(("lesion", LESION_COLOUR))
    return items


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
        ax.plot(z, lung_values, color="#00a0d0", lw=1.2, label="lung")
    ax.fill_between(z, values, color="#ff8c00", alpha=0.6, label="lesion")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"area per slice ({pretty_unit(unit)})")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path_like, format="png")
