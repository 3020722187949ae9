"""Whole-volume evaluation (issue 14.4): ``covidseg evaluate --volumes`` on small volumes cut
from the cip-ct64 example, with its reference lung and a synthetic lesion label."""

from __future__ import annotations

import csv
import json

import nibabel as nib
import numpy as np
import pytest

from covidseg.cli import main
from covidseg.errors import InputError
from covidseg.evaluation.volumes import evaluate_volumes, find_pairs

SLAB = slice(30, 44)  # 14 axial slices through both lungs (NIfTI z axis)


@pytest.fixture(scope="module")
def slab(ct_examples, tmp_path_factory):
    """images/ct.nii.gz (14 slices of cip-ct64, HU), lung/ (its reference lung), infection/ and
    classes/ (a synthetic lesion: a block of the right lung, GGO above consolidation)."""
    root = tmp_path_factory.mktemp("pairs")
    ct = nib.load(ct_examples / "cip-ct64.nii.gz")
    lung = nib.load(ct_examples / "cip-ct64-lung.nii.gz")
    hu = np.asarray(ct.dataobj)[:, :, SLAB]
    lung_ref = np.asarray(lung.dataobj)[:, :, SLAB].astype(np.uint8)
    affine = ct.affine.copy()
    affine[:3, 3] += affine[:3, 2] * SLAB.start  # the slab keeps its place in the patient
    classes = np.zeros(hu.shape, np.uint8)
    block = np.zeros(hu.shape, bool)
    block[8:30, 16:48, 3:11] = True  # x < 32: one side of the chest
    block &= lung_ref > 0
    classes[block] = 1
    classes[block & (np.arange(hu.shape[2]) >= 7)[None, None, :]] = 2
    for kind, data, dtype in (("images", hu, np.int16), ("lung", lung_ref, np.uint8),
                              ("infection", (classes > 0).astype(np.uint8), np.uint8), ("classes", classes, np.uint8)):
        (root / kind).mkdir()
        nib.save(nib.Nifti1Image(data.astype(dtype), affine), root / kind / "ct.nii.gz")
    voxel_ml = float(np.prod(ct.header.get_zooms()[:3])) / 1000
    return {"root": root, "affine": affine, "lesion_ml": float(block.sum()) * voxel_ml,
            "lesion_percent": 100.0 * block.sum() / (lung_ref > 0).sum(), "voxel_ml": voxel_ml}


def _case(tmp_path, name: str, arrays: dict[str, np.ndarray], affine) -> None:
    for kind, data in arrays.items():
        (tmp_path / kind).mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(data, affine), tmp_path / kind / f"{name}.nii.gz")


def test_cli_scores_the_slab_against_its_references(slab, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", "--volumes", str(slab["root"]), "--out", str(out), "--precision", "fp32"]) == 0
    printed = capsys.readouterr().out
    assert "Dice" in printed and "MosMed grade agrees" in printed
    rows = list(csv.DictReader(open(out / "per_case.csv")))
    assert [r["case"] for r in rows] == ["ct"]
    row = rows[0]
    # the classical HU lung against the reference lung of the same scan
    assert float(row["dice_lung"]) >= 0.95
    assert float(row["lesion_ml_ref"]) == pytest.approx(slab["lesion_ml"], rel=1e-6)
    assert float(row["lesion_ml_error"]) == pytest.approx(float(row["lesion_ml_pred"]) - float(row["lesion_ml_ref"]))
    assert 25 <= slab["lesion_percent"] < 50 and row["grade_ref"] == "CT-2"
    assert row["grade_pred"].startswith("CT-") and row["reference_lung"] == "reference"
    for t in ("infection", "ggo", "consolidation"):
        assert 0.0 <= float(row[f"dice_{t}"]) <= 1.0
    data = json.loads((out / "results.json").read_text())
    assert data["n_cases"] == 1 and data["summary"]["dice_lung"]["n"] == 1
    assert data["summary"]["dice_lung"]["mean"] == pytest.approx(float(row["dice_lung"]))
    assert "mean ± sd" in (out / "results.md").read_text()
    assert {r["metric"] for r in csv.DictReader(open(out / "summary.csv"))} >= {"dice_infection", "lesion_ml_error"}


def test_predicts_own_masks_as_reference_score_perfectly(slab, tmp_path):
    """The masks ``covidseg predict`` writes, given back as the reference, score Dice 1 and no
    volume error: evaluate runs exactly predict's pipeline (post-processing included)."""
    pred_out = tmp_path / "pred"
    image = slab["root"] / "images" / "ct.nii.gz"
    assert main(["predict", str(image), "-o", str(pred_out), "--no-pictures", "-q", "--precision", "fp32"]) == 0
    case = next(p for p in pred_out.iterdir() if p.is_dir() and (p / "lesion.nii.gz").is_file())
    lesion = np.asarray(nib.load(case / "lesion.nii.gz").dataobj)
    assert lesion.any()  # the network marks something on this non-COVID scan: a real comparison
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"case,image,classes,infection,lung\nown,{image},{case / 'classes.nii.gz'},"
                     f"{case / 'lesion.nii.gz'},{case / 'lung.nii.gz'}\n")
    res = evaluate_volumes(pairs, precision="fp32")
    row = res.cases[0]
    assert row["case"] == "own"
    for t in ("infection", "ggo", "consolidation", "lung"):
        assert row[f"dice_{t}"] == 1.0, t
    assert row["lesion_ml_error"] == 0.0 and row["grade_match"]
    assert row["lesion_ml_pred"] == pytest.approx(lesion.sum() * slab["voxel_ml"])


