"""Pure-numpy overlay and formatting helpers (no window needed)."""

from __future__ import annotations

import numpy as np
import pytest

from covidseg.gui import overlay as ov
from covidseg.gui.formatting import format_percent, format_size, format_value, region_values
from covidseg.quantify import RegionMeasure


@pytest.mark.parametrize("level,width,value,expected", [
    (-600, 1500, -1350, 0),     # lower edge of the lung window
    (-600, 1500, 150, 255),     # upper edge
    (-600, 1500, -600, 128),    # centre (127.5 rounds down on the uint8 cast, +0.5 on float error)
    (40, 400, -160, 0),
    (40, 400, 1000, 255),       # clipped
    (127.5, 255, 100, 100),     # 8-bit identity window
])
def test_grey_maps_window_edges(level, width, value, expected):
    out = ov.grey(np.full((2, 2), value, np.float32), ov.DisplayWindow(level, width))
    assert out.dtype == np.uint8
    assert abs(int(out[0, 0]) - expected) <= 1


@pytest.mark.parametrize("array,is_hu,expected", [
    (np.zeros((4, 4)), True, ov.PRESETS["lung"]),
    (np.full((4, 4), 200.0), False, ov.DisplayWindow.from_range(0, 255)),
    (np.array([[0.0, 4000.0]]), False, ov.DisplayWindow.from_range(0, 4000)),  # 16-bit: own range
])
def test_default_window(array, is_hu, expected):
    assert ov.default_window(array, is_hu) == expected


@pytest.mark.parametrize("kwargs", [dict(level=0, width=0), dict(level=float("nan"), width=10)])
def test_bad_window_raises(kwargs):
    with pytest.raises(ValueError, match="width|level"):
        ov.DisplayWindow(**kwargs)


def test_bad_opacity_raises():
    with pytest.raises(ValueError, match="opacity"):
        ov.OverlayOptions(opacity=1.5)


def _case():
    grey = np.full((20, 20), 100, np.uint8)
    lung = np.zeros((20, 20), bool)
    lung[2:18, 2:18] = True
    classes = np.zeros((20, 20), np.uint8)
    classes[5:8, 5:8] = 1
    classes[10:13, 10:13] = 2
    return grey, lung, classes


def test_outline_is_the_border_only():
    _, lung, _ = _case()
    edge = ov.lung_outline(lung)
    assert edge[2, 5] and edge[17, 10] and not edge[10, 10] and not edge[0, 0]
    assert edge.sum() == 16 * 4 - 4


@pytest.mark.parametrize("opacity", [0.0, 0.45, 1.0])
def test_compose_blends_each_class_with_its_colour(opacity):
    grey, lung, classes = _case()
    rgb = ov.compose(grey, lung=lung, classes=classes, options=ov.OverlayOptions(opacity=opacity))
    for (y, x), colour in (((6, 6), ov.GGO_COLOUR), ((11, 11), ov.CONSOLIDATION_COLOUR)):
        expected = np.rint((1 - opacity) * 100 + opacity * np.asarray(colour, float))
        assert np.array_equal(rgb[y, x], expected.astype(np.uint8))
    assert tuple(rgb[2, 5]) == ov.LUNG_COLOUR
    assert tuple(rgb[15, 5]) == (100, 100, 100)  # inside the lung, no lesion: untouched


@pytest.mark.parametrize("switch,pixel", [("lung", (2, 5)), ("ggo", (6, 6)), ("consolidation", (11, 11))])
def test_compose_toggles(switch, pixel):
    grey, lung, classes = _case()
    on = ov.compose(grey, lung=lung, classes=classes)
    off = ov.compose(grey, lung=lung, classes=classes, options=ov.OverlayOptions(**{switch: False}))
    assert tuple(off[pixel]) == (100, 100, 100) != tuple(on[pixel])
    changed = np.any(on != off, axis=2)
    assert changed.sum() == {"lung": 60, "ggo": 9, "consolidation": 9}[switch]


def test_untyped_lesion_uses_lesion_colour():
    grey, lung, classes = _case()
    rgb = ov.compose(grey, lesion=classes > 0, options=ov.OverlayOptions(opacity=1.0))
    assert tuple(rgb[6, 6]) == ov.LESION_COLOUR == tuple(rgb[11, 11])


def test_compose_rejects_mismatched_masks():
    grey, lung, _ = _case()
    with pytest.raises(ValueError, match="lung shape"):
        ov.compose(grey, lung=lung[:10])


def test_to_qimage_roundtrip(qapp):
    rgb = np.random.default_rng(0).integers(0, 255, (7, 9, 3), dtype=np.uint8)
    img = ov.to_qimage(rgb)
    assert (img.width(), img.height()) == (9, 7)
    c = img.pixelColor(4, 3)
    assert (c.red(), c.green(), c.blue()) == tuple(rgb[3, 4])


@pytest.mark.parametrize("value,unit,text", [
    (1234.56, "mL", "1,234.6 mL"), (25.0, "mm2", "25 mm²"), (300, "pixels", "300 px"), (None, "mL", "–"),
])
def test_format_size(value, unit, text):
    assert format_size(value, unit) == text


def test_region_values_percentages():
    values = region_values(RegionMeasure(lung=200.0, lesion=50.0, ggo=30.0, consolidation=20.0,
                                         lesion_percent=25.0))
    assert values["ggo_percent"] == pytest.approx(15.0)
    assert values["consolidation_percent"] == pytest.approx(10.0)
    assert format_value("lesion_percent", values["lesion_percent"], "mL") == format_percent(25.0) == "25.0 %"
    assert region_values(None)["lung"] is None
