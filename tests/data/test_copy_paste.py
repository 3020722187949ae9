"""Copy-paste lesion augmentation: lesions land only in the receiver's lung, with their types,
seeded, and only where a task has lung labels."""

from __future__ import annotations

import numpy as np
import pytest

from covidseg.data import AugmentConfig, SliceDataset, load_folder
from covidseg.data.copy_paste import _shift, make_donor, paste
from covidseg.data.synthetic import make_slice, make_split
from covidseg.tasks import build_label


def _all_label(classes, lung):
    return build_label("all", classes=classes, lung=lung)


def test_pasted_lesions_stay_inside_the_receiver_lung_and_keep_their_type():
    rng = np.random.default_rng(1)
    dimg, dcls, dlung = make_slice(rng, 64, 64, consolidation=True)
    donor = make_donor(dimg, _all_label(dcls, dlung), "all")
    img, _, lung = make_slice(np.random.default_rng(2), 64, 64)
    lung[:, 32:] = False  # receiver: one lung only
    label = _all_label(np.zeros_like(dcls), lung)
    before = img.astype(np.float32) / 255
    for seed in range(20):
        out_img, out_lab = paste(before, label, donor, np.random.default_rng(seed), "all")
        new = (out_lab >= 2) & (label < 2)
        assert new.any()
        assert not (new & ~lung).any()  # never outside the lung
        assert set(np.unique(out_lab[new])) <= {2, 3}
        far = ~_dilate(new, 8)  # the 1-px Gaussian edge reaches 4 px (Chebyshev)
        assert np.allclose(out_img[far], before[far])  # the image changes only around the paste
        assert out_img.min() >= 0 and out_img.max() <= 1


def _dilate(mask, r):
    from scipy import ndimage as ndi

    return ndi.binary_dilation(mask, iterations=r)


def test_no_lung_no_paste_and_no_lesion_no_donor():
    img, cls, lung = make_slice(np.random.default_rng(0), 48, 48)
    assert make_donor(img, _all_label(np.zeros_like(cls), lung), "all") is None
    donor = make_donor(img, _all_label(cls, lung), "all")
    empty = np.zeros((48, 48), np.uint8)
    out_img, out_lab = paste(img / 255.0, empty, donor, np.random.default_rng(0), "all")
    assert out_lab is empty


@pytest.mark.parametrize("dy,dx", [(3, -2), (-5, 4), (0, 0), (-47, 47)])
def test_shift_moves_without_wrapping(dy, dx):
    a = np.arange(48 * 48).reshape(48, 48)
    s = _shift(a, dy, dx)
    ys, xs = np.nonzero(s)
    assert (s[ys, xs] == a[ys - dy, xs - dx]).all()
    assert np.count_nonzero(s) <= np.count_nonzero(a)


def test_dataset_copy_paste_is_seeded_and_needs_task_all(tmp_path):
    samples = load_folder(make_split(tmp_path / "s", n=4), "all")
    cfg = AugmentConfig(copy_paste=1.0, affine=0, elastic=0, flip_lr=0, gamma=0, intensity=0, noise=0, blur=0)
    ds = SliceDataset(samples, 32, augment=cfg, seed=3, task="all")
    a, b = ds[(1, 5)], ds[(1, 5)]
    assert torch_equal(a[0], b[0]) and torch_equal(a[1], b[1])
    plain = SliceDataset(samples, 32, augment=AugmentConfig(**{**cfg.__dict__, "copy_paste": 0.0}), seed=3, task="all")
    changed = sum(not torch_equal(ds[(i, 0)][1], plain[(i, 0)][1]) for i in range(4))
    assert changed >= 2  # lesions were added to most slices
    with pytest.raises(ValueError, match="copy_paste needs task 'all'"):
        SliceDataset(load_folder(tmp_path / "s", "lesion"), 32, augment=cfg, task="lesion")


def torch_equal(x, y):
    return bool((x == y).all())
