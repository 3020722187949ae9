"""The same input and model give bit-identical masks in two separate processes."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from .test_predict_support import predict_argv, run_cli, synthetic_ct, tiny_model

MASKS = ("lung", "lesion", "classes")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all", seed=3)


def test_two_processes_give_identical_masks(tmp_path, model):
    volume = synthetic_ct(tmp_path / "ct.nii.gz", seed=5, slices=10)
    image = tmp_path / "slice.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (56, 56), dtype=np.uint8)).save(image)
    outs = [tmp_path / f"out{k}" for k in range(2)]
    for out in outs:
        result = run_cli(predict_argv([volume, image], out, model, "--no-pictures"))
        assert result.returncode == 0, result.stderr
    first, second = (json.loads((o / "ct" / "report.json").read_text()) for o in outs)
    assert first["precision"] == second["precision"]
    for case, suffix in (("ct", ".nii.gz"), ("slice", ".png")):
        manifests = [json.loads((o / case / "report.json").read_text())["manifest"] for o in outs]
        for name in MASKS:
            a, b = (o / case / f"{name}{suffix}" for o in outs)
            if suffix == ".png":
                arrays = [np.asarray(Image.open(p)) for p in (a, b)]
            else:
                arrays = [np.asarray(nib.load(p).dataobj) for p in (a, b)]
            assert arrays[0].dtype == arrays[1].dtype and np.array_equal(arrays[0], arrays[1]), (case, name)
            # The files themselves are byte-identical (no time stamps inside).
            assert manifests[0][a.name]["sha256"] == manifests[1][b.name]["sha256"], (case, name)
    lung = np.asarray(nib.load(outs[0] / "ct" / "lung.nii.gz").dataobj)
    assert lung.any()  # the network and post-processing really ran on something
