"""Metrics against hand-computed cases; the published protocol on maps with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from covidseg.evaluation.metrics import (
    binary_metrics,
    e_measure,
    hd95,
    normalize_map,
    published_image,
    published_summary,
    s_measure,
    summarize_binary,
    thresholds,
)


def square(n=10, r0=2, r1=6, c0=2, c1=6):
    m = np.zeros((n, n), bool)
    m[r0:r1, c0:c1] = True
    return m


# (prediction, truth, expected) on a 10x10 grid; GT = 16 pixels
CASES = [
    # identical
    (square(), square(), dict(dice=1, iou=1, sensitivity=1, specificity=1, precision=1, mae=0)),
    # shifted by one row: tp 12, fp 4, fn 4, tn 80
    (square(r0=3, r1=7), square(), dict(dice=24 / 32, iou=12 / 20, sensitivity=12 / 16, specificity=80 / 84,
                                        precision=12 / 16, mae=8 / 100)),
    # prediction inside truth: tp 4, fp 0, fn 12, tn 84
    (square(r0=3, r1=5, c0=3, c1=5), square(), dict(dice=8 / 20, iou=4 / 16, sensitivity=4 / 16, specificity=1,
                                                    precision=1, mae=12 / 100)),
    # empty prediction: precision undefined
    (np.zeros((10, 10), bool), square(), dict(dice=0, iou=0, sensitivity=0, specificity=1, precision=math.nan,
                                              mae=16 / 100)),
    # empty ground truth: sensitivity undefined
    (square(), np.zeros((10, 10), bool), dict(dice=0, iou=0, sensitivity=math.nan, specificity=84 / 100,
                                              precision=0, mae=16 / 100)),
    # both empty: a perfect answer
    (np.zeros((10, 10), bool), np.zeros((10, 10), bool), dict(dice=1, iou=1, sensitivity=math.nan, specificity=1,
                                                              precision=math.nan, mae=0)),
]


@pytest.mark.parametrize("pred, gt, expected", CASES)
def test_binary_metrics_hand_computed(pred, gt, expected):
    got = binary_metrics(pred, gt)
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(value), key


@pytest.mark.parametrize("pred, gt, expected", [
    (square(), square(), 0.0),
    (square(r0=3, r1=7), square(), 1.0),  # every boundary pixel within 1 px
    (square(c0=5, c1=9), square(), 3.0),  # shifted by 3 columns
    (np.zeros((10, 10), bool), np.zeros((10, 10), bool), 0.0),
    (np.zeros((10, 10), bool), square(), math.nan),
])
def test_hd95(pred, gt, expected):
    got = hd95(pred, gt)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_hd95_uses_spacing():
    assert hd95(square(c0=5, c1=9), square(), spacing=(1.0, 0.5)) == pytest.approx(1.5)


def test_s_measure_special_cases():
    gt = square()
    empty = np.zeros_like(gt)
    assert s_measure(gt.astype(float), gt) == pytest.approx(1.0, abs=1e-9)
    assert s_measure(np.zeros(gt.shape), empty) == 1.0  # nothing to find, nothing found
    assert s_measure(np.full(gt.shape, 0.25), empty) == pytest.approx(0.75)  # 1 - mean
    assert s_measure(np.full(gt.shape, 0.25), np.ones_like(gt)) == pytest.approx(0.25)  # mean
    assert s_measure((~gt).astype(float), gt) < 0.1  # inverted map scores near 0
    shifted = s_measure(square(r0=3, r1=7).astype(float), gt)
    assert 0.5 < shifted < 1.0
    with pytest.raises(ValueError):
        s_measure(np.full(gt.shape, 2.0), gt)


def test_s_measure_object_term_by_hand():
    # 1x4 image, GT = [1,1,0,0], prediction = [1,1,0,0]: region term is 1, object term is
    # u*O_fg + (1-u)*O_bg with O = 2x/(x^2+1+sigma) = 2/(1+1+0) = 1 for both
    gt = np.array([[1, 1, 0, 0]], bool)
    assert s_measure(gt.astype(float), gt) == pytest.approx(1.0, abs=1e-9)
    # constant 0.5 prediction: O_fg = O_bg = 2*0.5/(0.25+1+0) = 0.8. Region: centroid
    # X = round(1.5) = 2, Y = 1 -> quadrants [1,1] and [0,0] (weights 1/2, 1/2, the lower
    # two are empty); each has zero variance in both maps -> alpha = beta = 0 -> ssim 1.
    # S = 0.5 * 0.8 + 0.5 * 1
    assert s_measure(np.full((1, 4), 0.5), gt) == pytest.approx(0.9)


def test_e_measure_counts():
    gt = square()
    n = gt.size
    assert e_measure(gt, gt) == pytest.approx(n / (n - 1))  # reference divides by N - 1
    assert e_measure(~gt, gt) == pytest.approx(0.0)
    empty = np.zeros_like(gt)
    assert e_measure(empty, empty) == pytest.approx(n / (n - 1))
    assert e_measure(empty, gt) == pytest.approx(n / 4 / (n - 1))  # all alignment terms 0 -> 1/4


def test_e_measure_matches_per_pixel_definition():
    rng = np.random.default_rng(0)
    pred, gt = rng.random((12, 9)) > 0.6, rng.random((12, 9)) > 0.7
    a = pred - pred.mean()
    b = gt - gt.mean()
    align = 2 * a * b / (a * a + b * b + np.finfo(float).eps)
    ref = ((align + 1) ** 2 / 4).sum() / (gt.size - 1 + np.finfo(float).eps)
    assert e_measure(pred, gt) == pytest.approx(ref)


def test_thresholds_run_from_one_to_zero():
    t = thresholds()
    assert len(t) == 256 and t[0] == 1.0 and t[-1] == 0.0 and np.all(np.diff(t) < 0)


def test_published_perfect_two_level_map():
    gt = square()
    g, n = gt.sum(), gt.size
    prob = np.where(gt, 0.9, 0.2)  # any two levels: min-max normalisation makes them 0/1
    r = published_image(prob, gt)
    c = r["curves"]
    # thresholds > 0 predict exactly the truth; threshold 0 predicts everything
    assert c["dice"][:255] == pytest.approx(np.ones(255))
    assert c["dice"][255] == pytest.approx(2 * g / (g + n))
    assert c["specificity"][255] == 0.0 and c["specificity"][:255] == pytest.approx(np.ones(255))
    # E-measure binarises with '>': at threshold 1 the map is empty, elsewhere it is exact
    perfect, empty = n / (n - 1), n / 4 / (n - 1)
    assert c["e_measure"][0] == pytest.approx(empty) and c["e_measure"][1:] == pytest.approx(np.full(255, perfect))
    s = published_summary([r])
    assert s["mean_dice"] == pytest.approx((255 + 2 * g / (g + n)) / 256)
    assert s["mean_specificity"] == pytest.approx(255 / 256)
    assert s["mean_e_measure"] == pytest.approx((255 * perfect + empty) / 256)
    assert s["mae"] == 0.0 and s["max_dice"] == pytest.approx(1.0)


def test_published_three_level_map():
    gt = square()
    g, n = int(gt.sum()), gt.size
    prob = np.where(gt, 1.0, 0.0)
    half = np.zeros_like(gt)
    half[8:, :5] = True  # 10 background pixels at 0.5 -> level round(127.5) = 128
    h = int(half.sum())
    prob[half] = 0.5
    c = published_image(prob, gt)["curves"]["dice"]
    k = 255 - np.arange(256)  # integer threshold levels
    expected = np.where(k > 128, 1.0, np.where(k > 0, 2 * g / (2 * g + h), 2 * g / (g + n)))
    assert c == pytest.approx(expected)


def test_published_no_true_positive_convention():
    # empty truth: every threshold has tp = 0 -> Dice and specificity are 0 by convention
    gt = np.zeros((10, 10), bool)
    r = published_image(np.random.default_rng(1).random((10, 10)), gt)
    assert np.all(r["curves"]["dice"] == 0) and np.all(r["curves"]["specificity"] == 0)
    assert r["s_measure"] == pytest.approx(1 - normalize_map(np.random.default_rng(1).random((10, 10))).mean())


def test_published_average_over_images_then_thresholds():
    gt = square()
    a = published_image(np.where(gt, 1.0, 0.0), gt)
    b = published_image(np.where(gt, 0.0, 1.0), gt)  # inverted map
    s = published_summary([a, b])
    col = (a["curves"]["dice"] + b["curves"]["dice"]) / 2
    assert s["mean_dice"] == pytest.approx(col.mean())
    assert s["max_dice"] == pytest.approx(col.max())
    assert s["mae"] == pytest.approx((0 + 1) / 2)


def test_quantize_and_normalize():
    p = np.array([[0.5, 0.625], [0.75, 1.0]])  # exact binary fractions: no rounding surprises
    np.testing.assert_allclose(normalize_map(p, quantize=False), [[0, 0.25], [0.5, 1.0]])
    assert set(np.round(normalize_map(p) * 255, 9).ravel()) == {0.0, 64.0, 128.0, 255.0}  # 63.75 -> 64, 127.5 -> 128 (half up)
    np.testing.assert_allclose(normalize_map(np.full((2, 2), 0.3), quantize=False), 0.3)  # constant kept


def test_summarize_binary_skips_undefined():
    rows = [binary_metrics(square(), square()), binary_metrics(np.zeros((10, 10), bool), np.zeros((10, 10), bool))]
    s = summarize_binary(rows)
    assert s["dice"] == 1.0 and s["sensitivity"] == 1.0 and s["n_sensitivity"] == 1
