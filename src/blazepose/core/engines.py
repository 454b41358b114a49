"""The loaded models of one model complexity: the person detector and the landmark model."""

from __future__ import annotations

from dataclasses import dataclass

from blazepose.backends import (
    DEFAULT_BACKEND,
    DEFAULT_PRECISION,
    InferenceModel,
    check_precision,
    engine_threads,
    load_model,
    model_format,
)
from blazepose.core.crop import CropHelpers, crop_helpers
from blazepose.core.detector import PersonDetector
from blazepose.core.landmarker import LandmarkModel
from blazepose.core.native import native_kernels
from blazepose.core.validation import check_model_complexity
from blazepose.models import (
    DETECTOR_MODEL,
    converted_model_bytes,
    int8_model_bytes,
    landmark_model_name,
    verified_model_bytes,
)


@dataclass(frozen=True)
class PoseEngines:
    """The two loaded models of one model complexity, which several estimators may share.

    The models hold no tracking state, so estimators in one thread can use
    the same engines (:class:`blazepose.core.batch.StreamBatch` does, to
    batch its streams' crops); the engines are not safe to use from two
    threads at once. Both models' crops share one set of helper threads
    (``crop_helpers``; see :class:`blazepose.core.crop.Cropper`).
    """

    model_complexity: int
    detector: PersonDetector
    landmarker: LandmarkModel
    precision: str = DEFAULT_PRECISION
    crop_helpers: CropHelpers | None = None

    @classmethod
    def load(
        cls,
        model_complexity: int = 1,
        backend: str = DEFAULT_BACKEND,
        num_threads: int | None = None,
        precision: str = DEFAULT_PRECISION,
    ) -> PoseEngines:
        """Loads the detector and the landmark model of ``model_complexity`` into the named engine.

        ``precision="int8"`` loads the int8 files (``models/int8/``) of both
        models instead of the official float32 ones (LiteRT only);
        ``"bfloat16"`` has the engine compute the official models in
        bfloat16 (OpenVINO, on a CPU that computes it).
        """
        complexity = check_model_complexity(model_complexity)
        fmt = model_format(backend)
        check_precision(precision, backend)

        def engine(name: str) -> InferenceModel:
            if precision == "int8":
                data = int8_model_bytes(name)
            else:
                data = verified_model_bytes(name) if fmt == "tflite" else converted_model_bytes(name, fmt)
            return load_model(data, backend, num_threads, bfloat16=precision == "bfloat16")

        detector_model = engine(DETECTOR_MODEL)
        helpers = crop_helpers(engine_threads(detector_model), native_kernels())
        detector = PersonDetector(detector_model, helpers)
        try:
            landmarker = LandmarkModel(engine(landmark_model_name(complexity)), helpers)
        except BaseException:
            detector.close()
            if helpers is not None:
                helpers.close()
            raise
        return cls(complexity, detector, landmarker, precision, helpers)

    def prepare_crop(self) -> None:
        """Says that a crop comes soon (a hint that saves waking the crop's helper threads then)."""
        if self.crop_helpers is not None:
            self.crop_helpers.wake()

    def close(self) -> None:
        """Frees both models and the crops' helper threads."""
        self.detector.close()
        self.landmarker.close()
        if self.crop_helpers is not None:
            self.crop_helpers.close()
