"""The Python API: model discovery/assignment, separate vs combined models, result contents."""

import json

import numpy as np
import pytest

from covidseg.errors import ModelError
from covidseg.inference import Segmenter
from covidseg.inference.loading import assign, discover, load_models


def test_separate_models_from_a_folder_of_folders(tiny_separate, semiseg):
    seg = Segmenter(tiny_separate)
    assert {k: m.task for k, m in seg.assignment.items()} == {"lung": "lung", "lesion": "lesion", "classes": "classes"}
    src = sorted((semiseg / "test" / "images").glob("*.jpg"))[0]
    pred = seg.predict(src)
    assert pred.lung.shape == pred.lesion.shape == pred.image.shape
    assert not (pred.lesion & ~pred.lung).any()  # lesions only inside the lung
    assert set(np.unique(pred.classes)) <= {0, 1, 2}
    assert ((pred.classes > 0) == pred.lesion).all()
    assert set(pred.probabilities) == {"lung", "lesion", "ggo", "consolidation"}
    assert all(p.dtype == np.uint8 and p.shape == pred.image.shape for p in pred.probabilities.values())
    assert len(pred.models) == 3 and pred.lung_source == "model"


def test_one_all_model_gives_everything(tiny_all):
    seg = Segmenter(tiny_all)
    assert {m.task for m in seg.assignment.values()} == {"all"} and len(seg.models) == 1


def test_predict_accepts_ctimage_and_keeps_probabilities_optional(tiny_all, ct_examples):
    from covidseg.io import read_image

    img = read_image(ct_examples / "cip-ct64.nii.gz")
    pred = Segmenter(tiny_all, keep_probabilities=False, batch_size=3).predict(img)
    assert pred.probabilities == {} and pred.lung.shape == img.shape
    assert pred.measurements.severity.zone_total is not None
    report = pred.report()
    json.dumps(report)  # serialisable
    assert report["input"]["spacing_mm"] == pytest.approx(list(img.spacing))


def test_progress_callback_reaches_total(tiny_all, ct_examples):
    seen = []
    Segmenter(tiny_all, batch_size=16).predict(ct_examples / "cip-ct64.nii.gz", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] and all(b[0] > a[0] for a, b in zip(seen, seen[1:]))


@pytest.mark.parametrize(
    "meta, message",
    [({"task": "liver"}, "task"), ({"task": "all", "labels": ["a", "b"]}, "labels"),
     ({"task": "lesion", "threshold": 1.5}, "threshold"), ({"task": "lesion", "activation": "relu"}, "activation")],
)
def test_bad_metadata_is_a_model_error(tmp_path, meta, message, make_tiny):
    task = meta["task"] if meta["task"] in ("all", "lesion") else "lesion"
    folder = make_tiny(tmp_path / "m", task)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["metadata"].update(meta)
    if "labels" not in meta and meta["task"] == "liver":
        cfg["metadata"].pop("labels")
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match=message):
        load_models(discover(folder))


def test_missing_output_and_duplicate_task(tmp_path, make_tiny):
    lung = load_models([make_tiny(tmp_path / "lung", "lung")])
    with pytest.raises(ModelError, match="no model predicts 'lesion'"):
        assign(lung, {"lesion"})
    two = load_models([make_tiny(tmp_path / "a", "lesion"), make_tiny(tmp_path / "b", "lesion", seed=1)])
    with pytest.raises(ModelError, match="two models"):
        assign(two, {"lesion"})


