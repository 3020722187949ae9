"""The noise floor: a few small false-positive spots grade as no lesion, with the raw numbers kept."""

from __future__ import annotations

import numpy as np
import pytest

from covidseg.quantify import SeverityConfig, below_noise_floor, measure

SPACING = (2.0, 2.0, 2.0)  # 8 mm^3 = 0.008 mL per voxel
ORIENT = ("S", "P", "L")


def _lungs(shape=(40, 40, 60)):
    lung = np.zeros(shape, bool)
    lung[2:-2, 4:-4, 4:28] = True  # one lung per side of the L axis
    lung[2:-2, 4:-4, 32:-4] = True
    return lung


def _spots(lung, n_spots, side=2):
    """``n_spots`` separate cubes of ``side`` voxels, spread through the lung."""
    lesion = np.zeros(lung.shape, bool)
    zs, ys, xs = np.nonzero(lung)
    rng = np.random.default_rng(0)
    placed = 0
    while placed < n_spots:
        i = rng.integers(len(zs))
        z, y, x = zs[i], ys[i], xs[i]
        box = lesion[max(z - 2, 0):z + side + 2, max(y - 2, 0):y + side + 2, max(x - 2, 0):x + side + 2]
        if box.any() or not lung[z:z + side, y:y + side, x:x + side].all():
            continue  # keep the spots apart (separate components) and inside the lung
        lesion[z:z + side, y:y + side, x:x + side] = True
        placed += 1
    return lesion


def test_scattered_small_spots_grade_as_no_lesion_with_the_raw_numbers_kept():
    lung = _lungs()
    lesion = _spots(lung, 20)  # 20 x 8 voxels = 1.28 mL, each spot 0.064 mL
    m = measure(lung, lesion, spacing=SPACING, orientation=ORIENT)
    assert 0 < m.whole.lesion_percent < 1.0
    sev = m.severity
    assert sev.noise_floor_applied
    assert (sev.mosmed_grade, sev.ratio_grade) == ("CT-0", "none")
    assert (sev.raw_mosmed_grade, sev.raw_ratio_grade) == ("CT-1", "mild")
    assert m.whole.lesion == pytest.approx(lesion.sum() * 0.008)  # measurements untouched
    assert sev.largest_lesion == pytest.approx(8 * 0.008)
    assert sev.zone_total == 0 and set(sev.zone_scores.values()) == {0}
    assert sum(sev.zone_percent.values()) > 0  # zone percentages stay raw


def test_one_connected_lesion_above_the_size_keeps_its_grade():
    lung = _lungs()
    lesion = np.zeros(lung.shape, bool)
    lesion[10:15, 10:15, 10:15] = True  # 125 voxels = 1.0 mL connected, still < 1 % of the lung
    m = measure(lung, lesion, spacing=SPACING, orientation=ORIENT)
    assert m.whole.lesion_percent < 1.0
    assert m.severity.largest_lesion == pytest.approx(1.0)
    assert not m.severity.noise_floor_applied
    assert m.severity.mosmed_grade == "CT-1" and m.severity.ratio_grade == "mild"


def test_a_burden_above_the_percentage_keeps_its_grade():
    lung = _lungs()
    lesion = _spots(lung, 200)  # small spots, but 2.4 % of the lung
    m = measure(lung, lesion, spacing=SPACING, orientation=ORIENT)
    assert m.whole.lesion_percent > 1.0 and m.severity.largest_lesion < 1.0
    assert not m.severity.noise_floor_applied
    assert m.severity.mosmed_grade == "CT-1" and m.severity.zone_total > 0


def test_floor_can_be_turned_off_and_resized():
    lung = _lungs()
    lesion = _spots(lung, 20)
    off = measure(lung, lesion, spacing=SPACING, orientation=ORIENT, severity=SeverityConfig(noise_floor_percent=0))
    assert off.severity.mosmed_grade == "CT-1" and not off.severity.noise_floor_applied
    tight = measure(lung, lesion, spacing=SPACING, orientation=ORIENT, severity=SeverityConfig(noise_floor_ml=0.05))
    assert tight.severity.mosmed_grade == "CT-1"  # the spots (0.064 mL) are above a 0.05 mL floor


def test_slice_units_pick_their_own_size_limit():
    lung = np.zeros((100, 100), bool)
    lung[10:90, 10:90] = True  # 6400 px
    lesion = np.zeros_like(lung)
    lesion[20:30, 20:30] = True  # 100 px = 1.56 %
    assert measure(lung, lesion).severity.mosmed_grade == "CT-1"  # above 1 %
    lesion[:] = False
    lesion[20:27, 20:27] = True  # 49 px = 0.77 %, < 200 px
    assert measure(lung, lesion).severity.mosmed_grade == "CT-0"
    # with a 2 mm pixel the same 49 px are 196 mm^2, above the 100 mm^2 slice limit
    assert measure(lung, lesion, spacing=(2.0, 2.0)).severity.mosmed_grade == "CT-1"


def test_no_lesion_is_not_a_floor_case():
    lung = _lungs()
    m = measure(lung, np.zeros_like(lung), spacing=SPACING, orientation=ORIENT)
    assert m.severity.mosmed_grade == "CT-0" and not m.severity.noise_floor_applied
    assert m.severity.largest_lesion == 0.0


def test_below_noise_floor_rules():
    assert below_noise_floor(0.5, 0.9, "mL")
    assert not below_noise_floor(0.5, 1.0, "mL")
    assert not below_noise_floor(1.0, 0.1, "mL")
    assert not below_noise_floor(0.0, 0.0, "mL")
    with pytest.raises(ValueError, match="unit"):
        below_noise_floor(0.5, 0.1, "cm")


@pytest.mark.parametrize("field", ["noise_floor_percent", "noise_floor_ml", "noise_floor_mm2", "noise_floor_px"])
def test_bad_floor_values_name_the_field(field):
    with pytest.raises(ValueError, match=field):
        SeverityConfig(**{field: -1.0})
