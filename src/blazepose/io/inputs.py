"""What ``blazepose run`` was given: photos, folders, globs, videos, camera indices and stream URLs."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
STREAM_PREFIXES = ("rtsp://", "rtmp://", "http://", "https://", "udp://", "tcp://")


@dataclass(frozen=True)
class Input:
    """One thing to process: ``kind`` is photo, video, camera or stream."""

    kind: str
    location: str

    @property
    def name(self) -> str:
        if self.kind == "camera":
            return f"camera{self.location}"
        if self.kind == "stream":
            return "stream_" + "".join(c if c.isalnum() else "_" for c in self.location.split("://", 1)[-1])[:60]
        return Path(self.location).stem


def expand_inputs(items: list[str]) -> tuple[list[Input], list[str]]:
    """Photos, folders (their photos and videos, sorted), globs, videos, camera
    indices and stream URLs.

    Returns:
        The inputs, and an error message for each item that names nothing.
    """
    inputs, errors = [], []
    for item in items:
        if item.isdigit():
            inputs.append(Input("camera", item))
        elif item.lower().startswith(STREAM_PREFIXES):
            inputs.append(Input("stream", item))
        elif Path(item).is_dir():
            files = sorted(p for p in Path(item).iterdir() if p.suffix.lower() in PHOTO_SUFFIXES | VIDEO_SUFFIXES)
            if not files:
                errors.append(f"{item}: folder without photos or videos")
            inputs += [_file_input(p) for p in files]
        elif any(c in item for c in "*?["):
            files = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not files:
                errors.append(f"{item}: no file matches")
            inputs += [_file_input(p) for p in files]
        elif Path(item).is_file():
            inputs.append(_file_input(Path(item)))
        else:
            errors.append(f"{item}: no such file, folder, camera index or stream URL")
    return inputs, errors


def _file_input(path: Path) -> Input:
    return Input("video" if path.suffix.lower() in VIDEO_SUFFIXES else "photo", str(path))
