"""Out of memory in the networks: the slice batch is halved down to one, then a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from covidseg.inference import InferenceMemoryError, Segmenter
from covidseg.inference.engine import is_out_of_memory

OOM_ERRORS = {
    "cpu-allocator": lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate "
                                          "memory: you tried to allocate 34359738368 bytes."),
    "cuda": lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    "python": MemoryError,
}


def _limit_batches(seg: Segmenter, limit: int, make_error) -> list[int]:
    """Make the network fail on batches of more than ``limit`` slices; returns the sizes tried."""
    seen: list[int] = []
    module = seg.models[0].module
    forward = module.forward

    def limited(x):
        seen.append(int(x.shape[0]))
        if x.shape[0] > limit:
            raise make_error()
        return forward(x)

    module.forward = limited
    return seen


@pytest.fixture(scope="module")
def volume(ct_examples):
    from covidseg.io import read_image

    return read_image(ct_examples / "cip-ct64.nii.gz")


@pytest.fixture(scope="module")
def reference(tiny_all, volume):
    return Segmenter(tiny_all, batch_size=1, precision="fp32").predict(volume)


@pytest.mark.parametrize("kind, batch, limit, sizes", [("cpu-allocator", 8, 3, [8, 4, 2]), ("cuda", 5, 1, [5, 2, 1]),
                                                       ("python", 8, 3, [8, 4, 2])])
def test_batch_is_halved_until_it_fits(tiny_all, volume, reference, kind, batch, limit, sizes, caplog):
    seg = Segmenter(tiny_all, batch_size=batch, precision="fp32")
    seen = _limit_batches(seg, limit, OOM_ERRORS[kind])
    pred = seg.predict(volume)
    assert seen[:len(sizes)] == sizes and max(seen[len(sizes):]) <= sizes[-1]
    assert seg.runner.batch_size == sizes[-1]  # kept for the next cases
    assert "retrying with --batch-size" in caplog.text
    for name in ("lung", "lesion", "classes"):
        a, b = getattr(pred, name), getattr(reference, name)
        assert (a == b).mean() > 0.999  # the same result whatever the batch size
    for c, p in pred.probabilities.items():
        assert np.abs(p.astype(int) - reference.probabilities[c]).max() <= 1


@pytest.mark.parametrize("kind", sorted(OOM_ERRORS))
def test_out_of_memory_on_one_slice_is_a_clear_error(tiny_all, volume, kind):
    seg = Segmenter(tiny_all, batch_size=4)
    seen = _limit_batches(seg, 0, OOM_ERRORS[kind])
    with pytest.raises(InferenceMemoryError) as info:
        seg.predict(volume)
    assert seen == [4, 2, 1]
    assert info.value.path == str(volume.source)
    assert "one slice at a time" in info.value.reason and "more memory" in info.value.reason


def test_other_runtime_errors_are_not_retried(tiny_all, volume):
    seg = Segmenter(tiny_all, batch_size=4)
    seen = _limit_batches(seg, 0, lambda: RuntimeError("Given groups=1, weight of size [4, 1, 3, 3]"))
    with pytest.raises(RuntimeError, match="groups=1"):
        seg.predict(volume)
    assert seen == [4]


@pytest.mark.parametrize("exc, expected", [
    (MemoryError(), True), (RuntimeError("CUDA out of memory"), True),
    (RuntimeError("DefaultCPUAllocator: can't allocate memory"), True), (RuntimeError("size mismatch"), False),
    (ValueError("out of memory"), False),
])
def test_is_out_of_memory(exc, expected):
    assert is_out_of_memory(exc) is expected


def test_cli_reports_out_of_memory_on_one_line(tiny_all, ct_examples, tmp_path, monkeypatch, capsys):
    from covidseg.cli import main
    from covidseg.inference import segmenter

    real = segmenter.Segmenter.__init__

    def patched(self, *a, **kw):
        real(self, *a, **kw)
        _limit_batches(self, 0, OOM_ERRORS["cpu-allocator"])

    monkeypatch.setattr(segmenter.Segmenter, "__init__", patched)
    src = ct_examples / "cip-ct64.nii.gz"
    assert main(["predict", "-q", str(src), "-o", str(tmp_path / "out"), "--model", str(tiny_all)]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("covidseg: error:")]
    assert len(lines) == 1 and lines[0].startswith(f"covidseg: error: {src}: out of memory")
    assert "--inference-size" in lines[0] and not (tmp_path / "out" / "cip-ct64").exists()
