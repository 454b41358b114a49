"""Stage 2: the landmark model run on one region of interest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from blazepose.backends import InferenceModel, InPlaceModel, engine_threads
from blazepose.core.crop import REPLICATE, CropHelpers, Cropper, CropRegion
from blazepose.core.landmarks import NUM_MODEL_LANDMARKS, decode_pose
from blazepose.core.roi import NormRect

LANDMARK_INPUT_SIZE = 256


@dataclass(frozen=True)
class RawPose:
    """One pose as the landmark model gives it, before any smoothing.

    Attributes:
        landmarks: (39, 5) float32 ``x, y, z, visibility, presence`` in
            normalized image coordinates; 33 and 34 are the auxiliary
            alignment points.
        world: (39, 3) float32 metres, rotated to the image's orientation.
        score: Pose presence score.
        roi: The region the crop was taken from.
        crop: Where the crop was cut, for mapping the mask back.
        mask_logits: (256, 256) segmentation logits over the crop, or None.
    """

    landmarks: np.ndarray
    world: np.ndarray
    score: float
    roi: NormRect
    crop: CropRegion
    mask_logits: np.ndarray | None


class LandmarkModel:
    """Crops a region, runs the landmark model and decodes its outputs.

    Outputs are bound by shape, not by position.

    Args:
        model: The loaded landmark model.
        helpers: The crop's helper threads, shared (see :func:`blazepose.core.crop.crop_helpers`);
            None starts its own.
    """

    def __init__(self, model: InferenceModel, helpers: CropHelpers | None = None) -> None:
        size = LANDMARK_INPUT_SIZE
        if model.input_shape != (1, size, size, 3):
            raise ValueError(f"landmark model input must be (1, {size}, {size}, 3), got {model.input_shape}")
        self._model = model
        self._in_place = cast(InPlaceModel, model) if hasattr(model, "run_in_place") else None
        self._cropper = Cropper(size, (0.0, 1.0), REPLICATE, threads=engine_threads(model), helpers=helpers)
        shapes = model.output_shapes
        wanted = {
            "landmarks": (1, NUM_MODEL_LANDMARKS * 5),
            "score": (1, 1),
            "mask": (1, size, size, 1),
            "heatmap": (1, 64, 64, NUM_MODEL_LANDMARKS),
            "world": (1, NUM_MODEL_LANDMARKS * 3),
        }
        try:
            self._out = {name: shapes.index(shape) for name, shape in wanted.items()}
        except ValueError:
            raise ValueError(f"unexpected landmark model outputs {shapes}") from None

    def _needed(self, with_mask: bool) -> list[int]:
        names = (
            ("landmarks", "score", "heatmap", "world", "mask")
            if with_mask
            else ("landmarks", "score", "heatmap", "world")
        )
        return [self._out[name] for name in names]

    def run(self, image: np.ndarray, roi: NormRect, min_score: float, with_mask: bool) -> RawPose | None:
        """Runs the model on one region.

        Returns:
            The pose, or None when its presence score is below ``min_score``.
        """
        h, w = image.shape[:2]
        rect = roi.to_pixels(w, h)
        if self._in_place is None:
            tensor, crop = self._cropper(image, rect)
            out = self._model.run(tensor, self._needed(with_mask))
            return self._decode(out, 0, roi, crop, min_score, with_mask)
        # The crop written straight into the engine's input, its outputs decoded where they lie.
        crops: list[CropRegion] = []

        def fill(buffer: np.ndarray) -> None:
            crops.append(self._cropper.crop_into(image, rect, buffer))

        def use(out: list[np.ndarray | None]) -> RawPose | None:
            return self._decode(out, 0, roi, crops[0], min_score, with_mask, copy_mask=True)

        return self._in_place.run_in_place(fill, use, self._needed(with_mask))

    def run_many(
        self, regions: Sequence[tuple[np.ndarray, NormRect, float]], with_mask: bool, batched: bool = True
    ) -> list[RawPose | None]:
        """Runs the model on several regions (of one image or of several), in one batch when ``batched``.

        Args:
            regions: ``(image, roi, min_score)`` per region.
            with_mask: Also decode the segmentation mask.
            batched: One engine invocation for all regions (the engine's
                ``run_batch``); False runs them one by one.

        Returns:
            One :meth:`run` answer per region, in order (the same bits with
            LiteRT: its batched items are computed independently). The crop
            helpers are woken before each crop here: callers need not.
        """
        if not regions:
            return []
        if not batched or len(regions) == 1:
            answers = []
            for image, roi, score in regions:
                self._cropper.prepare()  # each crop's helpers waiting for it spinning (a hint, see Cropper)
                answers.append(self.run(image, roi, score, with_mask))
            return answers
        size = LANDMARK_INPUT_SIZE
        batch = np.empty((len(regions), size, size, 3), np.float32)
        crops = []
        for i, (image, roi, _) in enumerate(regions):
            h, w = image.shape[:2]
            self._cropper.prepare()  # crops one after another: the helpers wait for the next one spinning
            crops.append(self._cropper.crop_into(image, roi.to_pixels(w, h), batch[i]))
        out = self._model.run_batch(batch, self._needed(with_mask))
        return [
            self._decode(out, i, roi, crop, score, with_mask)
            for i, ((_, roi, score), crop) in enumerate(zip(regions, crops, strict=True))
        ]

    def _decode(
        self,
        out: list[np.ndarray | None],
        item: int,
        roi: NormRect,
        crop: CropRegion,
        min_score: float,
        with_mask: bool,
        copy_mask: bool = False,
    ) -> RawPose | None:
        """One item's pose from the outputs; ``copy_mask`` when they are the engine's own buffers."""

        def output(name: str) -> np.ndarray:
            value = out[self._out[name]]
            assert value is not None
            return value[item]

        score = float(output("score").reshape(()))
        if score < min_score:
            return None
        lm, world = decode_pose(
            output("landmarks"), output("heatmap"), output("world"), roi, crop.padding, LANDMARK_INPUT_SIZE
        )
        mask = output("mask")[:, :, 0] if with_mask else None
        if mask is not None and copy_mask:
            mask = mask.copy()
        return RawPose(lm, world, score, roi, crop, mask)

    def close(self) -> None:
        self._cropper.close()
        self._model.close()
