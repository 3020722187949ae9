import numpy as np
import pytest

from covidseg.quantify import LEFT, RIGHT, measure, split_left_right, zones


def two_lungs_2d(shape=(40, 60)):
    """Two rectangular 'lungs': columns 5-24 and 35-54, rows 5-34 (600 px each)."""
    m = np.zeros(shape, bool)
    m[5:35, 5:25] = True
    m[5:35, 35:55] = True
    return m


def test_slice_areas_follow_spacing_and_sides():
    lung = two_lungs_2d()
    lesion = np.zeros_like(lung)
    lesion[10:20, 5:15] = True  # 100 px in the low-column lung
    lesion[0:3, 0:3] = True  # outside the lung: must not count
    classes = np.zeros(lung.shape, np.uint8)
    classes[10:20, 5:10] = 1  # 50 px GGO
    classes[10:20, 10:15] = 2  # 50 px consolidation
    m = measure(lung, lesion, classes, spacing=(0.5, 0.8), orientation=("P", "L"))
    px = 0.5 * 0.8
    assert m.unit == "mm2"
    assert m.whole.lung == pytest.approx(1200 * px)
    assert m.whole.lesion == pytest.approx(100 * px)
    assert m.whole.ggo == pytest.approx(50 * px) and m.whole.consolidation == pytest.approx(50 * px)
    assert m.whole.lesion_percent == pytest.approx(100 / 1200 * 100)
    # ("P", "L"): columns increase toward the patient's left, so low columns = right lung.
    assert m.right.lesion == pytest.approx(100 * px) and m.right.lung == pytest.approx(600 * px)
    assert m.left.lesion == 0 and m.left.lesion_percent == 0
    assert m.severity.mosmed_grade == "CT-1" and m.severity.ratio_grade == "mild"


@pytest.mark.parametrize("orientation, low_side", [(("P", "L"), RIGHT), (("P", "R"), LEFT), (("L", "P"), RIGHT)])
def test_sides_follow_patient_orientation(orientation, low_side):
    lung = two_lungs_2d()
    if orientation[0] in "LR":
        lung = lung.T
    sides = split_left_right(lung, orientation)
    low = lung.T[:, :30] if orientation[0] in "LR" else lung[:, :30]
    low_sides = (sides.T if orientation[0] in "LR" else sides)[:, :30]
    assert set(np.unique(low_sides[low])) == {low_side}
    assert np.count_nonzero(sides == RIGHT) == np.count_nonzero(sides == LEFT) == 600


def test_touching_lungs_are_still_split():
    lung = two_lungs_2d()
    lung[15:18, 25:35] = True  # a thin bridge (anterior junction)
    sides = split_left_right(lung, ("P", "L"))
    assert (sides[5:35, 5:24] == RIGHT).all() and (sides[5:35, 36:55] == LEFT).all()
    assert (sides[lung] > 0).all() and (sides[~lung] == 0).all()


def test_volume_in_ml_and_no_spacing_in_voxels():
    lung = np.zeros((10, 20, 30), bool)
    lung[1:9, 2:18, 2:12] = True  # 8*16*10 = 1280
    lung[1:9, 2:18, 18:28] = True
    lesion = np.zeros_like(lung)
    lesion[1:9, 2:18, 18:20] = True  # 256 voxels in the high-x lung
    m = measure(lung, lesion, spacing=(2.0, 0.5, 0.5), orientation=("S", "P", "L"))
    assert m.unit == "mL"
    assert m.whole.lung == pytest.approx(2560 * 0.5 / 1000)
    assert m.left.lesion == pytest.approx(256 * 0.5 / 1000) and m.right.lesion == 0
    assert m.whole.ggo is None
    assert m.slice_unit == "mm2" and sum(m.slice_lesion) == pytest.approx(256 * 0.25)
    raw = measure(lung, lesion, spacing=None, orientation=("S", "P", "L"))
    assert raw.unit == "voxels" and raw.whole.lung == 2560 and raw.slice_unit == "pixels"


def test_empty_lung_gives_no_percent_or_grade():
    lung = np.zeros((8, 8), bool)
    m = measure(lung, lung, spacing=(1.0, 1.0), orientation=("P", "L"))
    assert m.whole.lesion_percent is None and m.severity.mosmed_grade is None


@pytest.mark.parametrize("spacing", [(1.0,), (1.0, -1.0), (1.0, float("nan"))])
def test_bad_spacing_is_rejected(spacing):
    with pytest.raises(ValueError, match="spacing"):
        measure(two_lungs_2d(), two_lungs_2d(), spacing=spacing)


@pytest.mark.parametrize("head_up", [True, False])
def test_zone_score_counts_thirds_from_apex(head_up):
    # Lungs span z 0..8 (9 slices -> thirds of 3). Lesion fills the apical third of the left lung.
    lung = np.zeros((9, 10, 20), bool)
    lung[:, 2:8, 1:9] = True
    lung[:, 2:8, 11:19] = True
    lesion = np.zeros_like(lung)
    apex = slice(6, 9) if head_up else slice(0, 3)  # "S": index grows toward the head
    lesion[apex, 2:8, 11:19] = True
    orientation = ("S" if head_up else "I", "P", "L")
    m = measure(lung, lesion, spacing=(1, 1, 1), orientation=orientation)
    assert m.severity.zone_scores["left_upper"] == 4
    assert m.severity.zone_scores["left_middle"] == 0 and m.severity.zone_scores["right_upper"] == 0
    assert m.severity.zone_total == 4
    z = zones(split_left_right(lung, orientation), orientation)
    assert set(np.unique(z[apex][lung[apex]])) == {1}


def test_coarse_split_of_big_volumes_matches_fine_split():
    lung = np.zeros((6, 64, 96), bool)
    lung[:, 8:56, 8:44] = True
    lung[:, 8:56, 52:88] = True
    lung[:, 30:33, 44:52] = True  # junction
    fine = split_left_right(lung, ("S", "P", "L"))
    coarse = split_left_right(lung, ("S", "P", "L"), max_voxels=2000)
    assert (coarse[lung] > 0).all() and (coarse[~lung] == 0).all()
    assert np.mean(fine[lung] == coarse[lung]) > 0.99
    assert (coarse[:, 8:56, 8:40] == RIGHT).all() and (coarse[:, 8:56, 56:88] == LEFT).all()


def test_zone_percent_agrees_with_voxel_zone_map():
    rng = np.random.default_rng(1)
    lung = np.zeros((20, 30, 40), bool)
    lung[2:19, 5:25, 3:18] = True
    lung[4:17, 5:25, 22:37] = True
    lesion = lung & (rng.random(lung.shape) < 0.3)
    orientation = ("S", "P", "L")
    m = measure(lung, lesion, spacing=(1, 1, 1), orientation=orientation)
    sides = split_left_right(lung, orientation)
    z = zones(sides, orientation)
    for side, name in ((RIGHT, "right"), (LEFT, "left")):
        for k, zone in enumerate(("upper", "middle", "lower"), start=1):
            inside = (sides == side) & (z == k)
            expected = 100.0 * np.count_nonzero(lesion & inside) / np.count_nonzero(inside)
            assert m.severity.zone_percent[f"{name}_{zone}"] == pytest.approx(expected)
