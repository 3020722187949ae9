"""Training and evaluation read their files through covidseg.io (issue 16).

The arrays are those of the former loader (Pillow for slices with palette indices kept,
nibabel ``as_closest_canonical`` for volumes), re-implemented here as the reference; the
readers' checks now apply too (a NaN volume, a truncated slice: one line naming the file)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from covidseg.data import load_folder
from covidseg.errors import InputError, NonFiniteError, UnreadableFileError

nib = pytest.importorskip("nibabel")


def _ref_2d(path):
    with Image.open(path) as im:
        if im.mode not in ("L", "P", "1", "I", "I;16"):
            im = im.convert("L")
        return np.asarray(im)


def _ref_nifti(path):
    data = np.asarray(nib.as_closest_canonical(nib.load(str(path))).dataobj)
    return np.ascontiguousarray(data[::-1, ::-1, :].transpose(2, 1, 0))


def _folder(tmp_path):
    rng = np.random.default_rng(3)
    for sub in ("images", "infection", "classes", "lung"):
        (tmp_path / sub).mkdir()
    h, w = 48, 40
    lung = np.zeros((h, w), np.uint8)
    lung[8:40, 6:34] = 1
    cls = np.zeros((h, w), np.uint8)
    cls[12:20, 10:18] = 1
    cls[24:30, 20:28] = 2
    Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).save(tmp_path / "images/0.png")
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / "images/1.jpg", quality=95)
    Image.fromarray(rng.integers(0, 4000, (h, w)).astype(np.uint16)).save(tmp_path / "images/2.png")
    for i in range(3):
        Image.fromarray(cls).save(tmp_path / f"classes/{i}.png")
        # a palette PNG mask: its indices are the labels, not the palette's grey
        Image.fromarray((cls > 0).astype(np.uint8)).convert("P").save(tmp_path / f"infection/{i}.png")
        Image.fromarray(lung * 255).save(tmp_path / f"lung/{i}.png")
    vol = rng.integers(-1000, 400, (40, 36, 6)).astype(np.int16)  # (x, y, z), flipped anisotropic affine
    vlung = np.zeros(vol.shape, np.uint8)
    vlung[5:30, 4:30, 1:5] = 1
    vinf = np.zeros_like(vlung)
    vinf[8:14, 6:12, 2:4] = 1
    vcls = vinf.copy()
    vcls[10:12, 8:10, 3] = 2
    aff = np.diag([-0.7, 0.7, 2.5, 1.0])
    for sub, arr in (("images", vol), ("infection", vinf), ("classes", vcls), ("lung", vlung)):
        nib.save(nib.Nifti1Image(arr, aff), str(tmp_path / sub / "vol.nii.gz"))
    return tmp_path


def test_loader_gives_the_former_loaders_arrays(tmp_path):
    from covidseg.data import build_label
    from covidseg.data.folder import to_grey

    split = _folder(tmp_path)
    samples = {s.name: s for s in load_folder(split, "all")}
    assert sorted(samples) == ["0", "1", "2", "vol_z001", "vol_z002", "vol_z003", "vol_z004"]
    for name in ("0", "1", "2"):
        raw = _ref_2d(split / "images" / f"{name}{'.jpg' if name == '1' else '.png'}")
        image = raw if raw.dtype == np.uint8 else to_grey(raw.astype(np.float32), False)
        label = build_label("all", lesion=_ref_2d(split / f"infection/{name}.png") > 0,
                            classes=_ref_2d(split / f"classes/{name}.png"), lung=_ref_2d(split / f"lung/{name}.png") > 0)
        assert samples[name].image.dtype == np.uint8 and np.array_equal(samples[name].image, image)
        assert np.array_equal(samples[name].label, label)
    vol = to_grey(_ref_nifti(split / "images/vol.nii.gz"), True)
    masks = {k: _ref_nifti(split / k / "vol.nii.gz") for k in ("infection", "classes", "lung")}
    for z in range(1, 5):
        s = samples[f"vol_z{z:03d}"]
        label = build_label("all", lesion=masks["infection"][z] > 0, classes=masks["classes"][z],
                            lung=masks["lung"][z] > 0)
        # in the axes of the 8-bit slices: the transpose of the display slice (io.slice_axes)
        assert np.array_equal(s.image, vol[z].T) and np.array_equal(s.label, label.T)


def test_loader_refuses_what_the_readers_refuse(tmp_path):
    split = _folder(tmp_path)
    nan = np.full((40, 36, 6), -1000.0, np.float32)
    nan[3, 3, 3] = np.nan
    nib.save(nib.Nifti1Image(nan, np.eye(4)), str(split / "images/vol.nii.gz"))
    with pytest.raises(NonFiniteError, match="vol.nii.gz"):
        load_folder(split, "all")
    (split / "images/vol.nii.gz").unlink()
    data = (split / "lung/0.png").read_bytes()
    (split / "lung/0.png").write_bytes(data[: len(data) // 2])  # a truncated mask
    with pytest.raises(UnreadableFileError, match="0.png") as err:
        load_folder(split, "all")
    assert "\n" not in str(err.value)


def test_image_too_small_to_be_ct_is_refused_as_predict_refuses_it(tmp_path):
    split = _folder(tmp_path)
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(split / "images/0.png")
    with pytest.raises(InputError, match="too small"):
        load_folder(split, "all", labeled=False)
