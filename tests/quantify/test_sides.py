"""Left/right from the patient's midline: a missing lung is 0 mL on its own side, never half
of the other lung renamed."""

import numpy as np
import pytest

from covidseg.quantify import LEFT, RIGHT, measure, split_left_right


def one_lung_2d(shape=(40, 60), cols=slice(35, 55)):
    m = np.zeros(shape, bool)
    m[5:35, cols] = True
    return m


@pytest.mark.parametrize("midline", [None, 29.5, 24.0])
def test_a_single_lung_is_one_side(midline):
    # ("P", "L"): columns increase toward the patient's left; columns 35-54 lie left of 29.5.
    lung = one_lung_2d()
    sides = split_left_right(lung, ("P", "L"), midline=midline)
    assert (sides[lung] == LEFT).all() and not (sides == RIGHT).any()


def test_a_single_lung_reaching_across_the_midline_stays_one_side():
    # After a pneumonectomy the remaining lung herniates across the midline (here 15 % of it).
    lung = one_lung_2d(cols=slice(27, 57))
    sides = split_left_right(lung, ("P", "L"), midline=31.5)
    assert (sides[lung] == LEFT).all()


def test_lungs_touching_across_the_midline_are_split_at_the_junction():
    lung = np.zeros((40, 60), bool)
    lung[5:35, 5:25] = True
    lung[5:35, 35:55] = True
    lung[15:18, 25:35] = True  # anterior junction line
    for midline in (29.5, 27.0, None):
        sides = split_left_right(lung, ("P", "L"), midline=midline)
        assert (sides[5:35, 5:24] == RIGHT).all() and (sides[5:35, 36:55] == LEFT).all()


def test_off_centre_patient_keeps_both_lungs():
    # Patient lying off-centre: both lungs right of the array centre; the body's midline (or,
    # without it, the gap between the lungs) still separates them.
    lung = np.zeros((40, 100), bool)
    lung[5:35, 55:70] = True
    lung[5:35, 80:95] = True
    for midline in (75.0, None):
        sides = split_left_right(lung, ("P", "L"), midline=midline)
        assert (sides[5:35, 55:70] == RIGHT).all() and (sides[5:35, 80:95] == LEFT).all()


def test_a_small_remnant_lung_keeps_its_side():
    lung = np.zeros((40, 60), bool)
    lung[5:35, 35:55] = True  # left lung, 600 px
    lung[20:24, 20:24] = True  # 16 px of right lung left after a lobectomy / collapse
    sides = split_left_right(lung, ("P", "L"), midline=29.5)
    assert (sides[20:24, 20:24] == RIGHT).all() and (sides[5:35, 35:55] == LEFT).all()


def test_big_volume_on_coarse_grid_keeps_every_lung_voxel():
    lung = np.zeros((8, 200, 200), bool)
    lung[:, 40:160, 110:170] = True  # the left lung only
    lung[:, 100, 111:169:2] = False  # thin gaps the coarse grid cannot see
    sides = split_left_right(lung, ("S", "P", "L"), midline=100.0, max_voxels=40_000)
    assert (sides[lung] == LEFT).all() and (sides[~lung] == 0).all()


def test_measurements_of_one_lung_stay_on_its_side():
    lung = np.zeros((12, 40, 60), bool)
    lung[1:11, 5:35, 35:55] = True  # left lung only
    lesion = np.zeros_like(lung)
    lesion[1:4, 5:35, 35:55] = True  # its apex: upper zone
    sides = split_left_right(lung, ("S", "P", "L"), midline=29.5)
    m = measure(lung, lesion, spacing=(5.0, 1.0, 1.0), orientation=("S", "P", "L"), sides=sides)
    assert m.right.lung == 0 and m.right.lesion == 0 and m.right.lesion_percent is None
    assert m.left.lung == pytest.approx(m.whole.lung) and m.left.lesion_percent == pytest.approx(30.0)
    zs = m.severity.zone_scores
    assert zs["right_upper"] == zs["right_middle"] == zs["right_lower"] == 0
    # ("S", ...): the last slices are the most cranial, so the lesion (slices 1-3) is the base.
    assert zs["left_lower"] > 0 and zs["left_upper"] == 0


@pytest.mark.parametrize("erase", ["right", "left"])
def test_one_lung_on_real_ct_reports_the_other_as_missing(ct_examples, tmp_path, erase):
    """Issue: cip-ct64 with the patient's right lung at +40 HU gave right 1089 / left 1142 mL."""
    import nibabel as nib

    from covidseg.inference import Segmenter

    src = nib.load(ct_examples / "cip-ct64.nii.gz")
    ref = np.asarray(nib.load(ct_examples / "cip-ct64-lung.nii.gz").dataobj) > 0
    data = np.asarray(src.dataobj).astype(np.int16)
    # World x (RAS: + toward the patient's right) of each voxel, from the affine.
    ijk = np.indices(data.shape).reshape(3, -1)
    ras_x = (src.affine[0, :3] @ ijk + src.affine[0, 3]).reshape(data.shape)
    mid = 0.5 * (ras_x.min() + ras_x.max())
    data[ref & ((ras_x > mid) if erase == "right" else (ras_x < mid))] = 40
    path = tmp_path / f"no-{erase}.nii.gz"
    nib.save(nib.Nifti1Image(data, src.affine), str(path))
    pred = Segmenter(tasks=("lung",), lung_method="hu").predict(path)
    m = pred.measurements
    kept = "left" if erase == "right" else "right"
    assert getattr(m, erase).lung < 10.0  # mL
    assert getattr(m, kept).lung == pytest.approx(m.whole.lung) and m.whole.lung > 1800
    assert any(w.startswith(f"only the {kept} lung was found") for w in pred.warnings)
