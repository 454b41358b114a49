"""Track bookkeeping for video mode: the poses being tracked, their ids, and
what is kept of the poses lately lost (ids to give back, filters to hand on)."""

from __future__ import annotations

import itertools

from blazepose.core.roi import NormRect, rect_iou
from blazepose.core.tracking import PoseTrack


class TrackBook:
    """The tracked poses of one stream and the memory of those lost lately.

    Args:
        overlap_iou: Region IoU from which a new pose is where a lost one was.
        id_memory: Frames during which a lost pose's id can be given back
            (0: never).
        keep_lost_filters: Keep lost tracks so that new ones can inherit their
            filters (MediaPipe's legacy graph; see
            :meth:`PoseTrack.inherit_filters`).
    """

    def __init__(self, overlap_iou: float, id_memory: int, keep_lost_filters: bool) -> None:
        self.overlap_iou = overlap_iou
        self.id_memory = id_memory
        self.keep_lost_filters = keep_lost_filters
        self.tracks: list[PoseTrack] = []
        self._lost: list[PoseTrack] = []
        self._recently_lost: list[tuple[int, NormRect, int]] = []  # (track id, last region, frame)
        self._ids = itertools.count()

    def reset(self) -> None:
        """Forgets every track and every lost pose (ids keep counting up)."""
        self.tracks = []
        self._lost = []
        self._recently_lost = []

    def new_id(self) -> int:
        """An id never given before."""
        return next(self._ids)

    def id_for(self, roi: NormRect, frame: int, image_width: int, image_height: int) -> int:
        """The id of a pose lost lately where ``roi`` lies, else a new id."""
        recent = [e for e in self._recently_lost if frame - e[2] <= self.id_memory]
        scored = [(rect_iou(roi, e[1], image_width, image_height), e) for e in recent]
        best = max(scored, key=lambda s: s[0], default=None)
        if best is not None and best[0] >= self.overlap_iou:
            recent.remove(best[1])
            self._recently_lost = recent
            return best[1][0]
        self._recently_lost = recent
        return self.new_id()

    def lose(self, track: PoseTrack, frame: int) -> None:
        """Records that ``track`` was lost on ``frame`` (its filters and its id may be handed on)."""
        self._lost.append(track)
        if self.id_memory and track.next_roi is not None:
            self._recently_lost.append((track.track_id, track.next_roi, frame))

    def filters_to_inherit(self) -> PoseTrack | None:
        """The most recently lost track whose filters a new track takes over, if any."""
        if self.keep_lost_filters and self._lost:
            return self._lost.pop()
        return None

    def keep(self, tracks: list[PoseTrack], max_poses: int) -> None:
        """Ends a frame: ``tracks`` go on; only the ``max_poses`` latest lost ones can hand their filters on."""
        self.tracks = tracks
        self._lost = self._lost[-max_poses:] if self.keep_lost_filters else []
