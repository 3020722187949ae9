"""The Segmenter: one case in, masks + probabilities + measurements out.

Used by ``covidseg predict`` and the GUI::

    from covidseg import Segmenter
    seg = Segmenter("path/to/model")          # or Segmenter() for the shipped weights
    result = seg.predict("scan.nii.gz")
    result.measurements.whole.lesion_percent
    result.save("out/scan")
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from covidseg.errors import ConfigError, InputError, ModelError
from covidseg.inference.airless import find_airless_lungs
from covidseg.inference.config import SegmenterConfig
from covidseg.inference.engine import Box, InferenceMemoryError, Runner
from covidseg.io.windowing import MODEL_WINDOW, Window, intensity_range, to_unit
from covidseg.inference.lung_hu import find_lungs_hu, lung_warnings
from covidseg.inference.loading import LoadedModel, assign, discover, load_models, shipped_models
from covidseg.inference.prediction import PredictionData
from covidseg.inference.postprocess import (clean_lung, extend_lung_with_lesions, filter_hu_lesions,
                                            remove_small_components, split_classes)
from covidseg.quantify import measure, split_left_right
from covidseg.quantify.sides import lateral_axis

ProgressFn = Callable[[int, int], None]  # (slices done, slices total)


class Prediction(PredictionData):
    """Everything predicted for one case (:class:`~covidseg.inference.prediction.PredictionData`),
    with the report and the case folder one call away."""

    def report(self) -> dict:
        """The content of report.json (:class:`covidseg.report.model.CaseReport`)."""
        from covidseg.report.model import CaseReport

        return CaseReport.of(self).to_json()

    def save(self, folder: str | os.PathLike, *, dicom_seg: bool = False, pictures: bool = True,
             include_phi: bool = False) -> list[Path]:
        """Write masks, pictures and ``report.json`` into ``folder``; returns the files written.

        The folder appears complete or not at all (written beside it, then renamed); an
        existing case folder is replaced. ``include_phi`` adds the DICOM patient/study
        identifiers to report.json (never anywhere else)."""
        from covidseg.batch.case import save_prediction

        return save_prediction(self, Path(folder), dicom_seg=dicom_seg, pictures=pictures, include_phi=include_phi)


class _Clock:
    def __init__(self):
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(self.timings.get(stage, 0.0) + now - self._t, 4)
        self._t = now


class Segmenter:
    """Segment lung, lesions (and their type) in CT and measure them.

    ``model``: a model folder, a folder of model folders, a list of them, or already loaded
    :class:`~covidseg.inference.loading.LoadedModel` objects; None uses the weights shipped in
    ``covidseg/weights`` (raises :class:`ModelError` when none are shipped). The networks
    needed for ``config.tasks`` are loaded once and reused for every case.
    Keyword arguments override fields of ``config`` (``Segmenter(m, batch_size=4)``).
    """

    def __init__(self, model: str | os.PathLike | Iterable | None = None, config: SegmenterConfig | None = None,
                 **overrides):
        config = config or SegmenterConfig()
        if overrides:
            try:
                config = dataclasses.replace(config, **overrides)
            except TypeError as exc:
                raise ValueError(str(exc)) from None
        self.config = config
        import torch

        if config.threads is not None:
            torch.set_num_threads(config.threads)
        if config.device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device {config.device!r} requested but CUDA is not available")
        wanted = set(config.tasks) - ({"lung"} if config.lung_method == "hu" else set())
        if config.lung_method in ("model", "union"):
            wanted.add("lung")
        # The lung alone needs no network on HU input (classical method): weights are then
        # optional, and only plain images will ask for them.
        lung_only = wanted <= {"lung"} and config.lung_method in ("auto", "hu")
        self.models: list[LoadedModel] = []
        self.assignment: dict[str, LoadedModel] = {}
        if wanted or model is not None:
            if isinstance(model, (list, tuple)) and model and all(isinstance(m, LoadedModel) for m in model):
                loaded = list(model)
            elif model is None and lung_only:
                try:
                    loaded = load_models(shipped_models(), device=config.device)
                except ModelError:
                    loaded = []
            else:
                folders = shipped_models() if model is None else discover(model)
                loaded = load_models(folders, device=config.device)
            # The lung channel is wanted from a model whenever one gives it (non-HU input needs it).
            self.assignment = assign(loaded, wanted | {"lung"})
            if config.lung_method in ("model", "union") and "lung" not in self.assignment:
                raise ModelError(f"lung_method={config.lung_method!r} needs a lung or all model",
                                 loaded[0].path if loaded else None)
            used = {id(m) for m in self.assignment.values()}
            self.models = [m for m in loaded if id(m) in used]
        # channel -> model
        channels: dict[str, LoadedModel] = {}
        if "lung" in self.assignment:
            channels["lung"] = self.assignment["lung"]
        if "lesion" in self.assignment and ({"lesion", "classes"} & set(config.tasks)):
            channels["lesion"] = self.assignment["lesion"]
        if "classes" in config.tasks and "classes" in self.assignment:
            channels["ggo"] = channels["consolidation"] = self.assignment["classes"]
        self.channels = channels
        self.runner = Runner(self.models, channels, device=config.device, batch_size=config.batch_size,
                             size=config.inference_size, precision=config.precision, tta=config.tta) if channels else None

    # ------------------------------------------------------------------ prediction
    def predict(self, source, *, series: str | int | None = None, progress: ProgressFn | None = None,
                spacing=None, hu: bool | None = None, orientation=None) -> Prediction:
        """Segment and measure one case.

        ``source``: a path (anything ``covidseg.io.read_image`` reads), a CTImage, or an
        in-memory volume (like lungmask's ``LMInferer.apply``): a numpy array ``(z, y, x)``
        with ``spacing=(z, y, x)`` in mm (required for a volume; a ``(y, x)`` slice may go
        without), a SimpleITK image or a nibabel image (their own geometry is used). ``hu``:
        True for Hounsfield units, False for a plain grey image, None (default) for the rule
        of the unit-less formats (HU when the minimum is below -200). ``orientation``: the
        patient direction each array axis increases toward (default ``"SPL"``, the layout
        of ``CTImage.array``). See ``covidseg.io.memory``; a bad array raises a one-line
        ``ValueError`` naming the problem.
        """
        clock = _Clock()
        from covidseg.io.memory import image_from_memory, is_in_memory_image

        in_memory = {"spacing": spacing, "hu": hu, "orientation": orientation}
        if is_in_memory_image(source):
            if series is not None:
                raise ValueError("series: only for a DICOM folder, not an in-memory image")
            image = image_from_memory(source, **in_memory)
        else:
            given = [k for k, v in in_memory.items() if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: only for an in-memory array or image, not a "
                                 f"{type(source).__name__}")
            if isinstance(source, (str, os.PathLike)):
                from covidseg.io import read_image

                image = read_image(source, series=series)
            elif hasattr(source, "array") and hasattr(source, "is_hu"):
                image = source  # a CTImage
            else:
                image = image_from_memory(source)  # an unknown type: the TypeError listing what works
        clock.mark("read")
        try:
            return self._predict_image(image, clock, progress)
        except InferenceMemoryError as exc:
            if exc.path is not None:
                raise
            raise InferenceMemoryError(exc.reason, image.source) from None  # name the case

    def _predict_image(self, image, clock: _Clock, progress: ProgressFn | None) -> Prediction:
        cfg = self.config
        array = np.asarray(image.array)
        if array.ndim not in (2, 3) or min(array.shape) < 1:
            raise InputError(f"cannot segment an array of shape {array.shape}", image.source)
        volume = array if array.ndim == 3 else array[None]
        spacing = image.spacing
        orientation = tuple(image.orientation)
        is_hu = bool(image.is_hu)
        if cfg.lung_method == "hu" and not is_hu:
            raise InputError("lung_method='hu' needs CT in Hounsfield units; this input is a plain image",
                             image.source)

        if not is_hu and "lung" not in self.channels:
            raise InputError("a plain image (not HU) needs a trained lung model; pass a model with task "
                             "'lung' or 'all'", image.source)

        # 1. classical lung (HU input)
        lung_hu = found = None
        if is_hu and cfg.lung_method in ("auto", "hu", "union"):
            found = find_lungs_hu(volume if array.ndim == 3 else array, spacing,
                                  top_is_last=orientation[0].upper() == "S", config=cfg.hu_lung)
            lung_hu = found.lung if found.lung.ndim == 3 else found.lung[None]
            clock.mark("lung_hu")
        # 1b. an airless lung carrying air bronchograms is lung (and consolidation, below); added
        # before the networks so that their box frames both lungs as in training
        airless = None
        if lung_hu is not None and array.ndim == 3:
            airless = find_airless_lungs(volume, lung_hu, spacing, orientation, _midline(found, orientation),
                                         cfg.hu_lung.airless)
            if airless.lungs:
                lung_hu = lung_hu | airless.mask
            clock.mark("lung_hu")

        # 2. networks, slice batches inside the lung box (not for a lung the HU method gives)
        probs: dict[str, np.ndarray] = {}
        hu_lung_suffices = lung_hu is not None and cfg.lung_method in ("auto", "hu") and set(self.channels) <= {"lung"}
        if self.runner is not None and not hu_lung_suffices:
            if lung_hu is not None and (lung_hu.any() or cfg.lung_method != "union"):
                # Only slices with lung can hold a counted lesion: the others are skipped.
                indices = np.nonzero(lung_hu.any(axis=(1, 2)))[0].tolist()
                box = Box.of_mask(lung_hu.any(axis=0)) if indices else Box.full(volume.shape)
            else:
                indices, box = list(range(volume.shape[0])), Box.full(volume.shape)
            # 16-bit images: stretch their own range (as covidseg.data.load_folder does in training)
            value_range = None if is_hu else intensity_range(volume)
            probs = {c: np.zeros(volume.shape, np.uint8) for c in self.channels}
            done, total = 0, len(indices)

            def tick(n: int) -> None:
                nonlocal done
                done += n
                if progress is not None:
                    progress(done, total)

            # One intensity pipeline: each network sees HU through the window it was trained
            # with (its metadata), unless the config forces one.
            windows = {id(m): (Window.from_range(*cfg.hu_window) if cfg.hu_window is not None else m.hu_window)
                       for m in self.models}
            to_input = None
            if not is_hu or len(set(windows.values())) <= 1:
                hu_window = next(iter(windows.values()), MODEL_WINDOW)

                def unit_slice(i: int) -> np.ndarray:
                    return to_unit(volume[i], is_hu, hu_window, value_range)
            else:
                def unit_slice(i: int) -> np.ndarray:
                    return volume[i]

                def to_input(crops: np.ndarray, model: LoadedModel) -> np.ndarray:
                    return to_unit(crops, True, windows[id(model)])

            # Volumes, DICOM and arrays are read into radiological display; plain JPG/PNG slices
            # are taken as stored, like the benchmark slices the networks were trained on.
            display = image.kind not in ("image", "slices")
            run_kw = {"display": display} if to_input is None else {"to_input": to_input, "display": display}
            for i, channel_probs in self.runner.run(unit_slice, indices, box, tick, **run_kw):
                for c, p in channel_probs.items():
                    probs[c][i][box.slices] = np.rint(p * 255.0).astype(np.uint8)
            refined = self._refined_box(probs, box) if lung_hu is None and cfg.refine_crop else None
            if refined is not None:
                # Whole slices given as plain images: run again on the lung box, the framing of
                # the training crops (the first pass found where the lungs are).
                rows = np.nonzero(probs["lung"][:, refined.slices[0], refined.slices[1]].max(axis=(1, 2)) >= 128)[0]
                done, total = 0, len(rows)
                for c in probs:
                    probs[c][:] = 0
                for i, channel_probs in self.runner.run(unit_slice, rows.tolist(), refined, tick, **run_kw):
                    for c, p in channel_probs.items():
                        probs[c][i][refined.slices] = np.rint(p * 255.0).astype(np.uint8)
            clock.mark("network")

        # 3. post-processing
        lung, lung_source = self._lung(lung_hu, probs)
        lesion = classes = lesion_filtered = None
        if "lesion" in probs:
            threshold = self.channels["lesion"].threshold
            lesion = probs["lesion"] >= np.uint8(min(255, max(1, round(threshold * 255))))
            if lung is not None:
                reach = 0
                if lung_source.startswith("hu") and cfg.lung_method == "auto" and spacing is not None:
                    reach = int(round(cfg.lesion_reach_mm / float(spacing[-1])))
                if is_hu and spacing is not None and (cfg.lesion_filters.vessels or cfg.lesion_filters.dependent):
                    # judged before the lung is widened by lesions, so a removed band widens nothing
                    candidates = lesion & extend_lung_with_lesions(lung, lesion, reach)
                    lesion, lesion_filtered = self._filter_hu(volume, candidates, lung, spacing, orientation,
                                                              array.ndim)
                extended = extend_lung_with_lesions(lung, lesion, reach)
                if extended.sum() > lung.sum():
                    lung, lung_source = extended, "hu+lesion"
                lesion &= lung
            airless_lesion = airless.mask if airless is not None and airless.lungs and lung_source.startswith("hu") \
                else None
            if airless_lesion is not None:
                lesion |= airless_lesion  # the whole airless lung is consolidation, whatever the network saw
            lesion = remove_small_components(lesion, self._min_lesion_voxels(spacing, array.ndim))
            if "classes" in cfg.tasks:
                classes = split_classes(lesion, probs.get("ggo"), probs.get("consolidation"))
                if airless_lesion is not None:
                    classes[airless_lesion] = 2
        clock.mark("postprocess")

        # 4. measurements (in the input's own array shape)
        squeeze = (lambda a: a) if array.ndim == 3 else (lambda a: None if a is None else a[0])
        lung, lesion, classes = squeeze(lung), squeeze(lesion), squeeze(classes)
        sides = None
        midline = _midline(found, orientation)
        lung_for_measure = lung if lung is not None else np.zeros(array.shape, bool)
        try:
            sides = split_left_right(lung_for_measure, orientation, midline=midline)
        except ValueError:
            sides = None
        measurements = measure(lung_for_measure, lesion if lesion is not None else np.zeros(array.shape, bool),
                               classes, spacing=spacing, orientation=orientation, sides=sides,
                               severity=cfg.severity)
        warnings = lung_warnings(lung_for_measure, sides, spacing, orientation,
                                 fov_cut_slices=found.fov_cut_slices if found is not None else 0)
        if airless is not None and lung_source.startswith("hu"):
            warnings += airless.warnings()
        clock.mark("quantify")
        if not cfg.keep_probabilities:
            probs = {}
        else:
            probs = {c: squeeze(p) for c, p in probs.items()}
        return Prediction(image=image, lung=lung, lesion=lesion, classes=classes, sides=sides,
                          probabilities=probs, measurements=measurements,
                          models=[m.describe() for m in self.models], lung_source=lung_source,
                          tasks=cfg.tasks, timings=clock.timings, config=cfg,
                          precision=self.runner.precision if self.runner is not None else None,
                          lesion_filtered=lesion_filtered, warnings=warnings, midline=midline)

    def _filter_hu(self, volume, lesion, lung, spacing, orientation, ndim):
        """The HU false-positive filters (vessels, dependent bands) on the input's own grid;
        also returns what each removed, in mL (volumes) or mm^2 (slices)."""
        two_d = ndim == 2
        pick = (lambda a: a[0]) if two_d else (lambda a: a)
        kept, removed = filter_hu_lesions(pick(volume), pick(lesion), pick(lung), spacing, orientation,
                                          self.config.lesion_filters)
        size = float(np.prod(spacing)) / (1.0 if two_d else 1000.0)
        return (kept[None] if two_d else kept), {k: v * size for k, v in removed.items()}

    def _lung(self, lung_hu: np.ndarray | None, probs: dict[str, np.ndarray]) -> tuple[np.ndarray | None, str]:
        method = self.config.lung_method
        if lung_hu is not None and method in ("auto", "hu"):
            return lung_hu, "hu"  # HU input: the classical mask is trusted, even when empty
        model_lung = clean_lung(probs["lung"] >= np.uint8(128)) if "lung" in probs else None
        if lung_hu is not None and method == "union" and model_lung is not None:
            return extend_lung_with_lesions(lung_hu, model_lung, 3), "hu+model"
        if model_lung is not None:
            return model_lung, "model"
        return (lung_hu, "hu") if lung_hu is not None else (None, "none")

    def _refined_box(self, probs: dict[str, np.ndarray], box: Box) -> Box | None:
        """The lung box of a first pass over whole slices, if the lungs fill clearly less of
        the slice than the training crops do (there the lung box is the whole crop)."""
        if "lung" not in probs:
            return None
        lung = clean_lung(probs["lung"] >= np.uint8(128))
        found = Box.of_mask(lung.any(axis=0))
        if found is None:
            return None
        area = (found.y1 - found.y0) * (found.x1 - found.x0)
        full = (box.y1 - box.y0) * (box.x1 - box.x0)
        return found if area < self.config.refine_below * full else None

    def _min_lesion_voxels(self, spacing, ndim: int) -> float:
        cfg = self.config
        if spacing is None:
            return float(cfg.min_lesion_px)
        if ndim == 3:
            return cfg.min_lesion_mm3 / float(np.prod(spacing))
        return cfg.min_lesion_mm2 / float(np.prod(spacing))


def _midline(found, orientation) -> float | None:
    """The body's centre along the lateral array axis (the patient's midline), if known."""
    if found is None or found.body_centre is None:
        return None
    axis, _ = lateral_axis(orientation)
    in_plane = axis - (len(orientation) - 2)
    return found.body_centre[in_plane] if in_plane >= 0 else None
