"""The classical HU lung segmentation on real CT, and the HU -> training-intensity mapping."""

import glob

import numpy as np
import pytest

from covidseg.inference import Segmenter, TRAINING_HU_WINDOW
from covidseg.inference.engine import to_unit
from covidseg.inference.lung_hu import HULungConfig, find_lungs_hu, lung_warnings, segment_lungs_hu


def dice(a, b):
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    return 2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


@pytest.mark.parametrize("name", ["cip-ct64.nii.gz", "cip-ct64-dicom"])
def test_lung_dice_against_reference(ct_examples, name):
    from covidseg.io import read_image

    reference = read_image(ct_examples / "cip-ct64-lung.nii.gz").array > 0
    # No model: the lung task alone runs without trained weights on HU input.
    pred = Segmenter(tasks=("lung",), lung_method="hu").predict(ct_examples / name)
    assert pred.lung.shape == reference.shape
    assert dice(pred.lung, reference) >= 0.95
    # Left and right lungs each hold a plausible share (patient-space naming checked in quantify tests).
    right, left = pred.measurements.right.lung, pred.measurements.left.lung
    assert 0.3 < right / (right + left) < 0.7
    assert pred.measurements.unit == "mL" and 2000 < pred.measurements.whole.lung < 8000


def test_abdominal_slice_has_no_lung(ct_examples):
    from covidseg.io import read_image

    img = read_image(ct_examples / "cip-chest-512-dicom" / "slice001.dcm")
    assert not segment_lungs_hu(img.array, img.spacing).any()


def test_synthetic_phantom_excludes_outside_air_and_trachea():
    # Body (soft tissue) in air; two lungs; a trachea running from the top into the gap.
    z, y, x = np.mgrid[0:40, 0:96, 0:96]
    hu = np.full((40, 96, 96), -1000.0, np.float32)
    body = (y - 48) ** 2 / 40 ** 2 + (x - 48) ** 2 / 44 ** 2 <= 1
    hu[body] = 40.0
    lungs = body & (z < 34) & (((x - 28) ** 2 + (y - 48) ** 2 <= 14 ** 2) | ((x - 68) ** 2 + (y - 48) ** 2 <= 14 ** 2))
    hu[lungs] = -850.0
    trachea = body & (z >= 20) & ((x - 48) ** 2 + (y - 40) ** 2 <= 3 ** 2)
    hu[trachea] = -1000.0
    mask = segment_lungs_hu(hu, (2.0, 2.0, 2.0), top_is_last=True)
    assert dice(mask, lungs) > 0.97
    assert not mask[trachea & (z >= 34)].any()
    assert not mask[~body].any()


@pytest.mark.parametrize("kwargs", [{"second_lung_fraction": 0.0}, {"min_lung_ml": -1}, {"trachea_max_mm2": 0},
                                    {"second_lung_top": 0.0}, {"padding_below": -100.0}, {"fov_cut_beyond": 1.0},
                                    {"fov_cut_enclosed": 0.0}])
def test_hu_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        HULungConfig(**kwargs)


def test_window_maps_hu_into_training_grey_levels(semiseg, ct_examples):
    """Soft tissue and aerated lung of a real HU scan land where the training JPGs have them."""
    from PIL import Image

    from covidseg.io import read_image

    img = read_image(ct_examples / "cip-ct64.nii.gz")
    lung = read_image(ct_examples / "cip-ct64-lung.nii.gz").array > 0
    grey = to_unit(img.array, True, TRAINING_HU_WINDOW) * 255
    tissue = grey[(img.array > -50) & (img.array < 100)]
    train_tissue, train_lung = [], []
    for f in sorted(glob.glob(str(semiseg / "train" / "images" / "*.jpg")))[:20]:
        a = np.asarray(Image.open(f).convert("L"), np.float32)
        m = np.asarray(Image.open(f.replace("images", "lung").replace(".jpg", ".png"))) > 0
        inf = np.asarray(Image.open(f.replace("images", "infection").replace(".jpg", ".png"))) > 0
        train_lung.append(np.median(a[m & ~inf]))
        t = a[~m]
        train_tissue.append(np.median(t[(t > 150) & (t < 250)]))
    assert abs(np.median(tissue) - np.median(train_tissue)) < 25
    # This COPD scan's lungs are darker than healthy COVID-patient lung (-919 vs ~-850 HU).
    assert abs(np.median(grey[lung]) - np.median(train_lung)) < 30


