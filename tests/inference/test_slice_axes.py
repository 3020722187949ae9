"""Networks get their slices with the in-plane axes they were trained on: CT read into
radiological display is transposed into the COVID-SemiSeg axes (rows toward the patient's left,
columns toward posterior) and the probabilities are turned back; plain images are not turned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from covidseg.errors import ModelError
from covidseg.inference.engine import Box, Runner
from covidseg.inference.loading import LoadedModel, load_models
from covidseg.io.slice_axes import DISPLAY_AXES, MODEL_SLICE_AXES, display_to_model, model_slice_axes


class Echo(torch.nn.Module):
    """p(lesion) = the input grey, so the output shows where the input was bright; records inputs."""

    def __init__(self):
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        p = x.clamp(1e-4, 1 - 1e-4)
        return torch.log(p / (1 - p))


def _model(axes: str | None) -> LoadedModel:
    meta = {} if axes is None else {"slice_axes": axes}
    return LoadedModel("echo", Path("echo"), "lesion", ("background", "lesion"), "sigmoid", 32, 0.5, "", Echo(), meta)


@pytest.fixture()
def slice_():
    img = np.zeros((32, 32), np.float32)
    img[2:10, 4:30] = 1.0  # a bar along the rows' top: not symmetric under transposition
    return img


@pytest.mark.parametrize("axes, display, turned", [(None, True, True), (MODEL_SLICE_AXES, True, True),
                                                   (DISPLAY_AXES, True, False), (None, False, False)])
def test_each_network_sees_its_own_axes_and_answers_in_the_slices(slice_, axes, display, turned):
    model = _model(axes)
    runner = Runner([model], {"lesion": model}, batch_size=2)
    ((i, out),) = list(runner.run(lambda i: slice_, [0], Box(0, 32, 0, 32), display=display))
    seen = model.module.seen[0][0, 0].numpy()
    np.testing.assert_allclose(seen, slice_.T if turned else slice_, atol=1e-6)
    np.testing.assert_allclose(out["lesion"], slice_, atol=1e-3)  # turned back into the slice


def test_model_slice_axes_default_and_refusal():
    assert model_slice_axes(None) == model_slice_axes({}) == "LP"
    assert model_slice_axes({"slice_axes": "PL"}) == "PL"
    with pytest.raises(ValueError, match="slice_axes"):
        model_slice_axes({"slice_axes": "AP"})
    a = np.arange(6).reshape(1, 2, 3)
    assert display_to_model(a).shape == (1, 3, 2) and display_to_model(a, DISPLAY_AXES) is a


def test_a_model_folder_with_bad_slice_axes_is_refused(tiny_all, tmp_path):
    import json
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_all, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["metadata"]["slice_axes"] = "RA"
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="slice_axes"):
        load_models([bad])
