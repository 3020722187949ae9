"""One intensity pipeline (issue 14.3): a model trained on NIfTI HU slices records its HU
window in config.json, and predict feeds it exactly the grey levels training did."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from covidseg.io import MODEL_WINDOW, WINDOW_KEY, Window, model_window, to_unit
from covidseg.training import TrainConfig, Trainer

SIDE, DEPTH = 32, 4  # slices of the training size: predict then resizes nothing


def _volume(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HU volume (x, y, z) spanning air .. bone, with a lung region and a lesion in it."""
    hu = rng.uniform(-1250.0, 400.0, (SIDE, SIDE, DEPTH)).astype(np.float32)
    lung = np.zeros(hu.shape, np.uint8)
    lung[4:28, 6:26, :] = 1
    hu[lung > 0] = rng.uniform(-950.0, -700.0, int(lung.sum()))
    classes = np.zeros(hu.shape, np.uint8)
    classes[8:14, 10:16, :] = 1
    classes[18:22, 12:18, 1:] = 2
    hu[classes == 1] = -450.0
    hu[classes == 2] = 30.0
    return hu, classes, lung


@pytest.fixture(scope="module")
def nifti_split(tmp_path_factory):
    """A NIfTI training folder: images/ in HU, classes/, infection/, lung/ label volumes."""
    root = tmp_path_factory.mktemp("nifti") / "train"
    for kind in ("images", "classes", "infection", "lung"):
        (root / kind).mkdir(parents=True)
    rng = np.random.default_rng(7)
    affine = np.diag([0.8, 0.8, 5.0, 1.0])
    for i in range(3):
        hu, classes, lung = _volume(rng)
        nib.save(nib.Nifti1Image(hu, affine), root / "images" / f"case{i}.nii.gz")
        nib.save(nib.Nifti1Image(classes, affine), root / "classes" / f"case{i}.nii.gz")
        nib.save(nib.Nifti1Image((classes > 0).astype(np.uint8), affine), root / "infection" / f"case{i}.nii.gz")
        nib.save(nib.Nifti1Image(lung, affine), root / "lung" / f"case{i}.nii.gz")
    return root


def _train(split, out, **kw) -> Trainer:
    cfg = TrainConfig(task="all", data=str(split), out=str(out), epochs=1, steps_per_epoch=2, base_channels=4,
                      depth=2, input_size=SIDE, batch_size=2, val_count=2, threads=1, log_every=1000,
                      augment={"enabled": False}, **kw)
    trainer = Trainer(cfg, verbose=False)
    trainer.fit()
    return trainer


def _network_inputs(model_dir, volume_path) -> np.ndarray:
    """What predict feeds the network for each slice of ``volume_path`` (a forward hook)."""
    from covidseg.inference import Segmenter

    seg = Segmenter(model_dir, lung_method="model", precision="fp32")  # every slice, uncropped
    seen: list[np.ndarray] = []
    handle = seg.models[0].module.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].detach().float().cpu().numpy().copy()))
    try:
        seg.predict(volume_path)
    finally:
        handle.remove()
    return np.concatenate(seen)[:, 0]


@pytest.mark.parametrize("window", [None, [-1000.0, 0.0]], ids=["default-window", "custom-window"])
def test_predict_feeds_the_grey_levels_training_saw(nifti_split, tmp_path, window):
    trainer = _train(nifti_split, tmp_path / "run", **({} if window is None else {"hu_window": window}))
    model_dir = trainer.run_dir / "model"
    meta = json.loads((model_dir / "config.json").read_text())["metadata"]
    expected = MODEL_WINDOW if window is None else Window.from_range(*window)
    assert meta[WINDOW_KEY] == [expected.lower, expected.upper]
    from covidseg.inference.loading import discover, load_models

    assert load_models(discover(model_dir))[0].describe()["hu_window"] == meta[WINDOW_KEY]  # into report.json

    train_set = trainer.train_set
    fed = {i: _network_inputs(model_dir, nifti_split / "images" / f"case{i}.nii.gz") for i in range(3)}
    compared = 0
    for name, grey in zip(train_set.names, train_set.images):
        stem, z = name.rsplit("_z", 1)
        seen = fed[int(stem.removeprefix("case"))][int(z)]
        # Training stores 8-bit grey: equal up to that rounding (half a grey level).
        np.testing.assert_allclose(seen, grey.astype(np.float32) / 255.0, atol=0.5 / 255 + 1e-6, rtol=0)
        compared += 1
    assert compared == len(train_set.names) >= DEPTH
    # The two windows differ enough for the comparison to tell them apart.
    hu = nib.load(nifti_split / "images" / "case0.nii.gz").get_fdata().astype(np.float32)
    other = Window.from_range(-1350.0, 150.0)
    assert np.abs(to_unit(hu, True, expected) - to_unit(hu, True, other)).max() > 0.1


