import math

import pytest

from covidseg.quantify import SeverityConfig, mosmed_grade, ratio_grade, zone_score


@pytest.mark.parametrize(
    "percent, mosmed, zone",
    [
        (0.0, "CT-0", 0),
        (1e-9, "CT-1", 1),
        (24.999, "CT-1", 1),
        (25.0, "CT-2", 2),
        (49.999, "CT-2", 2),
        (50.0, "CT-3", 3),
        (74.999, "CT-3", 3),
        (75.0, "CT-4", 4),
        (100.0, "CT-4", 4),
    ],
)
def test_mosmed_and_zone_boundaries(percent, mosmed, zone):
    assert mosmed_grade(percent) == mosmed
    assert zone_score(percent) == zone


@pytest.mark.parametrize(
    "percent, grade",
    [(0.0, "none"), (0.01, "mild"), (9.999, "mild"), (10.0, "moderate"), (29.999, "moderate"),
     (30.0, "severe"), (100.0, "severe")],
)
def test_ratio_grade_boundaries(percent, grade):
    assert ratio_grade(percent) == grade


def test_ratio_grade_follows_config():
    cfg = SeverityConfig(ratio_thresholds=(5.0, 20.0))
    assert [ratio_grade(p, cfg) for p in (4.9, 5.0, 19.9, 20.0)] == ["mild", "moderate", "moderate", "severe"]


@pytest.mark.parametrize("bad", [-0.1, 100.1, math.nan])
@pytest.mark.parametrize("fn", [ratio_grade, mosmed_grade, zone_score])
def test_out_of_range_percent_is_rejected(fn, bad):
    with pytest.raises(ValueError, match="percent"):
        fn(bad)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"ratio_thresholds": (30.0, 10.0)}, "ratio_thresholds"),
     ({"mosmed_thresholds": (25.0, 50.0, 150.0)}, "mosmed_thresholds"),
     ({"zone_thresholds": (0.0, 50.0, 75.0)}, "zone_thresholds"),
     ({"ratio_names": ("a", "b")}, "ratio_names")],
)
def test_bad_config_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SeverityConfig(**kwargs)