def test_label_errors_name_the_file(slab, tmp_path, capsys):
    hu = np.asarray(nib.load(slab["root"] / "images" / "ct.nii.gz").dataobj)
    lesion = np.asarray(nib.load(slab["root"] / "infection" / "ct.nii.gz").dataobj)
    affine = slab["affine"]
    cases = {
        "shape": ({"images": hu, "infection": lesion[:, :, :-1]}, affine, "shape"),
        "values": ({"images": hu, "infection": np.where(lesion > 0, 3, 0).astype(np.uint8)}, affine,
                   "values 3 outside the allowed set"),
    }
    shifted = affine.copy()
    shifted[0, 3] += 5.0
    for name, (arrays, aff, match) in cases.items():
        folder = tmp_path / name
        _case(folder, "a", arrays, aff)
        with pytest.raises(InputError, match=match) as err:
            evaluate_volumes(folder)
        assert str(err.value).startswith(str(folder / "infection" / "a.nii.gz"))
        assert "\n" not in str(err.value)
    # an affine that does not match: the label file is named, exit 2, nothing written
    folder = tmp_path / "affine"
    _case(folder, "a", {"images": hu}, affine)
    _case(folder, "a", {"infection": lesion}, shifted)
    out = tmp_path / "never"
    assert main(["evaluate", "--volumes", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "affine" in err and "infection/a.nii.gz" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_pairs_layout_errors(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(InputError, match="infection/ or classes/"):
        find_pairs(tmp_path)
    bad = tmp_path / "pairs.csv"
    bad.write_text("scan,mask\na.nii.gz,b.nii.gz\n")
    with pytest.raises(InputError, match="header"):
        find_pairs(bad)
    bad.write_text("image,infection\nmissing.nii.gz,also-missing.nii.gz\n")
    with pytest.raises(InputError, match="line 2"):
        find_pairs(bad)


@pytest.mark.slow  # predict + evaluate on 14 slices: ~60 s on a loaded 2-core CPU
def test_slice_evaluation_of_a_nifti_split_scores_predicts_volume_masks(slab, tmp_path):
    """A NIfTI training-layout split evaluated slice by slice: each slice's binary Dice is that
    of the slice of the volume mask ``covidseg predict`` writes (same z, same orientation)."""
    from covidseg.evaluation import binary_metrics, evaluate, load_ground_truth
    from covidseg.inference.loading import shipped_models
    from covidseg.io import read_image

    image = slab["root"] / "images" / "ct.nii.gz"
    assert main(["predict", str(image), "-o", str(tmp_path / "pred"), "--no-pictures", "-q",
                 "--precision", "fp32"]) == 0
    case = next(p for p in (tmp_path / "pred").iterdir() if p.is_dir() and (p / "lesion.nii.gz").is_file())
    written = {k: read_image(case / f"{k}.nii.gz").array for k in ("lesion", "lung")}
    res = evaluate(slab["root"], model=shipped_models()[0], precision="fp32", targets=["infection", "lung"])
    assert res.binary_kind == "predict"
    gts = {g.name: g for g in load_ground_truth(slab["root"])}
    rows = res.binary["infection"]["per_image"]
    assert len(rows) == len(gts) >= 10
    for target, key in (("infection", "lesion"), ("lung", "lung")):
        for row in res.binary[target]["per_image"]:
            z = int(row["name"].rsplit("_z", 1)[1])
            expected = binary_metrics(written[key][z] > 0, gts[row["name"]].masks[target])["dice"]
            assert row["dice"] == pytest.approx(expected, abs=1e-12), (target, row["name"])
