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
    grey = (np.arange(36 * 40).reshape(36, 40) % 64 * 4).astype(np.uint8)
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(tmp_path / "rgb.png")
    img = read_image(tmp_path / "rgb.png")
    assert img.array.shape == (36, 40)
    np.testing.assert_array_equal(img.array, grey.astype(np.float32))
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 255
    Image.fromarray(red).save(tmp_path / "red.png")
    assert read_image(tmp_path / "red.png").array[0, 0] == 76  # ITU-R 601 luma: 0.299 * 255


def _grey(rows=36, cols=40):
    return (np.arange(rows * cols).reshape(rows, cols) % 25 * 10).astype(np.uint8)


def test_opaque_rgba_grey_alpha_and_palette(tmp_path):
    grey = _grey()
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    Image.fromarray(grey).convert("LA").save(tmp_path / "la.png")
    Image.fromarray(grey).convert("P").save(tmp_path / "p.png")
    for name in ("a.png", "la.png", "p.png"):
        img = read_image(tmp_path / name)
        np.testing.assert_array_equal(img.array, grey.astype(np.float32))
        assert "transparent_pixels" not in img.metadata


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_fully_transparent_pixels_read_as_black(tmp_path, mode, caplog):
    grey = _grey()
    alpha = np.full_like(grey, 255)
    alpha[:, :5] = 0  # the colour stored under them (white here) must not show through
    shown = grey.copy()
    shown[:, :5] = 255
    Image.fromarray(np.dstack([shown, shown, shown, alpha]), mode="RGBA").convert(mode).save(tmp_path / "t.png")
    img = read_image(tmp_path / "t.png")
    expected = grey.astype(np.float32)
    expected[:, :5] = 0
    np.testing.assert_array_equal(img.array, expected)
    assert img.metadata["transparent_pixels"] == 5 * grey.shape[0]
    assert "transparent" in caplog.text


def test_palette_png_with_a_transparent_entry(tmp_path):
    grey = _grey()
    pal = Image.fromarray(grey).convert("P")
    index = int(np.asarray(pal)[0, 0])
    pal.save(tmp_path / "p.png", transparency=index)
    img = read_image(tmp_path / "p.png")
    clear = np.asarray(pal) == index
    assert clear.any() and np.all(img.array[clear] == 0)
    np.testing.assert_array_equal(img.array[~clear], grey[~clear].astype(np.float32))


@pytest.mark.parametrize("alpha", [1, 128, 254])
def test_partially_transparent_pixels_are_refused(tmp_path, alpha):
    grey = _grey()
    a = np.full_like(grey, 255)
    a[3, 4] = alpha
    a[7, 8] = 0  # fully transparent pixels alone would be fine
    Image.fromarray(np.dstack([grey, grey, grey, a]), mode="RGBA").save(tmp_path / "a.png")
    with pytest.raises(UnsupportedFormatError, match=r"^.*a\.png: 1 pixels are partially transparent"):
        read_image(tmp_path / "a.png")


def test_16_bit_png_keeps_its_values(tmp_path):
    values = (np.arange(40 * 33).reshape(40, 33) * 49).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    img = read_image(tmp_path / "deep.png")
    assert img.array.dtype == np.float32 and img.array.shape == (40, 33)
    np.testing.assert_array_equal(img.array, values.astype(np.float32))
    assert img.array.max() > 255
    assert img.metadata["bit_depth"] == 16 and img.is_hu is False


def test_grey_jpg(tmp_path):
    Image.fromarray(np.full((40, 50), 200, np.uint8)).save(tmp_path / "a.jpeg", quality=95)
    img = read_image(tmp_path / "a.jpeg")
    assert img.array.shape == (40, 50) and abs(float(img.array.mean()) - 200) < 2


def test_folder_of_slices_in_natural_order(tmp_path):
    for n in (10, 2, 1, 33, 3):
        Image.fromarray(np.full((32, 36), n, np.uint8)).save(tmp_path / f"slice_{n}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden.png").write_bytes(b"not read")
    img = read_image(tmp_path)
    assert img.kind == "slices"
    assert img.array.shape == (5, 32, 36) and img.array.dtype == np.float32
    assert [int(v) for v in img.array[:, 0, 0]] == [1, 2, 3, 10, 33]
    assert [p.rsplit("/", 1)[-1] for p in img.metadata["files"]][:2] == ["slice_1.png", "slice_2.png"]
    assert img.spacing is None and img.is_hu is False
    assert img.orientation == ("?", "P", "L")


def test_folder_of_slices_of_different_sizes_is_a_clear_error(tmp_path):
    Image.fromarray(np.zeros((32, 36), np.uint8)).save(tmp_path / "1.png")
    Image.fromarray(np.zeros((32, 37), np.uint8)).save(tmp_path / "2.png")
    with pytest.raises(DimensionError) as info:
        read_image(tmp_path)
    assert info.value.path.endswith("2.png")
    assert "differs" in info.value.reason and "1.png" in info.value.reason


def test_folder_mixing_8_and_16_bit_is_refused(tmp_path):
    Image.fromarray(np.zeros((32, 36), np.uint8)).save(tmp_path / "1.png")
    Image.fromarray(np.zeros((32, 36), np.uint16)).save(tmp_path / "2.png")
    with pytest.raises(UnsupportedFormatError, match="bit depth"):
        read_image(tmp_path)
