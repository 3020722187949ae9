"""Folder layout, task label maps, cached dataset, split and augmentation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from covidseg.data import (
    AugmentConfig,
    SliceDataset,
    build_label,
    data_checksum,
    derived_masks,
    derived_probabilities,
    load_folder,
    split_train_val,
)
from covidseg.data.synthetic import make_split
from covidseg.errors import FileMissingError, InputError

# one row of pixels: background, lung only, GGO, consolidation, infection without a type
INF = np.array([0, 0, 1, 1, 1], bool)
CLS = np.array([0, 0, 1, 2, 0], np.uint8)
LUNG = np.array([0, 1, 1, 1, 0], bool)  # last pixel: infection outside the lung mask


@pytest.mark.parametrize(
    "task, expected",
    [
        ("lesion", [0, 0, 1, 1, 1]),
        ("classes", [0, 0, 1, 2, 1]),  # typeless infection counts as GGO
        ("lung", [0, 1, 1, 1, 1]),  # lung extended by infection (nesting)
        ("all", [0, 1, 2, 3, 2]),
    ],
)
def test_build_label_nests_tasks(task, expected):
    label = build_label(task, lesion=INF, classes=CLS, lung=LUNG)
    assert label.tolist() == expected


def test_build_label_requires_masks():
    with pytest.raises(ValueError, match="lung"):
        build_label("all", lesion=INF, classes=CLS)
    with pytest.raises(ValueError, match="classes"):
        build_label("classes", lesion=INF)


def test_derived_from_all_task_are_consistent():
    label = build_label("all", lesion=INF, classes=CLS, lung=LUNG)
    m = derived_masks("all", label)
    assert m["infection"].tolist() == [False, False, True, True, True]
    assert m["lung"].tolist() == [False, True, True, True, True]
    probs = np.random.default_rng(0).dirichlet(np.ones(4), size=(3, 3)).transpose(2, 0, 1)
    d = derived_probabilities("all", probs)
    np.testing.assert_allclose(d["infection"], probs[2] + probs[3])
    np.testing.assert_allclose(d["lung"], probs[1] + probs[2] + probs[3])


def test_load_folder_reads_all_masks(tmp_path):
    split = make_split(tmp_path / "s", n=3)
    samples = load_folder(split, "all")
    assert [s.name for s in samples] == ["0", "1", "2"]
    cls = np.asarray(Image.open(split / "classes" / "0.png"))
    lung = np.asarray(Image.open(split / "lung" / "0.png")) > 128
    s0 = samples[0]
    assert s0.image.shape == s0.label.shape == cls.shape
    assert ((s0.label >= 2) == (cls > 0)).all()
    assert ((s0.label > 0) == (lung | (cls > 0))).all()
    assert set(np.unique(s0.label)) <= {0, 1, 2, 3}


def test_numeric_names_sorted_numerically(tmp_path):
    split = make_split(tmp_path / "s", n=12)
    assert [s.name for s in load_folder(split, "lesion")][:3] == ["0", "1", "2"]
    assert [s.name for s in load_folder(split, "lesion")][-2:] == ["10", "11"]


@pytest.mark.parametrize("remove, task, match", [
    ("lung", "lung", "lung/"),
    ("classes", "all", "classes/"),
])
def test_missing_mask_folder_is_a_user_error(tmp_path, remove, task, match):
    import shutil

    split = make_split(tmp_path / "s", n=2)
    shutil.rmtree(split / remove)
    with pytest.raises(FileMissingError, match=match):
        load_folder(split, task)


def test_missing_mask_file_and_shape_mismatch(tmp_path):
    split = make_split(tmp_path / "s", n=2)
    (split / "infection" / "1.png").unlink()
    with pytest.raises(FileMissingError, match="1"):
        load_folder(split, "lesion")
    split2 = make_split(tmp_path / "t", n=2)
    Image.fromarray(np.zeros((36, 40), np.uint8)).save(split2 / "lung" / "0.png")  # not the image size
    with pytest.raises(InputError, match="shape"):
        load_folder(split2, "lung")


def test_nifti_pairs_become_slices_in_the_benchmark_axes(tmp_path):
    nib = pytest.importorskip("nibabel")
    (tmp_path / "images").mkdir()
    (tmp_path / "infection").mkdir()
    (tmp_path / "lung").mkdir()
    vol = np.full((40, 36, 3), -1000.0, np.float32)  # (x, y, z) in RAS; 32x32 at least, as the readers need
    lung = np.zeros(vol.shape, np.uint8)
    lung[2:8, 4:12, 1] = 1  # patient's left side (low RAS x), only slice z=1
    inf = np.zeros_like(lung)
    inf[3, 5, 1] = 1
    aff = np.eye(4)
    for folder, arr in (("images", vol), ("infection", inf), ("lung", lung)):
        nib.save(nib.Nifti1Image(arr, aff), str(tmp_path / folder / "case.nii.gz"))
    samples = load_folder(tmp_path, "lesion")
    assert [s.name for s in samples] == ["case_z001"]  # slices without lung are skipped
    lab = samples[0].label
    assert lab.shape == (40, 36)  # (rows = x, cols = y)
    # the axes of the 8-bit COVID-SemiSeg slices (rows -> patient's left, columns -> posterior;
    # covidseg.io.slice_axes): low RAS x (patient's left) lands at a high row, high RAS y
    # (anterior) at a low column
    r, c = np.argwhere(lab)[0]
    assert (r, c) == (40 - 1 - 3, 36 - 1 - 5)
    assert samples[0].image.shape == (40, 36)


def test_split_is_seeded_disjoint_and_complete():
    a = split_train_val(50, 10, seed=3)
    assert a == split_train_val(50, 10, seed=3)
    assert a != split_train_val(50, 10, seed=4)
    tr, va = a
    assert len(va) == 10 and not set(tr) & set(va) and sorted(tr + va) == list(range(50))
    with pytest.raises(ValueError, match="val_count"):
        split_train_val(5, 5, seed=0)


def test_dataset_cache_and_seeded_augmentation(tmp_path):
    split = make_split(tmp_path / "s", n=3)
    samples = load_folder(split, "all")
    ds = SliceDataset(samples, 32, augment=AugmentConfig(affine=1.0, elastic=1.0, noise=1.0), seed=1)
    assert ds.images.shape == (3, 32, 32) and ds.images.dtype == np.uint8
    x1, y1, kind, w = ds[(1, 0)]
    x2, y2, _, _ = ds[(1, 0)]
    x3, _, _, _ = ds[(1, 1)]
    assert x1.shape == (1, 32, 32) and kind == 0 and w == 1.0
    assert (x1 == x2).all() and (y1 == y2).all()  # same (index, epoch): same augmentation
    assert not (x1 == x3).all()  # another epoch: another augmentation
    assert set(y1.unique().tolist()) <= {0.0, 1.0, 2.0, 3.0}  # labels stay labels (nearest)
    assert 0.0 <= float(x1.min()) and float(x1.max()) <= 1.0
    plain = SliceDataset(samples, 32, augment=None)
    x, _, _, _ = plain[(1, 5)]
    np.testing.assert_allclose(x[0].numpy(), plain.images[1] / 255.0, atol=1e-6)


def test_checksum_tracks_file_contents(tmp_path):
    split = make_split(tmp_path / "s", n=2)
    a = data_checksum(load_folder(split, "lesion"), split)
    assert a == data_checksum(load_folder(split, "lesion"), split)
    Image.fromarray(np.zeros((48, 40), np.uint8)).save(split / "images" / "1.png")
    assert a != data_checksum(load_folder(split, "lesion"), split)


def test_real_semiseg_layout(semiseg):
    samples = load_folder(semiseg / "train", "all")
    assert len(samples) == 50
    assert all(set(np.unique(s.label)) <= {0, 1, 2, 3} for s in samples)
