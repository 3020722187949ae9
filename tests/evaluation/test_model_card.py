"""The default model's card (docs/models.md) states what `covidseg evaluate` measures today.

Every row of the default model's test table is re-measured on the 48 COVID-SemiSeg test
slices with the shipped weights and must agree to the card's three decimals. The protocol
cell names the protocol: "published ..." (raw network map), "binary ..." (the masks
``covidseg predict`` writes), "raw network binary ..." (the network thresholded without
post-processing), "published, calibrated ..." (the published protocol on the map sharpened by
the model's out-of-fold temperature, which changes no mask); an empty cell repeats the row above; "TTA" means mirror test-time
augmentation. The predict path runs in float32, evaluate's default (predict's ``--precision
auto`` picks bfloat16 on CPUs with bf16 units, which moves some numbers by 0.001).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from covidseg.evaluation import evaluate
from covidseg.inference.loading import shipped_models

CARD = Path(__file__).resolve().parents[2] / "docs" / "models.md"
COLUMNS = {
    "published": ("mean_dice", "mean_sensitivity", "mean_specificity", "mean_iou", "s_measure", "mean_e_measure", "mae"),
    "binary": ("dice", "sensitivity", "specificity", "iou", "s_measure", "e_measure", "mae"),
    "binary_raw": ("dice", "sensitivity", "specificity", "iou", "s_measure", "e_measure", "mae"),
}
COLUMNS["published_calibrated"] = COLUMNS["published"]
PRECISION = "fp32"  # evaluate's default: the same numbers on every CPU
# first word(s) of the protocol cell -> EvaluationResult attribute
# (the calibrated row first: its cell also starts with "published")
PROTOCOLS = (("published, calibrated", "published_calibrated"), ("published", "published"), ("binary", "binary"),
             ("raw network binary", "binary_raw"))
TARGETS = {"infection": "infection", "GGO": "ggo", "consolidation": "consolidation", "lung": "lung"}


def card_rows() -> list[tuple[str, bool, str, list[float]]]:
    """(protocol, tta, target, numbers) of the default model's test table."""
    text = CARD.read_text()
    section = re.search(r"^## `[^`]+` \(default\).*?(?=^## |\Z)", text, re.S | re.M)
    assert section, "docs/models.md has no section marked (default)"
    rows = []
    protocol = None
    for line in section.group(0).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 9 or cells[1] not in TARGETS:
            continue
        named = next((attr for prefix, attr in PROTOCOLS if cells[0].startswith(prefix)), None)
        if cells[0] and named is None:
            continue
        protocol = named or protocol
        tta = "TTA" in cells[0] or (not cells[0] and rows and rows[-1][1])
        rows.append((protocol, bool(tta), TARGETS[cells[1]], [float(c) for c in cells[2:]]))
    assert rows, "the default model's card has no test table"
    return rows


@pytest.fixture(scope="module")
def measured(semiseg):
    model = shipped_models()[0]
    cache = {}

    def get(tta: bool):
        if tta not in cache:
            cache[tta] = evaluate(semiseg / "test", model=model, tta=tta, precision=PRECISION)
        return cache[tta]

    return get


def test_card_numbers_are_what_evaluate_prints(measured):
    rows = card_rows()
    for protocol in ("published", "binary", "binary_raw"):
        assert any(p == protocol and t == "infection" and not tta for p, tta, t, _ in rows), protocol
    for protocol, tta, target, numbers in rows:
        res = measured(tta)
        mean = getattr(res, protocol)[target]["mean"]
        for key, stated in zip(COLUMNS[protocol], numbers):
            assert round(float(mean[key]), 3) == pytest.approx(stated, abs=1e-9), (protocol, tta, target, key)
