"""Landmark files: JSON Lines, CSV and NPZ writers, and a loader for each.

Schema (version 1), one record per processed frame:

- ``frame``: index of the frame in its input (photos: 0);
- ``timestamp_ms``: the frame's time in its input (photos: null);
- ``image_size``: ``[height, width]``;
- ``poses``: per pose ``id`` (track id), ``score`` (pose presence),
  ``landmarks`` (33 named, each ``x``, ``y``, ``z`` normalized as MediaPipe,
  ``visibility``, ``presence``) and ``world_landmarks`` (33 named, ``x``,
  ``y``, ``z`` in metres).

JSON Lines holds exactly that, a record per line. CSV has one row per pose
per frame: ``frame, timestamp_ms, image_height, image_width, pose_id,
pose_score``, then ``<name>_x, <name>_y, <name>_z, <name>_visibility,
<name>_presence`` for the 33 landmarks, then ``world_<name>_x/_y/_z``; a frame
without a pose has one row with an empty ``pose_id``. NPZ has the arrays
``frame (F,)``, ``timestamp_ms (F,)``, ``image_size (F, 2)``, ``pose_count
(F,)`` and, over all poses of all frames in order, ``pose_frame (P,)``,
``pose_id (P,)``, ``pose_score (P,)``, ``landmarks (P, 33, 3)``,
``visibility (P, 33)``, ``presence (P, 33)``, ``world_landmarks (P, 33, 3)``.

:func:`load_landmarks` reads any of the three back into :class:`FrameRecord`
objects holding a :class:`~blazepose.PoseResult`.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from blazepose.core.results import PoseResult
from blazepose.core.topology import LANDMARK_NAMES

SCHEMA_VERSION = 1
FORMATS = ("jsonl", "csv", "npz")


@dataclass
class FrameRecord:
    """One frame's poses with where they came from."""

    frame: int
    timestamp_ms: float | None
    result: PoseResult


def record_to_dict(record: FrameRecord) -> dict:
    r = record.result
    poses = []
    for i in range(len(r)):
        poses.append(
            {
                "id": int(r.track_ids[i]),
                "score": float(r.pose_scores[i]),
                "landmarks": {
                    name: {
                        "x": float(r.landmarks[i, j, 0]),
                        "y": float(r.landmarks[i, j, 1]),
                        "z": float(r.landmarks[i, j, 2]),
                        "visibility": float(r.visibility[i, j]),
                        "presence": float(r.presence[i, j]),
                    }
                    for j, name in enumerate(LANDMARK_NAMES)
                },
                "world_landmarks": {
                    name: {axis: float(r.world_landmarks[i, j, k]) for k, axis in enumerate("xyz")}
                    for j, name in enumerate(LANDMARK_NAMES)
                },
            }
        )
    return {
        "frame": record.frame,
        "timestamp_ms": record.timestamp_ms,
        "image_size": list(r.image_size),
        "poses": poses,
    }


def _result_from_arrays(size, ids, scores, landmarks, visibility, presence, world, timestamp_ms) -> PoseResult:
    n = len(ids)
    for values in (landmarks, world, visibility, presence, scores):
        if not np.all(np.isfinite(np.asarray(values, np.float64))):
            raise ValueError(f"expected finite landmark values, got NaN or infinity in the frame at {timestamp_ms} ms")
    return PoseResult(
        landmarks=np.asarray(landmarks, np.float32).reshape(n, 33, 3),
        world_landmarks=np.asarray(world, np.float32).reshape(n, 33, 3),
        visibility=np.asarray(visibility, np.float32).reshape(n, 33),
        presence=np.asarray(presence, np.float32).reshape(n, 33),
        pose_scores=np.asarray(scores, np.float32).reshape(n),
        rois=np.zeros((n, 5), np.float32),
        image_size=(int(size[0]), int(size[1])),
        track_ids=np.asarray(ids, np.int64).reshape(n),
        timestamp_us=None if timestamp_ms is None else round(timestamp_ms * 1000),
    )


