"""Stage 1: the person detector run on the whole image."""

from __future__ import annotations

from typing import cast

import numpy as np

from blazepose.backends import InferenceModel, InPlaceModel, engine_threads
from blazepose.core.anchors import DETECTOR_INPUT_SIZE, DETECTOR_NUM_ANCHORS, generate_anchors
from blazepose.core.crop import ZERO, CropHelpers, Cropper, CropRegion
from blazepose.core.detection import Detections, decode_and_suppress, remove_letterbox
from blazepose.core.roi import PixelRect


class PersonDetector:
    """Finds people: letterbox, detector model, decoding, weighted NMS.

    Args:
        model: The loaded ``pose_detection.tflite``.
        helpers: The letterbox's helper threads, shared (see :func:`blazepose.core.crop.crop_helpers`);
            None starts its own.
    """

    def __init__(self, model: InferenceModel, helpers: CropHelpers | None = None) -> None:
        size = DETECTOR_INPUT_SIZE
        if model.input_shape != (1, size, size, 3):
            raise ValueError(f"detector input must be (1, {size}, {size}, 3), got {model.input_shape}")
        self._model = model
        self._in_place = cast(InPlaceModel, model) if hasattr(model, "run_in_place") else None
        self._anchors = generate_anchors()
        self._cropper = Cropper(size, (-1.0, 1.0), ZERO, threads=engine_threads(model), helpers=helpers)
        shapes = model.output_shapes
        try:
            self._boxes_out = shapes.index((1, DETECTOR_NUM_ANCHORS, 12))
            self._scores_out = shapes.index((1, DETECTOR_NUM_ANCHORS, 1))
        except ValueError:
            raise ValueError(f"unexpected detector outputs {shapes}") from None

    def detect(self, image: np.ndarray, min_score: float) -> Detections:
        """Detects people in an RGB uint8 image.

        Returns:
            Detections in normalized image coordinates, best score first.
        """
        h, w = image.shape[:2]
        whole = PixelRect(w / 2.0, h / 2.0, float(w), float(h), 0.0)
        crops: list[CropRegion] = []

        def fill(buffer: np.ndarray) -> None:
            crops.append(self._cropper.crop_into(image, whole, buffer))

        def use(outputs: list[np.ndarray | None]) -> Detections:
            boxes, scores = outputs[self._boxes_out], outputs[self._scores_out]
            assert boxes is not None and scores is not None
            return decode_and_suppress(boxes[0], scores[0], self._anchors, min_score)  # copies what it keeps

        wanted = [self._boxes_out, self._scores_out]
        if self._in_place is not None:  # the letterbox written into the engine's input, outputs read in place
            raw = self._in_place.run_in_place(fill, use, wanted)
        else:
            tensor, crop = self._cropper(image, whole)
            crops.append(crop)
            raw = use(self._model.run(tensor, wanted))
        return remove_letterbox(raw, crops[0].padding)

    def close(self) -> None:
        self._cropper.close()
        self._model.close()
