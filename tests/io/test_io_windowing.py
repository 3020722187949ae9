"""HU windowing and the model-input mapping."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from covidseg.io import LUNG, MEDIASTINUM, MODEL_WINDOW, Window, read_image, to_model_input, window


def test_presets():
    assert (LUNG.level, LUNG.width) == (-600, 1500)
    assert (MEDIASTINUM.level, MEDIASTINUM.width) == (40, 400)
    assert (LUNG.lower, LUNG.upper) == (-1350, 150)
    # The calibrated model window is the one inference uses, and puts air where the training JPGs have it.
    from covidseg.inference.engine import TRAINING_HU_WINDOW

    assert (MODEL_WINDOW.lower, MODEL_WINDOW.upper) == TRAINING_HU_WINDOW
    assert 0 < window(np.array([-1000.0]), MODEL_WINDOW.level, MODEL_WINDOW.width)[0] * 255 < 30
    with pytest.raises(dataclasses.FrozenInstanceError):
        LUNG.level = 0  # type: ignore[misc]


@pytest.mark.parametrize("level, width, hu, expected", [
    (-600, 1500, -1350, 0.0),
    (-600, 1500, 150, 1.0),
    (-600, 1500, -600, 0.5),
    (-600, 1500, -3000, 0.0),   # clipped
    (-600, 1500, 3000, 1.0),    # clipped
    (40, 400, -160, 0.0),
    (40, 400, 140, 0.75),
])
def test_window_values(level, width, hu, expected):
    out = window(np.array([hu], np.float64), level, width)
    assert out.dtype == np.float32
    assert out[0] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("width", [0, -5, float("nan")])
def test_window_needs_a_positive_width(width):
    with pytest.raises(ValueError):
        window(np.zeros(3), 0, width)


def test_window_does_not_modify_its_input():
    hu = np.array([-2000.0, 0.0, 2000.0], np.float32)
    Window(0, 100).apply(hu)
    np.testing.assert_array_equal(hu, [-2000, 0, 2000])


def test_hu_volume_to_model_input(ct64_nifti):
    img = read_image(ct64_nifti)
    x = to_model_input(img)
    assert x.dtype == np.float32 and x.shape == img.array.shape
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x, window(img.array, MODEL_WINDOW.level, MODEL_WINDOW.width))
    np.testing.assert_allclose(to_model_input(img, MEDIASTINUM), MEDIASTINUM.apply(img.array))


def test_8_bit_image_to_model_input(semiseg):
    img = read_image(semiseg / "train" / "images" / "0.jpg")
    x = to_model_input(img)
    np.testing.assert_allclose(x, img.array / 255.0, rtol=1e-6)


def test_16_bit_png_is_min_max_scaled(tmp_path):
    values = np.kron(np.array([[1000, 2000], [3000, 5000]], np.uint16), np.ones((16, 16), np.uint16))
    Image.fromarray(values).save(tmp_path / "deep.png")
    x = to_model_input(read_image(tmp_path / "deep.png"))
    np.testing.assert_allclose(x, np.kron([[0.0, 0.25], [0.5, 1.0]], np.ones((16, 16))))
    Image.fromarray(np.full((32, 32), 700, np.uint16)).save(tmp_path / "flat.png")
    assert not to_model_input(read_image(tmp_path / "flat.png")).any()