def record_from_dict(d: dict) -> FrameRecord:
    poses = d["poses"]
    lm = [[[p["landmarks"][n][a] for a in "xyz"] for n in LANDMARK_NAMES] for p in poses]
    vis = [[p["landmarks"][n]["visibility"] for n in LANDMARK_NAMES] for p in poses]
    pres = [[p["landmarks"][n]["presence"] for n in LANDMARK_NAMES] for p in poses]
    world = [[[p["world_landmarks"][n][a] for a in "xyz"] for n in LANDMARK_NAMES] for p in poses]
    result = _result_from_arrays(
        d["image_size"], [p["id"] for p in poses], [p["score"] for p in poses], lm, vis, pres, world, d["timestamp_ms"]
    )
    return FrameRecord(int(d["frame"]), d["timestamp_ms"], result)


def csv_header() -> list[str]:
    head = ["frame", "timestamp_ms", "image_height", "image_width", "pose_id", "pose_score"]
    for name in LANDMARK_NAMES:
        head += [f"{name}_{a}" for a in ("x", "y", "z", "visibility", "presence")]
    for name in LANDMARK_NAMES:
        head += [f"world_{name}_{a}" for a in "xyz"]
    return head


class LandmarkWriter:
    """Writes frame records to one file as they come (flushed every frame).

    NPZ cannot be appended to: its rows go to a temporary file beside the
    output as they come and are packed into the NPZ on :meth:`close`, so
    memory does not grow with the video's length.
    """

    def __init__(self, path: Path, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown landmark format {fmt!r}; expected one of {FORMATS}")
        self.path = Path(path)
        self.fmt = fmt
        self.count = 0
        if fmt == "jsonl":
            self._file = open(self.path, "w", encoding="utf-8")
        elif fmt == "csv":
            self._file = open(self.path, "w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._file)
            self._csv.writerow(csv_header())
        else:
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".rows", dir=self.path.parent)
            self._file = os.fdopen(fd, "w", encoding="utf-8")
            self._tmp = Path(tmp)

    def write(self, record: FrameRecord) -> None:
        if self.fmt == "csv":
            self._write_csv(record)
        else:  # jsonl, and the npz rows
            self._file.write(json.dumps(record_to_dict(record), separators=(",", ":")) + "\n")
        self._file.flush()
        self.count += 1

    def _write_csv(self, record: FrameRecord) -> None:
        r = record.result
        h, w = r.image_size
        ts = "" if record.timestamp_ms is None else f"{record.timestamp_ms:.3f}"
        if len(r) == 0:
            self._csv.writerow([record.frame, ts, h, w, "", ""] + [""] * (33 * 8))
        for i in range(len(r)):
            row: list = [record.frame, ts, h, w, int(r.track_ids[i]), repr(float(r.pose_scores[i]))]
            for j in range(33):
                row += [repr(float(v)) for v in (*r.landmarks[i, j], r.visibility[i, j], r.presence[i, j])]
            for j in range(33):
                row += [repr(float(v)) for v in r.world_landmarks[i, j]]
            self._csv.writerow(row)

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.close()
        if self.fmt == "npz":
            try:
                records = [record_from_dict(json.loads(line)) for line in self._tmp.read_text().splitlines()]
                save_npz(self.path, records)
            finally:
                self._tmp.unlink(missing_ok=True)


def save_npz(path: Path, records: list[FrameRecord]) -> None:
    results = [rec.result for rec in records]
    cat = lambda arrays, shape: np.concatenate(arrays) if arrays else np.zeros(shape, np.float32)  # noqa: E731
    with open(path, "wb") as f:
        np.savez_compressed(
            f,
            schema_version=np.int64(SCHEMA_VERSION),
            frame=np.array([rec.frame for rec in records], np.int64),
            timestamp_ms=np.array([np.nan if rec.timestamp_ms is None else rec.timestamp_ms for rec in records]),
            image_size=np.array([r.image_size for r in results], np.int64).reshape(-1, 2),
            pose_count=np.array([len(r) for r in results], np.int64),
            pose_frame=np.array([rec.frame for rec in records for _ in range(len(rec.result))], np.int64),
            pose_id=np.array([i for r in results for i in r.track_ids], np.int64),
            pose_score=np.array([s for r in results for s in r.pose_scores], np.float32),
            landmarks=cat([r.landmarks for r in results], (0, 33, 3)),
            visibility=cat([r.visibility for r in results], (0, 33)),
            presence=cat([r.presence for r in results], (0, 33)),
            world_landmarks=cat([r.world_landmarks for r in results], (0, 33, 3)),
        )


def load_landmarks(path: str | Path) -> list[FrameRecord]:
    """Reads a landmark file written by ``blazepose run`` (any of the three formats).

    Returns:
        One :class:`FrameRecord` per frame, each holding a :class:`~blazepose.PoseResult`. A JSON Lines
        file saved from ``blazepose serve``'s video route for a video that broke off ends with a line
        ``{"error": ...}``: the frames before it are returned, with a ``UserWarning`` quoting the error.

    Raises:
        ValueError: the file is not one of them, or is malformed (the message
            names the file).
        OSError: the file cannot be opened.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv", ".npz"):
        raise ValueError(f"{path}: expected a .jsonl, .csv or .npz landmark file")
    try:
        if suffix == ".jsonl":
            return _load_jsonl(path)
        if suffix == ".csv":
            return _load_csv(path)
        return _load_npz(path)
    except (OSError, EOFError) as e:
        if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise ValueError(f"{path}: not a readable blazepose landmark {suffix[1:].upper()} file ({e})") from e
    except ValueError as e:
        if str(e).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a blazepose landmark {suffix[1:].upper()} file ({e})") from e
    except (KeyError, IndexError, TypeError, AttributeError, StopIteration) as e:
        raise ValueError(f"{path}: not a blazepose landmark {suffix[1:].upper()} file ({type(e).__name__}: {e})") from e


def _load_jsonl(path: Path) -> list[FrameRecord]:
    """The records of a JSON Lines file; a last line ``{"error": ...}`` (how ``blazepose serve``'s video
    route ends a video that broke off) ends them with a warning that quotes it."""
    records: list[FrameRecord] = []
    ended_by = None  # an error line seen, and nothing after it yet
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            if ended_by is not None:
                raise ValueError(f'a line {{"error": ...}} before other records ({ended_by})')
            try:
                value = json.loads(line)
            except json.JSONDecodeError as e:  # (its own position counts from this line's start)
                raise ValueError(f"line {number}: {e.msg} at column {e.colno}") from e
            if isinstance(value, dict) and set(value) == {"error"}:
                ended_by = value["error"]
                continue
            try:
                records.append(record_from_dict(value))
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as e:
                raise ValueError(f"line {number}: {type(e).__name__}: {e}") from e
    if ended_by is not None:
        warnings.warn(f"{path}: {len(records)} frames, then the error that ended them: {ended_by}", stacklevel=3)
    return records


def _load_csv(path: Path) -> list[FrameRecord]:
    frames: dict[int, list] = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file; expected a blazepose landmark CSV (a header, then rows)")
        if header != csv_header():
            raise ValueError(f"{path}: not a blazepose landmark CSV (unexpected header)")
        for row in reader:
            frames.setdefault(int(row[0]), []).append(row)
    records = []
    for frame, rows in frames.items():
        ts = float(rows[0][1]) if rows[0][1] else None
        size = (int(rows[0][2]), int(rows[0][3]))
        poses = [r for r in rows if r[4] != ""]
        values = np.array([[float(v) for v in r[6:]] for r in poses], np.float64).reshape(len(poses), 33 * 8)
        lm = values[:, : 33 * 5].reshape(-1, 33, 5)
        world = values[:, 33 * 5 :].reshape(-1, 33, 3)
        result = _result_from_arrays(
            size, [int(r[4]) for r in poses], [float(r[5]) for r in poses], lm[..., :3], lm[..., 3], lm[..., 4],
            world, ts,
        )  # fmt: skip
        records.append(FrameRecord(frame, ts, result))
    return records


def _load_npz(path: Path) -> list[FrameRecord]:
    d = np.load(path)
    if int(d["schema_version"]) != SCHEMA_VERSION:
        raise ValueError(f"{path}: landmark schema version {int(d['schema_version'])}, expected {SCHEMA_VERSION}")
    records, start = [], 0
    for k, frame in enumerate(d["frame"]):
        n = int(d["pose_count"][k])
        sl = slice(start, start + n)
        start += n
        ts = None if np.isnan(d["timestamp_ms"][k]) else float(d["timestamp_ms"][k])
        result = _result_from_arrays(
            d["image_size"][k], d["pose_id"][sl], d["pose_score"][sl], d["landmarks"][sl], d["visibility"][sl],
            d["presence"][sl], d["world_landmarks"][sl], ts,
        )  # fmt: skip
        records.append(FrameRecord(int(frame), ts, result))
    return records