def test_models_without_the_key_get_the_calibrated_window():
    from covidseg.inference.loading import load_models, shipped_models

    shipped = load_models(shipped_models())
    assert model_window({}) == model_window(None) == MODEL_WINDOW  # models saved before the key existed
    assert all(m.hu_window == MODEL_WINDOW for m in shipped)
    assert (MODEL_WINDOW.lower, MODEL_WINDOW.upper) == (-1100.0, 250.0)
    assert model_window({WINDOW_KEY: [-1000, 200]}) == Window.from_range(-1000.0, 200.0)
    for bad in ([0, 0], [100, -100], "wide", [1, 2, 3]):
        with pytest.raises(ValueError, match=WINDOW_KEY):
            model_window({WINDOW_KEY: bad})


def test_a_bad_window_in_the_training_config_is_refused(nifti_split, tmp_path):
    from covidseg.errors import ConfigError

    with pytest.raises(ConfigError, match="hu_window"):
        TrainConfig(task="all", data=str(nifti_split), out=str(tmp_path / "r"), hu_window=[250.0, -1100.0])


@pytest.mark.slow  # the whole 64-slice volume twice: ~40 s on an idle 2-core CPU
def test_shipped_model_masks_on_cip_ct64_are_unchanged(ct_examples, monkeypatch):
    """The shipped weights have no window key: predict still maps HU through -1100 .. 250
    (the window every shipped number was measured with), so their masks do not change."""
    from covidseg.inference import Segmenter
    from covidseg.inference.engine import Runner
    from covidseg.io import read_image

    img = read_image(ct_examples / "cip-ct64.nii.gz")
    fed: dict[int, np.ndarray] = {}
    run = Runner.run

    def recording_run(self, images, indices, box, progress=None, **kw):
        fed.update({i: images(i) for i in indices[:3]})
        return run(self, images, indices, box, progress, **kw)

    monkeypatch.setattr(Runner, "run", recording_run)
    new = Segmenter(precision="fp32").predict(img)
    assert fed  # the lesion network ran
    for i, unit in fed.items():  # the pre-change formula, written out independently
        legacy = np.clip((img.array[i].astype(np.float32) + np.float32(1100)) * np.float32(1 / 1350), 0, 1)
        np.testing.assert_array_equal(unit, legacy)
    monkeypatch.setattr(Runner, "run", run)
    legacy = Segmenter(precision="fp32", hu_window=(-1100.0, 250.0)).predict(img)
    assert new.lesion.any() and new.lung.any()
    for name in ("lung", "lesion", "classes"):
        np.testing.assert_array_equal(getattr(new, name), getattr(legacy, name), err_msg=name)


def test_models_with_different_windows_each_get_their_own(tmp_path):
    """A lung model and a lesion model trained with different HU windows run together: each
    network sees the volume through its own stored window."""
    import torch

    from covidseg.inference import Segmenter
    from covidseg.io import read_image
    from covidseg.io.slice_axes import display_to_model
    from covidseg.models import MAUNet, MAUNetConfig

    windows = {"lung": [-1000.0, 0.0], "lesion": [-1100.0, 250.0]}
    for k, (task, w) in enumerate(windows.items()):
        torch.manual_seed(k)
        MAUNet(MAUNetConfig(num_classes=1, base_channels=4, depth=2, cbam_reduction=2)).save_pretrained(
            tmp_path / "models" / task, metadata={"task": task, "labels": ["background", task if task == "lung"
                                                  else "infection"], "activation": "sigmoid",
                                                  "input_size": SIDE, "threshold": 0.5, WINDOW_KEY: w})
    hu, _, _ = _volume(np.random.default_rng(3))
    nib.save(nib.Nifti1Image(hu, np.diag([0.8, 0.8, 5.0, 1.0])), tmp_path / "ct.nii.gz")
    seg = Segmenter(tmp_path / "models", tasks=("lung", "lesion"), lung_method="model", precision="fp32")
    seen: dict[str, list[np.ndarray]] = {}
    for m in seg.models:
        m.module.register_forward_pre_hook(
            lambda module, args, task=m.task: seen.setdefault(task, []).append(args[0].numpy().copy()))
    seg.predict(tmp_path / "ct.nii.gz")
    volume = read_image(tmp_path / "ct.nii.gz").array
    for task, w in windows.items():
        # each through its own window, in the axes of its training slices (io.slice_axes)
        np.testing.assert_array_equal(np.concatenate(seen[task])[:, 0],
                                      display_to_model(to_unit(volume, True, Window.from_range(*w))))
