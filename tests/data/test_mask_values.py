"""Masks are read only when their values mean what covidseg assumes (issue 15, points 5, 6).

An infection mask stored as 0/127 was binarised at > 128 and silently became empty; a
classes mask with 0/50/100 became all GGO; a resized infection mask was reported as the lung
file. Every reader of label masks (training and evaluation share ``load_folder``) refuses
such files on one line naming the file and the values it found.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from covidseg.cli import main
from covidseg.data import load_folder
from covidseg.data.synthetic import make_split
from covidseg.errors import InputError
from covidseg.evaluation.evaluate import load_ground_truth


@pytest.fixture
def split(tmp_path):
    return make_split(tmp_path / "split", n=3, size=(40, 48))


def _rewrite(path, fn):
    arr = np.asarray(Image.open(path))
    Image.fromarray(fn(arr).astype(np.uint8)).save(path)


@pytest.mark.parametrize("kind, fn, values", [
    ("infection", lambda a: np.where(a > 0, 127, 0), "0, 127"),             # 0/127: was read as empty
    ("lung", lambda a: np.where(a > 0, 200, 0), "0, 200"),
    ("infection", lambda a: np.where(a > 0, 255, 1), "1, 255"),             # a mix of both encodings
    ("classes", lambda a: a * 50, "0, 50, 100"),                            # 0/50/100: was read as GGO
    ("classes", lambda a: np.where(a > 0, 255, 0), "0, 255"),               # a binary mask in classes/
])
@pytest.mark.parametrize("task", ["all", "lesion", "classes"])
def test_masks_with_unexpected_values_are_refused(split, kind, fn, values, task):
    path = split / kind / "0.png"  # slice 0 has GGO and consolidation
    _rewrite(path, fn)
    with pytest.raises(InputError) as err:
        load_folder(split, task)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and values in message and "\n" not in message


def test_evaluate_refuses_instead_of_scoring_a_misread_mask(split, tmp_path, capsys):
    # Predictions = the ground truth itself: Dice 1 would be reported on a mask read as empty.
    preds = tmp_path / "preds"
    preds.mkdir()
    for p in (split / "infection").glob("*.png"):
        (preds / p.name).write_bytes(p.read_bytes())
    assert main(["evaluate", "--predictions", str(preds), "--data", str(split), "--targets", "infection"]) == 0
    _rewrite(split / "infection" / "2.png", lambda a: np.where(a > 0, 127, 0))
    with pytest.raises(InputError, match="0, 127"):
        load_ground_truth(split)
    capsys.readouterr()
    assert main(["evaluate", "--predictions", str(preds), "--data", str(split), "--targets", "infection"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(split / "infection" / "2.png") in err


@pytest.mark.parametrize("encode", [lambda m: m.astype(np.uint8), lambda m: (m * 255).astype(np.uint8),
                                    lambda m: m.astype(bool)])
def test_both_binary_encodings_and_bilevel_pngs_are_read(split, encode):
    reference = {s.name: s.label for s in load_folder(split, "all")}
    for kind in ("infection", "lung"):
        for p in (split / kind).glob("*.png"):
            m = np.asarray(Image.open(p)) > 0
            img = Image.fromarray(encode(m))
            (img.convert("1") if encode(m).dtype == bool else img).save(p)
    assert {s.name: s.label.tolist() for s in load_folder(split, "all")} == \
        {k: v.tolist() for k, v in reference.items()}


def test_nifti_masks_are_checked_too(tmp_path):
    split = tmp_path / "vol"
    for sub in ("images", "infection", "lung"):
        (split / sub).mkdir(parents=True)
    vol = np.full((48, 40, 3), -800.0, np.float32)
    lung = np.zeros(vol.shape, np.uint8)
    lung[10:30, 10:30] = 1
    inf = np.zeros(vol.shape, np.uint8)
    inf[12:16, 12:16] = 3  # a label map in a binary folder
    for sub, arr in (("images", vol), ("lung", lung), ("infection", inf)):
        nib.save(nib.Nifti1Image(arr, np.eye(4)), str(split / sub / "c.nii.gz"))
    with pytest.raises(InputError, match=r"infection/c\.nii\.gz: .*0, 3"):
        load_folder(split, "lesion")


@pytest.mark.parametrize("kind", ["infection", "lung", "classes"])
def test_size_mismatch_names_the_file_that_differs(split, kind):
    path = split / kind / "0.png"
    img = Image.open(path)
    img.resize((img.width + 3, img.height)).save(path)
    with pytest.raises(InputError) as err:
        load_folder(split, "all")
    assert str(err.value).startswith(f"{path}: ")


def test_evaluate_refuses_predicted_maps_outside_8_bit(split, tmp_path):
    """Sibling: a 16-bit PNG probability map was divided by 255 into 'probabilities' up to 257."""
    from covidseg.evaluation.evaluate import evaluate

    preds = tmp_path / "preds"
    preds.mkdir()
    for p in (split / "infection").glob("*.png"):
        m = (np.asarray(Image.open(p)) > 0).astype(np.uint16) * 65535
        Image.fromarray(m).save(preds / p.name)
    with pytest.raises(InputError, match=r"0\.\.65535"):
        evaluate(split, predictions=preds, targets=["infection"])
