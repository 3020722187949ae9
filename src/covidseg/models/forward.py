"""Running a network on a batch: the one forward pass of training validation, evaluate and predict.

``covidseg train`` (validation), ``covidseg evaluate`` and ``covidseg predict`` (the
Segmenter's engine) resize their inputs differently (training size, the image's own size, a
crop around the lung), but they run the network the same way: this function. It owns mixed
precision, the memory format, float32 logits, the activation and the left-right mirror
averaging, so a change to any of those reaches all three.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def probabilities(net: torch.nn.Module, x: torch.Tensor, activation: str, *, amp_dtype: torch.dtype | None = None,
                  channels_last: bool = True, tta: bool = False, size: tuple[int, int] | None = None,
                  ) -> torch.Tensor:
    """``net``'s probabilities for ``x`` (B, C_in, H, W), in float32.

    ``activation``: "sigmoid" or "softmax" (over channels). ``amp_dtype``: autocast dtype
    (e.g. ``torch.bfloat16``), None for full precision. ``size``: upsample the logits
    bilinearly to this (H, W) before the activation (evaluate scores at the image's size).
    ``tta``: mean with the prediction for the left-right mirrored batch (the only flip seen
    in training). Call under ``torch.no_grad()``/``inference_mode()``.
    """
    if activation not in ("sigmoid", "softmax"):
        raise ValueError(f"activation must be 'sigmoid' or 'softmax', got {activation!r}")
    act: Callable[[torch.Tensor], torch.Tensor] = torch.sigmoid if activation == "sigmoid" else (
        lambda t: torch.softmax(t, 1))

    def once(inp: torch.Tensor) -> torch.Tensor:
        if channels_last:
            inp = inp.contiguous(memory_format=torch.channels_last)
        with torch.autocast(inp.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            logits = net(inp)
        logits = logits.float()
        if size is not None and tuple(logits.shape[-2:]) != tuple(size):
            logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)
        return act(logits)

    p = once(x)
    if tta:
        p = (p + once(x.flip(-1)).flip(-1)) / 2
    return p
