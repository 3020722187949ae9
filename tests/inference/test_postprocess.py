import numpy as np
import pytest

from covidseg.inference.engine import Box, to_unit
from covidseg.inference.postprocess import (clean_lung, extend_lung_with_lesions, keep_largest,
                                            remove_small_components, split_classes)


def test_remove_small_components_keeps_large_only():
    m = np.zeros((20, 20), bool)
    m[1:3, 1:3] = True  # 4 px
    m[10:15, 10:15] = True  # 25 px
    out = remove_small_components(m, 5)
    assert not out[1:3, 1:3].any() and out[10:15, 10:15].all()
    assert remove_small_components(m, 0).sum() == 29


def test_small_components_are_3d_in_volumes():
    m = np.zeros((6, 10, 10), bool)
    m[:, 4, 4] = True  # 6 voxels in a column: 1 voxel per slice, but one 3-D component
    assert remove_small_components(m, 5).sum() == 6


def test_clean_lung_fills_holes_and_drops_specks():
    m = np.zeros((40, 40), bool)
    m[5:35, 3:18] = True
    m[5:35, 22:37] = True
    m[15:18, 8:11] = False  # a vessel
    m[0, 0] = True  # a speck
    out = clean_lung(m)
    assert out[15:18, 8:11].all() and not out[0, 0]
    assert keep_largest(m, n=1).sum() == 30 * 15


def test_extend_lung_only_with_adjacent_lesion():
    lung = np.zeros((30, 30), bool)
    lung[5:25, 5:15] = True
    lesion = np.zeros_like(lung)
    lesion[10:14, 15:18] = True  # touching the lung
    lesion[10:14, 27:30] = True  # 12 px away
    out = extend_lung_with_lesions(lung, lesion, reach_voxels=3)
    assert out[10:14, 15:18].all() and not out[10:14, 27:30].any()


def test_split_classes_picks_likelier_type():
    lesion = np.array([[True, True, False]])
    ggo = np.array([[200, 10, 255]], np.uint8)
    cons = np.array([[50, 240, 0]], np.uint8)
    assert split_classes(lesion, ggo, cons).tolist() == [[1, 2, 0]]
    assert split_classes(lesion, None, None).tolist() == [[1, 1, 0]]


@pytest.mark.parametrize("hu, expected", [(-1100, 0.0), (250, 1.0), (-2000, 0.0), (3000, 1.0), (-425, 0.5)])
def test_hu_window(hu, expected):
    assert to_unit(np.array([hu], np.float32), True)[0] == pytest.approx(expected)


def test_images_are_scaled_by_bit_depth():
    assert to_unit(np.array([0, 255], np.float32), False).tolist() == [0.0, 1.0]
    assert to_unit(np.array([0, 4095], np.float32), False, value_range=(0, 4095)).tolist() == [0.0, 1.0]


def test_box_of_mask_with_margin_stays_inside():
    m = np.zeros((50, 60), bool)
    m[10:20, 0:60] = True
    b = Box.of_mask(m, margin=0.1)
    assert (b.y0, b.y1) == (8, 22) and (b.x0, b.x1) == (0, 60)
    assert Box.of_mask(np.zeros((4, 4), bool)) is None
