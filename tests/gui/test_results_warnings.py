"""The results panel shows the pipeline's lung warnings (they used to reach report.json and
predict's terminal but not the GUI), and clears them for the next case."""

from __future__ import annotations

import nibabel as nib
import pytest

from tests.hostile.corpus import white_lung_volume


@pytest.fixture()
def white_lung(tmp_path):
    data, affine, _, _ = white_lung_volume()
    path = tmp_path / "white-lung.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def test_airless_lung_warning_is_shown_then_cleared(qtbot, window, opened, run_job, white_lung, inputs):
    panel = window.results
    opened(white_lung)
    assert run_job(qtbot, window, window.segment) == ("segment", "finished"), window.banner.text()
    warnings = window.prediction.warnings
    assert any(w.startswith("the right lung was airless") for w in warnings)
    assert panel.warnings_label.isVisible()
    text = panel.warnings_label.text()
    assert all(w in text for w in warnings)

    opened(inputs["image"])  # a plain slice: no lung warnings
    assert not panel.warnings_label.isVisible()
    assert run_job(qtbot, window, window.segment) == ("segment", "finished"), window.banner.text()
    assert not window.prediction.warnings and not panel.warnings_label.isVisible()
