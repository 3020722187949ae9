"""Typed configuration of the Segmenter (the CLI flags map onto these fields)."""

from __future__ import annotations

from dataclasses import dataclass, field

from covidseg.devices import parse_device
from covidseg.inference.engine import PRECISIONS
from covidseg.inference.lung_hu import HULungConfig
from covidseg.inference.postprocess import LesionFilterConfig
from covidseg.models.pretrained import MAX_BATCH_SIZE, MAX_INPUT_SIZE
from covidseg.quantify import SeverityConfig

#: The masks a Segmenter can produce (``SegmenterConfig.tasks``, ``covidseg predict --tasks``);
#: not the network tasks of :data:`covidseg.tasks.TASKS` (what one model learns).
OUTPUTS = ("lung", "lesion", "classes")
LUNG_METHODS = ("auto", "hu", "model", "union")


@dataclass(frozen=True)
class SegmenterConfig:
    """How a case is segmented and measured.

    tasks: masks to produce (any of ``lung``, ``lesion``, ``classes``). The lung is always
        computed when possible, because lesions only count inside it.
    lung_method: ``auto`` (HU input: classical HU segmentation, widened by adjacent lesions;
        other images: the network), ``hu`` (classical only, HU input required), ``model``
        (network only), ``union`` (classical plus the network's lung near it).
    device, batch_size, threads: where and how the networks run (``threads`` None: torch default;
        ``device`` any name of :func:`covidseg.devices.parse_device`, ``auto`` resolved here).
    inference_size: side of the square the networks see (None: each model's ``input_size``);
        smaller is faster, larger is finer.
    hu_window: HU (low, high) mapped linearly onto [0, 1] for every network; None (default):
        each model's own window, stored in its metadata by ``covidseg train``
        (``covidseg.io.model_window``; models without it: -1100 .. 250 HU, the window matched
        to the COVID-SemiSeg training images).
    min_lesion_mm3 / min_lesion_mm2 / min_lesion_px: lesion components smaller than this are
        removed (volumes with spacing / slices with spacing / no spacing known).
    lesion_reach_mm: how far (in-plane) outside the HU lung a lesion may extend the lung.
    keep_probabilities: keep uint8 probability maps in the result (memory: 1 byte per voxel
        per map).
    refine_crop, refine_below: for plain images, if the lungs found in a first pass fill less
        than ``refine_below`` of the image area, run again on the lung box (the training
        images are crops around the lungs; a whole 512x512 slice is not).
    tta: test-time augmentation: average each network's probabilities with those of the
        left-right mirrored slice (twice the network time).
    lesion_filters: removal of vessels marked GGO and of dependent-lung bands marked lesion,
        on HU input only (:class:`~covidseg.inference.postprocess.LesionFilterConfig`;
        ``LesionFilterConfig(vessels=False, dependent=False)`` turns both off).
    severity: grade thresholds and the noise floor (:class:`~covidseg.quantify.SeverityConfig`).
    precision: network arithmetic: ``fp32``, ``bf16`` (bfloat16 autocast), or ``auto`` (bf16
        on CPUs with native bfloat16 support, fp32 elsewhere).
    """

    tasks: tuple[str, ...] = OUTPUTS
    lung_method: str = "auto"
    device: str = "cpu"
    batch_size: int = 8
    threads: int | None = None
    inference_size: int | None = None
    hu_window: tuple[float, float] | None = None
    min_lesion_mm3: float = 10.0
    min_lesion_mm2: float = 5.0
    min_lesion_px: int = 10
    lesion_reach_mm: float = 10.0
    keep_probabilities: bool = True
    precision: str = "auto"
    tta: bool = False
    refine_crop: bool = True
    refine_below: float = 0.6
    hu_lung: HULungConfig = field(default_factory=HULungConfig)
    lesion_filters: LesionFilterConfig = field(default_factory=LesionFilterConfig)
    severity: SeverityConfig = field(default_factory=SeverityConfig)

    def __post_init__(self) -> None:
        tasks = tuple(self.tasks)
        if not tasks or any(t not in OUTPUTS for t in tasks):
            raise ValueError(f"tasks must be a non-empty subset of {OUTPUTS}, got {tasks!r}")
        object.__setattr__(self, "tasks", tuple(t for t in OUTPUTS if t in tasks))
        if self.lung_method not in LUNG_METHODS:
            raise ValueError(f"lung_method must be one of {LUNG_METHODS}, got {self.lung_method!r}")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be in 1..{MAX_BATCH_SIZE}, got {self.batch_size!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads!r}")
        if self.inference_size is not None and not 16 <= self.inference_size <= MAX_INPUT_SIZE:
            raise ValueError(f"inference_size must be in 16..{MAX_INPUT_SIZE}, got {self.inference_size!r}")
        if self.hu_window is not None:
            lo, hi = self.hu_window
            if not hi > lo:
                raise ValueError(f"hu_window must be (low, high) with high > low, got {self.hu_window!r}")
        for name in ("min_lesion_mm3", "min_lesion_mm2", "min_lesion_px", "lesion_reach_mm"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0.0 < self.refine_below <= 1.0:
            raise ValueError(f"refine_below must be in (0, 1], got {self.refine_below!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        # "auto" becomes the device it picks, so reports and the engine see a real one
        object.__setattr__(self, "device", parse_device(self.device, resolve_auto=True))