@pytest.mark.parametrize("name", ["cip-ct64.nii.gz", "cip-ct64-dicom"])
def test_right_lung_is_on_the_patients_right_in_world_space(ct_examples, name):
    from covidseg.quantify import LEFT, RIGHT

    pred = Segmenter(tasks=("lung",), lung_method="hu").predict(ct_examples / name)
    affine = np.asarray(pred.image.affine)  # voxel (z, y, x) -> RAS mm

    def centre_ras(mask):
        idx = np.argwhere(mask).mean(axis=0)
        return affine @ np.r_[idx, 1.0]

    right, left = centre_ras(pred.sides == RIGHT), centre_ras(pred.sides == LEFT)
    assert right[0] > left[0] + 50  # RAS+: x grows toward the patient's right; lungs ~10 cm apart


# ------------------------------------------------------------------ reduced field of view


def _outside_air(hu):
    """Air connected (in-plane) to the image border: the air around the patient."""
    from scipy import ndimage as ndi

    from covidseg.inference.morph import IN_PLANE_3D, border_labels, lookup

    labels, n = ndi.label(hu < -400, structure=IN_PLANE_3D)
    return lookup(labels, border_labels(labels), n)


def _circle_outside(shape, radius):
    y, x = np.mgrid[: shape[-2], : shape[-1]]
    return (y - 30) ** 2 + (x - 32) ** 2 > radius ** 2


FOV_CASES = {
    # name: (volume from the full HU array, in-plane box of the original voxels it holds)
    "crop-inside-body-then-pad-tissue": (
        lambda hu, filled: np.pad(filled[:, 6:54, 2:62], ((0, 0), (16, 16), (16, 16)), constant_values=40),
        (slice(6, 54), slice(2, 62)), 16),
    "crop-through-both-lungs": (lambda hu, filled: hu[:, 12:50, 8:56], (slice(12, 50), slice(8, 56)), 0),
    "crop-through-lungs-body-fills-fov": (lambda hu, filled: filled[:, 12:50, 8:56],
                                          (slice(12, 50), slice(8, 56)), 0),
    "crop-through-lungs-then-pad-tissue": (
        lambda hu, filled: np.pad(filled[:, 12:50, 8:56], ((0, 0), (8, 8), (8, 8)), constant_values=40),
        (slice(12, 50), slice(8, 56)), 8),
    "lateral-crop": (lambda hu, filled: hu[:, :, 10:54], (slice(None), slice(10, 54)), 0),
    "circular-fov-padded-3024": (lambda hu, filled: np.where(_circle_outside(hu.shape, 26), -3024, hu),
                                 (slice(None), slice(None)), 0),
}


