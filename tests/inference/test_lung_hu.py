"""The classical HU lung segmentation on real CT, and the HU -> training-intensity mapping."""

import glob

import numpy as np
import pytest

from covidseg.inference import Segmenter, TRAINING_HU_WINDOW
from covidseg.inference.engine import to_unit
from covidseg.inference.lung_hu import HULungConfig, segment_lungs_hu


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


@pytest.mark.parametrize("kwargs", [{"second_lung_fraction": 0.0}, {"min_lung_ml": -1}, {"trachea_max_mm2": 0}])
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
