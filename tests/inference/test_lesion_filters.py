"""HU false-positive filters: vessels marked GGO and dependent pleural bands are removed,
GGO of the same size is kept (synthetic volumes with known HU)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from covidseg.inference.postprocess import (LesionFilterConfig, dependent_bands, filter_hu_lesions,
                                            vessel_lesions)

SPACING = (1.0, 0.8, 0.8)
ORIENT = ("S", "P", "L")  # axis 1 runs toward posterior (the dependent side of a supine patient)


def _chest(shape=(40, 96, 96)):
    """Aerated lung (-850 HU, some noise) in a box surrounded by soft tissue (40 HU)."""
    rng = np.random.default_rng(0)
    hu = np.full(shape, 40.0, np.float32)
    lung = np.zeros(shape, bool)
    lung[:, 8:-8, 8:-8] = True
    hu[lung] = -850.0
    hu += rng.normal(0, 15, shape).astype(np.float32)
    return hu, lung


def _ball(shape, centre, radius_vox):
    zz, yy, xx = np.ogrid[tuple(slice(0, n) for n in shape)]
    c = centre
    r = radius_vox
    return ((zz - c[0]) / r[0]) ** 2 + ((yy - c[1]) / r[1]) ** 2 + ((xx - c[2]) / r[2]) ** 2 <= 1.0


def _vessel_and_blob(spacing=SPACING):
    hu, lung = _chest()
    # a vessel: 3 mm bright tube running head-feet, blurred like partial volume
    tube = np.zeros(hu.shape, bool)
    yy, xx = np.ogrid[:96, :96]
    tube[:, ((yy - 30) ** 2 + (xx - 30) ** 2) * spacing[1] ** 2 <= 1.5 ** 2] = True
    vessel_hu = np.where(tube, 30.0, -850.0).astype(np.float32)
    hu[lung] = ndi.gaussian_filter(vessel_hu, (0.5, 0.6, 0.6))[lung] + (hu[lung] + 850.0)
    # the network marks the tube with a halo: a 2-voxel dilation in-plane
    marked_tube = ndi.binary_dilation(tube, iterations=2) & lung
    # a GGO blob (-600 HU haze) with the same number of voxels, elsewhere in the lung
    radius = (3 * marked_tube.sum() / (4 * np.pi)) ** (1 / 3)
    blob = _ball(hu.shape, (20, 65, 65), (radius, radius, radius))
    hu[blob] += 250.0
    return hu, lung, marked_tube, blob


@pytest.mark.parametrize("spacing", [SPACING, (0.6, 0.5, 0.5)])  # the second: Hessian on a 2x coarser grid
def test_vessel_tube_is_removed_and_ggo_blob_of_the_same_size_kept(spacing):
    hu, lung, tube, blob = _vessel_and_blob(spacing)
    assert abs(int(tube.sum()) - int(blob.sum())) < 0.15 * tube.sum()
    removed = vessel_lesions(hu, tube | blob, spacing, LesionFilterConfig())
    assert removed[tube].mean() > 0.95
    assert not removed[blob].any()


def test_vessel_filter_needs_aerated_surroundings():
    hu, lung, tube, blob = _vessel_and_blob()
    hu[lung] += 300.0  # the same tube inside a GGO haze: a vessel within a lesion, kept
    removed = vessel_lesions(hu, tube, SPACING, LesionFilterConfig())
    assert removed[tube].mean() < 0.05


def _band_case(side="P", depth_mm=4.0, hu_value=-350.0):
    hu, lung = _chest()
    rows = int(round(depth_mm / SPACING[1]))
    band = np.zeros(hu.shape, bool)
    if side == "P":
        band[5:35, -8 - rows:-8, 20:76] = True  # along the posterior pleura
    else:
        band[5:35, 8:8 + rows, 20:76] = True
    hu[band] = hu_value
    return hu, lung, band


def test_posterior_pleural_band_is_removed_and_ggo_blob_of_the_same_size_kept():
    hu, lung, band = _band_case()
    radius = (3 * band.sum() / (4 * np.pi)) ** (1 / 3)
    blob = _ball(hu.shape, (20, 48, 48), (radius, radius / 0.8, radius / 0.8))
    hu[blob] = -600.0
    cfg = LesionFilterConfig()
    out = dependent_bands(hu, band | blob, lung, SPACING, ORIENT, cfg)
    assert out[band].all()
    assert not out[blob].any()


@pytest.mark.parametrize("case", ["anterior", "deep", "dense"])
def test_bands_that_are_not_dependent_density_are_kept(case):
    if case == "anterior":
        hu, lung, band = _band_case(side="A")
    elif case == "deep":
        hu, lung, band = _band_case(depth_mm=16.0)  # a subpleural lesion reaching 16 mm deep
    else:
        hu, lung, band = _band_case(hu_value=30.0)  # soft-tissue density: consolidation or effusion
    assert not dependent_bands(hu, band, lung, SPACING, ORIENT, LesionFilterConfig()).any()


def test_prone_patient_depends_anteriorly():
    hu, lung, band = _band_case(side="A")
    out = dependent_bands(hu, band, lung, SPACING, ORIENT, LesionFilterConfig(dependent_side="A"))
    assert out[band].all()


def test_filter_reports_what_each_pattern_removed_and_can_be_turned_off():
    hu, lung, tube, blob = _vessel_and_blob()
    _, _, band = _band_case()
    hu[band] = -350.0
    lesion = tube | blob | band
    kept, removed = filter_hu_lesions(hu, lesion, lung, SPACING, ORIENT, LesionFilterConfig())
    assert removed["vessels"] >= 0.95 * tube.sum() and removed["dependent"] == band.sum()
    assert kept[blob].all()
    same, none = filter_hu_lesions(hu, lesion, lung, SPACING, ORIENT,
                                   LesionFilterConfig(vessels=False, dependent=False))
    assert (same == lesion).all() and none == {"vessels": 0, "dependent": 0}


@pytest.mark.parametrize("kwargs, name", [
    ({"vessel_radius_mm": 0}, "vessel_radius_mm"), ({"vessel_tube_ratio": 1.0}, "vessel_tube_ratio"),
    ({"vessel_fraction": 2.0}, "vessel_fraction"), ({"dependent_side": "S"}, "dependent_side"),
    ({"band_hu": (0.0, -100.0)}, "band_hu"), ({"dependent_fraction": 0.0}, "dependent_fraction"),
])
def test_bad_filter_values_name_the_field(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LesionFilterConfig(**kwargs)


def test_segmenter_filters_hu_input_only_and_reports_it(tmp_path, make_tiny, ct_examples, semiseg):
    from covidseg import Segmenter
    from covidseg.io import read_image

    # a near-zero threshold: most of the lung is lesion, so the filters have something to judge
    model = make_tiny(tmp_path / "tiny", "all", threshold=0.01)
    img = read_image(ct_examples / "cip-ct64.nii.gz")
    on = Segmenter(model).predict(img)
    off = Segmenter(model, lesion_filters=LesionFilterConfig(vessels=False, dependent=False)).predict(img)
    assert off.lesion_filtered is None and on.lesion_filtered is not None
    report = on.report()
    assert set(report["lesion_filtered"]) == {"vessels", "dependent"}
    assert "noise_floor_applied" in report["severity"] and "noise_floor" in report["severity_definitions"]
    assert on.lesion.sum() <= off.lesion.sum()
    jpg = Segmenter(model).predict(next((semiseg / "test" / "images").glob("*.jpg")))
    assert jpg.lesion_filtered is None  # plain images carry no density: never filtered


def test_cli_flags_reach_the_config():
    import argparse

    from covidseg.errors import ConfigError
    from covidseg.batch import cli

    parser = argparse.ArgumentParser()
    cli.configure(parser)
    args = parser.parse_args(["x.nii.gz", "-o", "out", "--noise-floor-percent", "0.5", "--noise-floor-ml", "2",
                              "--no-vessel-filter", "--dependent-side", "A"])
    cfg = cli._config(args)
    assert cfg.severity.noise_floor_percent == 0.5 and cfg.severity.noise_floor_ml == 2.0
    assert not cfg.lesion_filters.vessels and cfg.lesion_filters.dependent
    assert cfg.lesion_filters.dependent_side == "A"
    defaults = cli._config(parser.parse_args(["x", "-o", "out"]))
    assert defaults.severity.noise_floor_percent == 1.0 and defaults.lesion_filters.vessels
    with pytest.raises(ConfigError, match="noise_floor_px"):
        cli._config(parser.parse_args(["x", "-o", "out", "--noise-floor-px", "-3"]))


def test_summary_says_when_the_noise_floor_set_the_grade(tmp_path):
    from covidseg.batch.outputs import summary_row

    report = {"measurements": {"whole": {"lesion_percent": 0.4}},
              "severity": {"mosmed_grade": "CT-0", "raw_mosmed_grade": "CT-1", "noise_floor_applied": True}}
    row = summary_row("a", report, tmp_path)
    assert (row["mosmed_grade"], row["noise_floor"], row["lesion_percent"]) == ("CT-0", "yes", "0.40")
    report["severity"]["noise_floor_applied"] = False
    assert summary_row("a", report, tmp_path)["noise_floor"] == "no"
    assert summary_row("a", {"severity": {}}, tmp_path)["noise_floor"] == ""  # reports from before the floor


def test_lung_cut_by_the_image_edge_is_not_a_pleura():
    """A small field of view cuts the lung at the image edge: a band there is not subpleural."""
    hu = np.full((60, 60), -850.0, np.float32)
    lung = np.zeros((60, 60), bool)
    lung[5:, 5:55] = True  # runs out of the image at the posterior edge
    band = np.zeros_like(lung)
    band[56:, 10:50] = True
    hu[band] = -350.0
    assert not dependent_bands(hu, band, lung, (0.8, 0.8), ("P", "L"), LesionFilterConfig()).any()
    lung[55:] = False  # the same band inside a lung that ends at a pleura
    band[:] = False
    band[51:55, 10:50] = True
    hu[:] = -850.0
    hu[band] = -350.0
    assert dependent_bands(hu, band, lung, (0.8, 0.8), ("P", "L"), LesionFilterConfig())[band].all()
