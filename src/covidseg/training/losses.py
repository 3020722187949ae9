"""Dice + cross-entropy with deep-supervision weights and infection-only (pseudo-label) samples."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from covidseg.data.dataset import IGNORE, LESION_ONLY, TEACHER
from covidseg.tasks import LESION_VALUES, get_task


def default_ds_weights(n: int) -> list[float]:
    """1, 1/2, 1/4, ... normalised to sum 1 (coarser outputs count less, as in nnU-Net)."""
    w = [0.5**k for k in range(n)]
    s = sum(w)
    return [x / s for x in w]


class SegLoss(nn.Module):
    """``loss(outputs, label, kind, weight)``.

    - ``outputs``: logits (B, C, H, W) or the deep-supervision list ``[main, aux_1, ...]``;
    - ``label``: (B, 1, H, W) label values of the task; auxiliary targets are the label
      downsampled with nearest neighbour;
    - ``kind``: per sample, FULL, LESION_ONLY (machine labels that only mark infection:
      for softmax tasks their loss is on p(infection) = sum of the infection classes' softmax,
      so no lung / lesion-type supervision is invented) or TEACHER (a teacher's task label
      map whose IGNORE pixels, where it was unsure, add nothing to Dice or cross-entropy);
    - ``weight``: per-sample weight (e.g. 0.5 for pseudo-labels).

    Dice is MONAI's ``DiceLoss`` over the batch (``batch=True``: stable for slices without a
    class); cross-entropy is per pixel. Samples are grouped by (kind, weight), each group's
    loss is scaled by weight × its share of the batch.
    """

    def __init__(self, task: str, *, dice: float = 1.0, ce: float = 1.0, ds_weights: list[float] | None = None):
        super().__init__()
        from monai.losses import DiceLoss

        self.spec = get_task(task)
        self.sigmoid = self.spec.activation == "sigmoid"
        self.w_dice, self.w_ce = float(dice), float(ce)
        self.ds_weights = ds_weights
        if self.sigmoid:
            self.dice = DiceLoss(sigmoid=True, batch=True)
        else:
            # Background left out of Dice: it is large and easy, and would dilute the classes.
            self.dice = DiceLoss(softmax=True, to_onehot_y=True, include_background=False, batch=True)
        self.dice_prob = DiceLoss(batch=True)  # on p(infection) for infection-only samples
        self.infection = list(LESION_VALUES.get(self.spec.name, ()))

    def forward(self, outputs, label: torch.Tensor, kind: torch.Tensor | None = None, weight: torch.Tensor | None = None):
        outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        dsw = self.ds_weights or default_ds_weights(len(outs))
        if len(dsw) < len(outs):
            raise ValueError(f"ds_weights has {len(dsw)} entries for {len(outs)} outputs")
        b = label.shape[0]
        kind = torch.zeros(b, dtype=torch.long) if kind is None else kind.to("cpu")
        weight = torch.ones(b) if weight is None else weight.to("cpu", torch.float32)
        groups: dict[tuple[int, float], list[int]] = {}
        for i in range(b):
            groups.setdefault((int(kind[i]), float(weight[i])), []).append(i)
        total = outs[0].new_zeros((), dtype=torch.float32)
        for k, (out, w_ds) in enumerate(zip(outs, dsw)):
            if w_ds == 0:
                continue
            out = out.float()
            target = label if out.shape[-2:] == label.shape[-2:] else F.interpolate(label, size=out.shape[-2:], mode="nearest")
            for (g_kind, g_w), idx in groups.items():
                if g_w == 0:
                    continue
                sel = torch.as_tensor(idx, device=out.device)
                o, t = out.index_select(0, sel), target.index_select(0, sel)
                if g_kind == TEACHER:
                    term = self._masked(o, t)
                elif g_kind == LESION_ONLY and not self.sigmoid:
                    term = self._lesion_only(o, t)
                else:
                    term = self._full(o, t)
                total = total + w_ds * g_w * (len(idx) / b) * term
        return total

    def _full(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = logits.new_zeros(())
        if self.sigmoid:
            if self.w_dice:
                loss = loss + self.w_dice * self.dice(logits, target)
            if self.w_ce:
                loss = loss + self.w_ce * F.binary_cross_entropy_with_logits(logits, target)
        else:
            if self.w_dice:
                loss = loss + self.w_dice * self.dice(logits, target)
            if self.w_ce:
                loss = loss + self.w_ce * F.cross_entropy(logits, target[:, 0].long())
        return loss

    def _lesion_only(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # log p(inf) and log p(not inf) from logsumexp: stable where the softmax saturates.
        inf = torch.zeros(logits.shape[1], dtype=torch.bool, device=logits.device)
        inf[self.infection] = True
        lse = torch.logsumexp(logits, 1, keepdim=True)
        log_p = torch.logsumexp(logits[:, inf], 1, keepdim=True) - lse
        log_q = torch.logsumexp(logits[:, ~inf], 1, keepdim=True) - lse
        y = (target > 0).float()  # pseudo label: 1 infection
        loss = logits.new_zeros(())
        if self.w_dice:
            loss = loss + self.w_dice * self.dice_prob(log_p.exp(), y)
        if self.w_ce:
            loss = loss + self.w_ce * -(y * log_p + (1 - y) * log_q).mean()
        return loss

    def _masked(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Dice + cross-entropy over the pixels a teacher labelled (target != IGNORE); the same
        batch Dice as MONAI's (smooth 1e-5, background left out for softmax tasks)."""
        valid = target != IGNORE
        loss = logits.new_zeros(())
        if not bool(valid.any()):
            return loss + logits.sum() * 0.0  # keeps the graph (DDP needs every parameter used)
        v = valid.float()
        t = torch.where(valid, target, torch.zeros_like(target))
        eps = 1e-5
        if self.sigmoid:
            p = torch.sigmoid(logits)
            if self.w_dice:
                inter, denom = (p * t * v).sum(), (p * v).sum() + (t * v).sum()
                loss = loss + self.w_dice * (1 - (2 * inter + eps) / (denom + eps))
            if self.w_ce:
                bce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
                loss = loss + self.w_ce * (bce * v).sum() / v.sum()
            return loss
        n = logits.shape[1]
        if self.w_dice:
            p = torch.softmax(logits, 1)[:, 1:]
            onehot = F.one_hot(t[:, 0].long().clamp_(0, n - 1), n).permute(0, 3, 1, 2)[:, 1:].float()
            dims = (0, 2, 3)
            inter = (p * onehot * v).sum(dims)
            denom = (p * v).sum(dims) + (onehot * v).sum(dims)
            loss = loss + self.w_dice * (1 - (2 * inter + eps) / (denom + eps)).mean()
        if self.w_ce:
            loss = loss + self.w_ce * F.cross_entropy(logits, target[:, 0].long(), ignore_index=IGNORE)
        return loss
