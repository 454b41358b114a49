"""What ``blazepose run`` was given: photos, folders, globs, videos, camera indices and stream URLs."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

# .gif: its first frame, in folders as when named (where OpenCV was built to decode GIF).
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
# .ts/.mts/.m2ts: MPEG transport streams (cameras, broadcast recordings); .3gp/.3g2: older phones.
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv",
                  ".ts", ".mts", ".m2ts", ".3gp", ".3g2", ".ogv", ".vob", ".asf", ".mxf"}  # fmt: skip
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

    def naming(self, message: str) -> str:
        """``message`` prefixed with this input's location, unless it names it already (which input failed)."""
        return message if self.location in message else f"{self.location}: {message}"


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
        elif Path(item).exists():  # a FIFO, socket or device: reading it could block for ever
            errors.append(f"{item}: not a regular file (a FIFO, socket or device); expected a photo or video file")
        elif Path(item).is_symlink():
            errors.append(f"{item}: a link to nothing ({Path(item).readlink()} does not exist)")
        else:
            errors.append(f"{item}: no such file, folder, camera index or stream URL")
    return inputs, errors


def _file_input(path: Path) -> Input:
    return Input("video" if path.suffix.lower() in VIDEO_SUFFIXES else "photo", str(path))


def output_names(inputs: list[Input], names: list[str] | None = None) -> list[str]:
    """A distinct output name per input, so that no input's outputs overwrite another's.

    An input's name is its stem (``clip`` for ``a/clip.mp4``), or the one given
    in ``names``; inputs that share one get their suffix added (``p_bmp``,
    ``p_tiff``), and any left sharing one (two ``clip.mp4`` in different
    folders) a count in input order (``clip_mp4``, ``clip_mp4-2``).
    """
    names = [inp.name for inp in inputs] if names is None else list(names)
    clash = {n for n in names if names.count(n) > 1}
    names = [
        f"{n}_{Path(inp.location).suffix.lstrip('.').lower()}" if n in clash and Path(inp.location).suffix else n
        for n, inp in zip(names, inputs, strict=True)
    ]
    taken = set(names)  # a count must not make another input's name (c/clip_mp4-2.mp4 beside two clip.mp4)
    counts: dict[str, int] = {}
    unique = []
    for n in names:
        if n not in counts:
            counts[n] = 1
            unique.append(n)
            continue
        k = counts[n] + 1
        while f"{n}-{k}" in taken:
            k += 1
        counts[n] = k
        taken.add(f"{n}-{k}")
        unique.append(f"{n}-{k}")
    return unique