@pytest.mark.parametrize("case", sorted(FOV_CASES))
def test_lung_survives_a_reduced_field_of_view(ct_examples, case):
    """Cropping cip-ct64 to inside the body, through the lungs, or padding it with soft tissue
    (+40 HU) keeps the lung found on the full field of view (Dice >= 0.95 on the same voxels).
    The border rule alone dropped every lung that touched the image edge (Dice 0.09-0.32)."""
    from covidseg.io import read_image

    img = read_image(ct_examples / "cip-ct64.nii.gz")
    hu = img.array.astype(np.float32)
    full = segment_lungs_hu(hu, img.spacing)
    filled = np.where(_outside_air(hu), 40.0, hu)  # the body fills the field of view
    make, (ys, xs), pad = FOV_CASES[case]
    vol = make(hu, filled)
    mask = segment_lungs_hu(vol, img.spacing)
    if pad:
        mask = mask[:, pad:-pad, pad:-pad]
    same = full[:, ys, xs]
    if case.startswith("circular"):
        keep = ~_circle_outside(hu.shape, 26)  # compare inside the reconstructed circle
        mask, same = mask & keep, same & keep
    assert dice(mask, same) >= 0.95
    # The cut is reported where the lung touches the image edge or the padding (soft tissue
    # around a cut lung hides the cut: nothing can tell it then).
    found = find_lungs_hu(vol, img.spacing)
    visible = case in ("crop-through-both-lungs", "crop-through-lungs-body-fills-fov", "lateral-crop",
                       "circular-fov-padded-3024")
    assert (found.fov_cut_slices > 0) == visible


@pytest.mark.parametrize("joined", ["table", "drape"])
def test_air_enclosed_by_body_and_a_joined_table_or_drape_stays_outside(ct_examples, joined):
    """A table joined to the body by a dense pad, or a drape across the front, encloses
    outside air together with the body (cip-ct64's body touches both lateral borders): that
    air lies inside the body hull and reaches the edge, like a lung cut by the field of
    view, but it reaches the edge in every slice, so it stays outside."""
    from covidseg.io import read_image

    img = read_image(ct_examples / "cip-ct64.nii.gz")
    hu = img.array.astype(np.float32)
    full = segment_lungs_hu(hu, img.spacing)
    if joined == "table":
        vol = np.pad(hu, ((0, 0), (0, 8), (0, 0)), constant_values=-1000)
        vol[:, 62:64, :] = 200.0
        vol[:, 55:62, 16:48] = np.maximum(vol[:, 55:62, 16:48], 30.0)
    else:
        vol = hu.copy()
        vol[:, :4, :] = 40.0
    mask = segment_lungs_hu(vol, img.spacing)[:, :64]
    assert dice(mask, full) >= 0.99


def test_cropped_abdominal_slice_still_has_no_lung(ct_examples):
    """Bowel gas stays out when the field of view holds only the body (crop + tissue padding)."""
    from covidseg.io import read_image

    img = read_image(ct_examples / "cip-chest-512-dicom" / "slice001.dcm")
    filled = np.where(_outside_air(img.array[None])[0], 40.0, img.array)
    for vol in (filled[100:420, 60:450], np.pad(filled[100:420, 60:450], 40, constant_values=40)):
        assert not segment_lungs_hu(vol, img.spacing).any()


def _phantom_one_lung_and_stomach():
    """Body in air; the patient's left lung only (x high = patient's left for ("S","P","L"));
    a 300 mL gas bubble (stomach) below the missing right lung, well apart from the lung."""
    z, y, x = np.mgrid[0:40, 0:96, 0:96]
    hu = np.full((40, 96, 96), -1000.0, np.float32)
    body = (y - 48) ** 2 / 40 ** 2 + (x - 48) ** 2 / 44 ** 2 <= 1
    hu[body] = 40.0
    lung = body & (z >= 14) & (z < 38) & ((x - 68) ** 2 + (y - 48) ** 2 <= 14 ** 2)
    stomach = body & ((z - 6) ** 2 / 4 ** 2 + (x - 36) ** 2 / 10 ** 2 + (y - 40) ** 2 / 10 ** 2 <= 1)
    hu[lung] = -850.0
    hu[stomach] = -1000.0
    return hu, lung, stomach


def test_gas_below_the_lungs_is_not_a_lung():
    hu, lung, stomach = _phantom_one_lung_and_stomach()
    spacing = (4.0, 2.0, 2.0)
    assert stomach.sum() >= 0.1 * lung.sum()  # big enough to pass for a second lung by size
    found = find_lungs_hu(hu, spacing, top_is_last=True)
    assert not found.lung[stomach].any()
    assert dice(found.lung, lung) > 0.97
    assert found.gas_below_ml == pytest.approx(stomach.sum() * 16 / 1000, rel=0.05)
    # Upside down (first slice = head), the same gas is still below the lung.
    flipped = find_lungs_hu(hu[::-1], spacing, top_is_last=False)
    assert not flipped.lung[stomach[::-1]].any()


