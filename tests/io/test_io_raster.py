"""JPG/PNG images and folders of slices."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from covidseg.errors import DimensionError, UnsupportedFormatError
from covidseg.io import read_image


@pytest.mark.parametrize("split", ["train", "test"])
def test_semiseg_images_read_as_expected(semiseg, split):
    files = sorted((semiseg / split / "images").glob("*.jpg"))
    assert len(files) >= 48
    for path in files[:6]:
        img = read_image(path)
        assert img.kind == "image"
        assert img.array.ndim == 2 and img.array.dtype == np.float32
        assert 0 <= img.array.min() and img.array.max() <= 255 and img.array.max() > 100
        assert img.is_hu is False
        assert img.spacing is None
        assert img.orientation == ("P", "L")
        assert img.affine is None and img.origin is None and img.direction is None
        assert img.array.shape == Image.open(path).size[::-1]


def test_semiseg_mask_png_reads_as_values(semiseg):
    img = read_image(semiseg / "train" / "infection" / "0.png")
    assert set(np.unique(img.array)) <= {0.0, 255.0}


def test_rgb_png_becomes_grey(tmp_path):
    grey = np.arange(60, dtype=np.uint8).reshape(6, 10) * 4
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(tmp_path / "rgb.png")
    img = read_image(tmp_path / "rgb.png")
    assert img.array.shape == (6, 10)
    np.testing.assert_array_equal(img.array, grey.astype(np.float32))
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    Image.fromarray(red).save(tmp_path / "red.png")
    assert read_image(tmp_path / "red.png").array[0, 0] == 76  # ITU-R 601 luma: 0.299 * 255


def test_rgba_and_grey_alpha_and_palette(tmp_path):
    grey = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 128)])
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    Image.fromarray(grey).convert("LA").save(tmp_path / "la.png")
    Image.fromarray(grey).convert("P").save(tmp_path / "p.png")
    for name in ("a.png", "la.png", "p.png"):
        np.testing.assert_array_equal(read_image(tmp_path / name).array, grey.astype(np.float32))


def test_16_bit_png_keeps_its_values(tmp_path):
    values = (np.arange(12 * 7).reshape(12, 7) * 700).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    img = read_image(tmp_path / "deep.png")
    assert img.array.dtype == np.float32 and img.array.shape == (12, 7)
    np.testing.assert_array_equal(img.array, values.astype(np.float32))
    assert img.array.max() > 255
    assert img.metadata["bit_depth"] == 16 and img.is_hu is False


def test_grey_jpg(tmp_path):
    Image.fromarray(np.full((20, 30), 200, np.uint8)).save(tmp_path / "a.jpeg", quality=95)
    img = read_image(tmp_path / "a.jpeg")
    assert img.array.shape == (20, 30) and abs(float(img.array.mean()) - 200) < 2


def test_folder_of_slices_in_natural_order(tmp_path):
    for n in (10, 2, 1, 33, 3):
        Image.fromarray(np.full((5, 6), n, np.uint8)).save(tmp_path / f"slice_{n}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden.png").write_bytes(b"not read")
    img = read_image(tmp_path)
    assert img.kind == "slices"
    assert img.array.shape == (5, 5, 6) and img.array.dtype == np.float32
    assert [int(v) for v in img.array[:, 0, 0]] == [1, 2, 3, 10, 33]
    assert [p.rsplit("/", 1)[-1] for p in img.metadata["files"]][:2] == ["slice_1.png", "slice_2.png"]
    assert img.spacing is None and img.is_hu is False
    assert img.orientation == ("?", "P", "L")


def test_folder_of_slices_of_different_sizes_is_a_clear_error(tmp_path):
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(tmp_path / "1.png")
    Image.fromarray(np.zeros((5, 7), np.uint8)).save(tmp_path / "2.png")
    with pytest.raises(DimensionError) as info:
        read_image(tmp_path)
    assert info.value.path.endswith("2.png")
    assert "differs" in info.value.reason and "1.png" in info.value.reason


def test_folder_mixing_8_and_16_bit_is_refused(tmp_path):
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(tmp_path / "1.png")
    Image.fromarray(np.zeros((5, 6), np.uint16)).save(tmp_path / "2.png")
    with pytest.raises(UnsupportedFormatError, match="bit depth"):
        read_image(tmp_path)
