"""An airless lung carrying air bronchograms counts as lung and consolidation (issue 15).

Built from ``cip-ct64``: the patient's right (or left) lung of the reference mask replaced by
+35 +- 15 HU consolidation with -900 HU air tubes branching from the hilum. Before, such a
lung was reported as 0 mL with "only the left lung was found"; a lung without air (uniform
+40 HU, or consolidation without bronchograms) must still be reported missing.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from covidseg.inference import Segmenter


def _side_mask(src, ref: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray, float]:
    """The reference lung on the patient's ``side`` (largest component), the RAS x of every
    voxel and the array's centre in RAS x (+x toward the patient's right)."""
    ijk = np.indices(ref.shape).reshape(3, -1)
    ras_x = (src.affine[0, :3] @ ijk + src.affine[0, 3]).reshape(ref.shape)
    mid = 0.5 * (ras_x.min() + ras_x.max())
    mask = ref & ((ras_x > mid) if side == "right" else (ras_x < mid))
    labels, _ = ndi.label(mask)
    return labels == np.argmax(np.bincount(labels.ravel())[1:]) + 1, ras_x, mid


def _bronchograms(mask: np.ndarray, zooms: np.ndarray, ras_x: np.ndarray, mid: float) -> np.ndarray:
    """One-voxel air tubes from the hilum (the inner-lung voxel nearest the midline at the
    lung's centre) toward nine directions, 85 % of the way to the lung's far side."""
    inner = ndi.binary_erosion(mask)
    mm = np.argwhere(inner) * zooms
    centre = mm.mean(axis=0)
    near = (np.abs(mm[:, 2] - centre[2]) < 15) & (np.abs(mm[:, 1] - centre[1]) < 15)
    hilum = mm[near][np.argmin(np.abs(ras_x[inner] - mid)[near])]
    lateral = np.sign(centre[0] - hilum[0])
    dirs = [np.array([0.6 * lateral, a, b]) for a, b in ((0, 1), (0, -1), (1, 0), (-1, 0), (0.7, 0.7), (-0.7, 0.7),
                                                         (0.7, -0.7), (-0.7, -0.7))] + [np.array([lateral, 0, 0])]
    tubes = np.zeros(mask.shape, bool)
    for d in dirs:
        target = mm[np.argmax((mm - hilum) @ d)]
        for t in np.linspace(0.0, 0.85, 200):
            v = tuple(np.rint((hilum + t * (target - hilum)) / zooms).astype(int))
            tubes[v] |= bool(inner[v])
    return tubes


def airless_ct(ct_examples, path, side: str, *, tubes: bool = True, lower: float | None = None,
               uniform: bool = False):
    """Write cip-ct64 with the ``side`` lung airless to ``path``; ``lower``: only that lower
    fraction of the lung's head-feet extent; ``tubes``: with air bronchograms."""
    import nibabel as nib

    src = nib.load(ct_examples / "cip-ct64.nii.gz")
    ref = np.asarray(nib.load(ct_examples / "cip-ct64-lung.nii.gz").dataobj) > 0
    data = np.asarray(src.dataobj).astype(np.int16)
    mask, ras_x, mid = _side_mask(src, ref, side)
    if lower is not None:  # the file's third axis runs toward the head
        ks = np.nonzero(mask.any(axis=(0, 1)))[0]
        mask &= (np.arange(mask.shape[2]) < ks.min() + lower * (ks.max() - ks.min() + 1))[None, None, :]
    rng = np.random.default_rng(15)
    data[mask] = 40 if uniform else np.rint(35 + 15 * rng.standard_normal(int(mask.sum()))).astype(np.int16)
    if tubes:
        data[_bronchograms(mask, np.asarray(src.header.get_zooms()[:3]), ras_x, mid)] = -900
    nib.save(nib.Nifti1Image(data, src.affine), str(path))
    return path


@pytest.fixture(scope="module")
def hu_only():
    return Segmenter(tasks=("lung",), lung_method="hu")


@pytest.fixture(scope="module")
def unmodified(ct_examples, hu_only):
    return hu_only.predict(ct_examples / "cip-ct64.nii.gz").measurements


@pytest.mark.parametrize("side", ["right", "left"])
def test_white_lung_with_air_bronchograms_is_counted_on_its_side(ct_examples, tmp_path, hu_only, unmodified, side):
    other = "left" if side == "right" else "right"
    pred = hu_only.predict(airless_ct(ct_examples, tmp_path / f"white-{side}.nii.gz", side))
    m = pred.measurements
    # estimated as the mirror image of the other lung: within its size, and of the original
    # lung within the two lungs' natural asymmetry (cip-ct64: right 2473 / left 2171 mL)
    assert getattr(m, side).lung == pytest.approx(getattr(unmodified, other).lung, rel=0.10)
    assert getattr(m, side).lung == pytest.approx(getattr(unmodified, side).lung, rel=0.20)
    assert getattr(m, other).lung == pytest.approx(getattr(unmodified, other).lung, rel=0.01)
    (warning,) = [w for w in pred.warnings if w.startswith(f"the {side} lung was airless")]
    assert "air bronchograms" in warning
    assert not any(w.startswith("only the") for w in pred.warnings)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("kind", ["uniform", "no-tubes"])
def test_airless_lung_without_air_bronchograms_stays_missing(ct_examples, tmp_path, hu_only, kind, side):
    """Uniform +40 HU (pneumonectomy space, effusion) or consolidation without bronchograms:
    nothing marks it as lung. The patient's own bronchi, left out of the reference lung mask,
    remain as air in both volumes: the main and intermediate bronchi near the hilum (central
    airways are not bronchograms) and a few short pieces (< 20 mm, < 1 mL in all)."""
    path = airless_ct(ct_examples, tmp_path / f"{kind}.nii.gz", side, tubes=False, uniform=kind == "uniform")
    pred = hu_only.predict(path)
    kept = "left" if side == "right" else "right"
    assert getattr(pred.measurements, side).lung < 10.0
    assert any(w.startswith(f"only the {kept} lung was found") for w in pred.warnings)
    assert not any("airless in" in w for w in pred.warnings)


def test_lower_two_thirds_airless_are_added_to_the_aerated_apex(ct_examples, tmp_path, hu_only, unmodified):
    """Before: the aerated apex alone (661 mL of 2486) was the right lung."""
    pred = hu_only.predict(airless_ct(ct_examples, tmp_path / "lower.nii.gz", "right", lower=2 / 3))
    m = pred.measurements
    assert m.right.lung == pytest.approx(unmodified.right.lung, rel=0.20)
    assert m.left.lung == pytest.approx(unmodified.left.lung, rel=0.01)
    assert any(w.startswith("the right lung was airless") for w in pred.warnings)


def test_rule_can_be_switched_off(ct_examples, tmp_path):
    from covidseg.inference.airless import AirlessConfig
    from covidseg.inference.lung_hu import HULungConfig

    path = airless_ct(ct_examples, tmp_path / "white.nii.gz", "right")
    seg = Segmenter(tasks=("lung",), lung_method="hu", hu_lung=HULungConfig(airless=AirlessConfig(enabled=False)))
    pred = seg.predict(path)
    assert pred.measurements.right.lung == 0
    assert any(w.startswith("only the left lung was found") for w in pred.warnings)


def test_white_lung_is_lesion_and_consolidation(ct_examples, tmp_path, tiny_all):
    """With a (random) lesion network: the airless lung is lesion and consolidation, whatever
    the network marks there."""
    pred = Segmenter(tiny_all).predict(airless_ct(ct_examples, tmp_path / "white.nii.gz", "right"))
    right = pred.sides == 1
    assert pred.measurements.right.lung > 1800
    assert pred.lesion[right].mean() > 0.95
    assert (pred.classes[right & pred.lesion] == 2).mean() > 0.95
    assert pred.measurements.right.lesion_percent > 95
    assert pred.report()["severity"]["mosmed_grade"] in ("CT-3", "CT-4")


def test_unmodified_scan_does_not_trigger_the_rule(ct_examples, monkeypatch):
    """cip-ct64 as it is: both lungs found, the rule compares two volumes and stops."""
    from covidseg.inference import airless

    seen = []
    real = airless._side_region
    monkeypatch.setattr(airless, "_side_region", lambda *a, **k: seen.append(1) or real(*a, **k))
    for name in ("cip-ct64.nii.gz", "cip-ct64-dicom"):
        pred = Segmenter(tasks=("lung",), lung_method="hu").predict(ct_examples / name)
        assert not any("airless" in w for w in pred.warnings)
    assert not seen


def test_plain_images_and_slices_never_reach_the_rule(semiseg, ct_examples, tiny_all, monkeypatch):
    """2-D input (a JPG slice has no HU; a single HU slice has no other slices to mirror)."""
    from covidseg.inference import segmenter

    def boom(*args, **kwargs):
        raise AssertionError("airless rule called on 2-D input")

    monkeypatch.setattr(segmenter, "find_airless_lungs", boom)
    jpg = sorted((semiseg / "test" / "images").glob("*.jpg"))[0]
    Segmenter(tiny_all).predict(jpg)
    Segmenter(tasks=("lung",), lung_method="hu").predict(ct_examples / "cip-chest-512-dicom" / "slice001.dcm")


def test_config_values_are_checked():
    from covidseg.inference.airless import AirlessConfig

    for kwargs, name in (({"side_fraction": 0}, "side_fraction"), ({"dense_hu": (100, -500)}, "dense_hu"),
                         ({"max_radius_mm": 0}, "max_radius_mm"), ({"margin_mm": -1}, "margin_mm"),
                         ({"air_hu": -900}, "air_hu"), ({"central_fraction": 1.5}, "central_fraction")):
        with pytest.raises(ValueError, match=name):
            AirlessConfig(**kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("side", ["right", "left"])
def test_white_lung_with_the_shipped_model(ct_examples, tmp_path, side):
    """The full pipeline with the shipped weights (3 cases, ~1 min of CPU): the white lung is
    about as large as the original lung, lesion and consolidation, the grade rises; the other
    lung keeps its volume (docs/severity.md has the numbers)."""
    from covidseg.inference.loading import WEIGHTS_DIR

    if not any((p / "config.json").is_file() for p in WEIGHTS_DIR.glob("*")):
        pytest.skip("no shipped weights")
    other = "left" if side == "right" else "right"
    seg = Segmenter(keep_probabilities=False)
    before = seg.predict(ct_examples / "cip-ct64.nii.gz")
    pred = seg.predict(airless_ct(ct_examples, tmp_path / f"white-{side}.nii.gz", side))
    m, m0 = pred.measurements, before.measurements
    white, kept, kept0 = getattr(m, side), getattr(m, other), getattr(m0, other)
    assert white.lung == pytest.approx(getattr(m0, side).lung, rel=0.15)
    assert white.lesion >= 0.95 * white.lung and m.whole.consolidation >= 0.95 * white.lung
    assert kept.lung == pytest.approx(kept0.lung, rel=0.05)
    assert kept.lesion_percent < 10  # the network's own findings there stay small
    grades = ["CT-0", "CT-1", "CT-2", "CT-3", "CT-4"]
    assert grades.index(before.report()["severity"]["mosmed_grade"]) <= 1
    assert grades.index(pred.report()["severity"]["mosmed_grade"]) >= 3
    zones = pred.report()["severity"]["zone_scores"]
    assert all(zones[f"{side}_{z}"] >= 3 for z in ("upper", "middle", "lower"))