def test_stomach_gas_under_a_missing_lung_on_real_ct(ct_examples):
    """cip-ct64 with the patient's right lung set to +40 HU and a 220 mL gas bubble in the
    upper abdomen: the bubble used to be kept as the 'second lung'."""
    from covidseg.io import read_image

    img = read_image(ct_examples / "cip-ct64.nii.gz")
    ref = read_image(ct_examples / "cip-ct64-lung.nii.gz").array > 0
    hu = img.array.astype(np.float32)
    z, y, x = np.mgrid[: hu.shape[0], : hu.shape[1], : hu.shape[2]]
    bubble = ((z - 7) / 7) ** 2 + ((y - 19) / 11) ** 2 + ((x - 45) / 10) ** 2 <= 1
    assert not (bubble & ref).any()
    hu[ref & (x < 32)] = 40.0  # ("S", "P", "L"): low x = the patient's right
    hu[bubble] = -1000.0
    mask = segment_lungs_hu(hu, img.spacing, top_is_last=True)
    assert not (mask & bubble).any()
    assert dice(mask, ref & (x >= 32)) > 0.95


# ------------------------------------------------------------------ plausibility warnings


def _two_box_lungs(shape=(40, 64, 64)):
    lung = np.zeros(shape, bool)
    lung[5:35, 16:48, 6:28] = True  # low x: the patient's right for ("S", "P", "L")
    lung[5:35, 16:48, 36:58] = True
    sides = np.where(lung, np.where(np.arange(shape[2]) < 32, 1, 2), 0).astype(np.uint8)
    return lung, sides


ORIENT = ("S", "P", "L")


def test_plausible_lungs_give_no_warning():
    lung, sides = _two_box_lungs()
    assert lung_warnings(lung, sides, (5.0, 3.0, 3.0), ORIENT) == []  # 2 x 2.97 L


def test_warnings_name_each_implausible_finding():
    lung, sides = _two_box_lungs()
    spacing = (5.0, 3.0, 3.0)
    assert "no lung found" in lung_warnings(np.zeros_like(lung), None, spacing, ORIENT)[0]
    small = lung_warnings(lung, sides, (5.0, 1.0, 1.0), ORIENT)  # 2 x 330 mL in a 200 mm scan
    assert any("implausibly small" in w for w in small)
    one = lung & (sides == 2)
    (w,) = lung_warnings(one, np.where(one, sides, 0), spacing, ORIENT)
    assert w.startswith("only the left lung was found (right lung 0 mL")
    cut = lung_warnings(lung, sides, spacing, ORIENT, fov_cut_slices=7)
    assert any("edge of the field of view on 7 of 40" in w for w in cut)
    top = lung.copy()
    top[35:] = top[34]
    assert any("reaches the last slice" in w for w in lung_warnings(top, np.where(top, sides.max(axis=0), 0), spacing, ORIENT))
    low = lung.copy()
    low[1:5, 16:48, 36:58] = True  # the left lung reaches 20 mm lower (the domes differ): fine
    assert lung_warnings(low, np.where(low, np.where(np.arange(64) < 32, 1, 2), 0), spacing, ORIENT) == []
    deep = np.zeros((60, 64, 64), bool)
    deep[25:55] = lung[5:35]
    deep[5:25, 16:48, 36:58] = True  # 100 mm below the right lung's base
    deep_sides = np.where(deep, np.where(np.arange(64) < 32, 1, 2), 0)
    assert any("left lung mask reaches 100 mm below" in w for w in lung_warnings(deep, deep_sides, spacing, ORIENT))
