"""Hard cuts in a video: where the camera or the scene changes from one frame to the next.

A repetition count assumes one camera: after a cut to another camera (or to another person filmed
elsewhere), the same motion lies along another direction and at another scale, and a bout analysed
across the cut counts too few (the labelled clips of ../shared/data/exercise joined by cuts into one video
per exercise: 25 of 46 pull-ups and 0 of 4 dips counted as one bout, 45 and 4 shot by shot;
docs/fitness_cuts.md). :class:`ShotCuts` numbers the shots of a video so that the counter analyses each
apart, as it does a bout after an absence.
"""

from __future__ import annotations

import cv2
import numpy as np

CUT_THRESHOLD = 30.0
"""Mean absolute difference (0-255 levels) of two consecutive frames, shrunk to 64x36 and grey, from
which a new shot starts. Chosen on the shared exercise clips: of their labelled ones, 3 of 6,425
consecutive frame pairs reach it (a flash, a jump of the camera) and 29 of the 40 seams between two
clips; the seams below it mostly join clips cut from one recording, where nothing changes
(docs/fitness_cuts.md)."""
_SMALL = (64, 36)


def small_grey(frame: np.ndarray) -> np.ndarray:
    """(36, 64) float32: the frame shrunk (16 pixels sampled per cell, then averaged) and its channels
    averaged, what two consecutive frames are compared on.

    Raises:
        ValueError: not an (H, W, 3) uint8 frame.
    """
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise ValueError(f"expected an (H, W, 3) uint8 frame, got {got}")
    # 16 pixels per cell are enough to compare two frames: sampling them first made a 720p frame cost
    # 0.13 ms instead of 0.65 (a 1080p one cost 1.35 ms before).
    sampled = cv2.resize(frame, (4 * _SMALL[0], 4 * _SMALL[1]), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(sampled, _SMALL, interpolation=cv2.INTER_AREA).mean(axis=2, dtype=np.float32)


class ShotCuts:
    """Numbers the shots of a video, frame by frame.

    Args:
        threshold: See :data:`CUT_THRESHOLD`.
    """

    def __init__(self, threshold: float = CUT_THRESHOLD) -> None:
        if not (np.isfinite(threshold) and threshold > 0):
            raise ValueError(f"expected a finite threshold > 0 grey levels, got {threshold}")
        self.threshold = float(threshold)
        self.shot = 0
        self._previous: np.ndarray | None = None
        self._size: tuple[int, ...] = ()

    def update(self, frame: np.ndarray) -> int:
        """The shot number of the next frame (0 for the first; one more after each cut).

        Args:
            frame: (H, W, 3) uint8, RGB or BGR (the channels are averaged).
        """
        grey = small_grey(frame)
        if self._previous is not None and (
            frame.shape[:2] != self._size or float(np.abs(grey - self._previous).mean()) > self.threshold
        ):
            self.shot += 1  # (a new frame size is a new shot: landmarks in pixels jump with it)
        self._previous, self._size = grey, frame.shape[:2]
        return self.shot

    def reset(self) -> None:
        """Forgets the frames seen (the next is shot 0 again)."""
        self.shot = 0
        self._previous = None