def test_not_a_model_folder(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        discover(tmp_path)
    with pytest.raises(ModelError, match="does not exist"):
        discover(tmp_path / "nope")


def test_lung_only_on_plain_image_needs_a_model(semiseg):
    src = sorted((semiseg / "test" / "images").glob("*.jpg"))[0]
    with pytest.raises(Exception, match="HU|Hounsfield"):
        Segmenter(tasks=("lung",), lung_method="hu").predict(src)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_precision_is_applied_and_reported(tiny_all, ct_examples, precision):
    pred = Segmenter(tiny_all, precision=precision).predict(ct_examples / "cip-ct64.nii.gz")
    assert pred.precision == precision and pred.report()["precision"] == precision


def test_bad_config_values_name_the_field():
    from covidseg.inference import SegmenterConfig

    for kwargs, name in [({"tasks": ("liver",)}, "tasks"), ({"precision": "int4"}, "precision"),
                         ({"lung_method": "magic"}, "lung_method"), ({"hu_window": (10.0, -10.0)}, "hu_window"),
                         ({"min_lesion_mm3": -1.0}, "min_lesion_mm3"), ({"inference_size": 8}, "inference_size")]:
        with pytest.raises(ValueError, match=name):
            SegmenterConfig(**kwargs)


def test_whole_slice_images_are_rerun_on_the_lung_box(tmp_path, semiseg, make_tiny, monkeypatch):
    """A small training crop pasted into a big black canvas: the first pass finds the lungs,
    the second pass sees only their box."""
    from PIL import Image

    from covidseg.inference import segmenter as S

    src = sorted((semiseg / "test" / "images").glob("*.jpg"))[0]
    crop = np.asarray(Image.open(src).convert("L"))
    canvas = np.zeros((crop.shape[0] * 3, crop.shape[1] * 3), np.uint8)
    canvas[crop.shape[0]:2 * crop.shape[0], crop.shape[1]:2 * crop.shape[1]] = crop
    path = tmp_path / "whole.png"
    Image.fromarray(canvas).save(path)
    seg = Segmenter(make_tiny(tmp_path / "m", "all"))
    boxes = []
    original = seg.runner.run

    def spy(images, indices, box, progress=None, **kw):
        boxes.append(box)
        return original(images, indices, box, progress, **kw)

    monkeypatch.setattr(seg.runner, "run", spy)
    # Pretend the first pass found lungs exactly in the pasted crop.
    monkeypatch.setattr(S.Segmenter, "_refined_box",
                        lambda self, probs, box: S.Box(crop.shape[0], 2 * crop.shape[0], crop.shape[1], 2 * crop.shape[1]))
    monkeypatch.setattr(S, "clean_lung", lambda m: np.ones_like(m))
    pred = seg.predict(path)
    assert len(boxes) == 2 and boxes[0] == S.Box.full(canvas.shape)
    assert boxes[1] == S.Box(crop.shape[0], 2 * crop.shape[0], crop.shape[1], 2 * crop.shape[1])
    assert pred.probabilities["lesion"][: crop.shape[0]].max() == 0  # outside the box: nothing


def test_refined_box_only_when_lungs_are_small(tiny_all):
    from covidseg.inference.engine import Box

    seg = Segmenter(tiny_all)
    probs = {"lung": np.zeros((1, 100, 100), np.uint8)}
    probs["lung"][0, 40:60, 20:45] = 255
    probs["lung"][0, 40:60, 55:80] = 255
    small = seg._refined_box(probs, Box.full((100, 100)))
    assert small is not None and small.y0 <= 40 and small.y1 >= 60 and small.x0 <= 20 and small.x1 >= 80
    probs["lung"][0, 2:98, 2:98] = 255
    assert seg._refined_box(probs, Box.full((100, 100))) is None


def test_lung_only_runs_without_weights_on_hu_but_not_on_images(tmp_path, ct_examples, semiseg, monkeypatch):
    from covidseg.errors import InputError
    from covidseg.inference import loading

    monkeypatch.setattr(loading, "WEIGHTS_DIR", tmp_path / "no-weights")
    seg = Segmenter(tasks=("lung",))
    assert seg.models == [] and seg.runner is None
    assert seg.predict(ct_examples / "cip-ct64.nii.gz").lung.any()
    with pytest.raises(InputError, match="lung model"):
        seg.predict(sorted((semiseg / "test" / "images").glob("*.jpg"))[0])


def test_progress_callback_can_cancel(tiny_all, ct_examples):
    class Cancelled(Exception):
        pass

    def cancel(done, total):
        raise Cancelled

    with pytest.raises(Cancelled):
        Segmenter(tiny_all, batch_size=4).predict(ct_examples / "cip-ct64.nii.gz", progress=cancel)


def test_report_names_the_dicom_series(tiny_all, ct_examples):
    import pydicom

    src = ct_examples / "cip-ct64-dicom"
    uid = pydicom.dcmread(src / "IMG0001.dcm", stop_before_pixels=True).SeriesInstanceUID
    report = Segmenter(tiny_all, keep_probabilities=False).predict(src).report()
    assert report["input"]["series_instance_uid"] == uid


def test_mirror_tta_averages_both_orientations(tiny_all):
    """--tta: each channel is the mean of the plain and the mirrored (then unmirrored) prediction."""
    from covidseg.inference.engine import Box

    plain = Segmenter(tiny_all, precision="fp32").runner
    tta = Segmenter(tiny_all, precision="fp32", tta=True).runner
    rng = np.random.default_rng(0)
    slices = [rng.random((40, 56), dtype=np.float32) for _ in range(3)]
    box = Box.full((40, 56))
    a = dict(plain.run(lambda i: slices[i], [0, 1, 2], box))
    m = dict(plain.run(lambda i: np.ascontiguousarray(slices[i][:, ::-1]), [0, 1, 2], box))
    t = dict(tta.run(lambda i: slices[i], [0, 1, 2], box))
    for i in range(3):
        for c in a[i]:
            expected = (a[i][c] + m[i][c][:, ::-1]) / 2
            np.testing.assert_allclose(t[i][c], expected, atol=1e-6)
    # a random net is not mirror-symmetric, so the check above is not vacuous
    assert max(np.abs(a[i][c] - t[i][c]).max() for i in a for c in a[i]) > 1e-4


def test_tta_is_a_setting_that_resume_compares(tiny_all):
    from covidseg.inference.config import SegmenterConfig
    from covidseg.batch.case import run_settings

    assert run_settings(SegmenterConfig(tta=True), "fp32", dicom_seg=False, pictures=True, include_phi=False)["tta"]
