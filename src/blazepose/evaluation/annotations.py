"""Checks of keypoint annotation files before any model runs: what the evaluation reads must be there.

Each check raises ValueError naming the first entry that is wrong and what
was expected of it, so that a malformed file stops ``blazepose eval`` in one
line before the models run rather than in a traceback after.
"""

from __future__ import annotations

import math
from typing import Any


def _numbers(value: Any, count: int) -> bool:
    """Whether ``value`` is a list of ``count`` finite numbers (not strings, not booleans)."""
    return (
        isinstance(value, list)
        and len(value) == count
        and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    )


def _number(value: Any) -> bool:
    return _numbers([value], 1)


def _an_id(value: Any) -> bool:
    """Whether ``value`` can be an id: a number or a string (a list, say, cannot be looked up)."""
    return isinstance(value, int | str) and not isinstance(value, bool)


def check_coco(data: Any) -> None:
    """A COCO person-keypoints file: images with unique ids and file names, annotations with 17 keypoints,
    a box, ``num_keypoints`` and (unless crowd) ``area``, and the categories pycocotools reads."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object with images, annotations and categories, got {type(data).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise ValueError(f"expected a list under {key!r}, got {type(data.get(key)).__name__}")
    ids, names = set(), set()
    for n, image in enumerate(data["images"]):
        if not isinstance(image, dict) or not isinstance(image.get("file_name"), str) or not _an_id(image.get("id")):
            raise ValueError(f"images[{n}]: expected an object with an id and a file_name, got {image!r:.120}")
        if image["file_name"] in names or image["id"] in ids:
            raise ValueError(f"images[{n}]: its id or file_name {image['file_name']!r} is another image's too")
        ids.add(image["id"])
        names.add(image["file_name"])
    for n, a in enumerate(data["annotations"]):
        where = f"annotations[{n}]"
        if not isinstance(a, dict) or not _an_id(a.get("image_id")) or a["image_id"] not in ids:
            raise ValueError(f"{where}: expected an object whose image_id is an image's id, got {a!r:.120}")
        if not _numbers(a.get("keypoints"), 51):
            got = a.get("keypoints")
            raise ValueError(f"{where}: expected 51 numbers under 'keypoints' (x, y, v of 17), got {got!r:.120}")
        if not _numbers(a.get("bbox"), 4) or min(a["bbox"][2:]) < 0:
            raise ValueError(f"{where}: expected a bbox of 4 numbers (x, y, width, height), got {a.get('bbox')!r:.120}")
        if not _number(a.get("num_keypoints")):
            raise ValueError(f"{where}: expected a number under 'num_keypoints', got {a.get('num_keypoints')!r:.60}")
        if not a.get("iscrowd", 0) and not _number(a.get("area")):
            raise ValueError(f"{where}: expected a number under 'area', got {a.get('area')!r:.60}")


def check_mpii(entries: Any) -> None:
    """MPII in mmpose's JSON format: a list of people, each with an image, a centre, a scale (person height
    / 200 pixels), 16 joints and their 16 visibility flags."""
    if not isinstance(entries, list):
        raise ValueError(f"expected a JSON list of people, got {type(entries).__name__}")
    for n, e in enumerate(entries):
        where = f"entry {n}"
        if not isinstance(e, dict) or not isinstance(e.get("image"), str):
            raise ValueError(f"{where}: expected an object with an image name, got {e!r:.120}")
        if not _numbers(e.get("center"), 2):
            raise ValueError(f"{where}: expected 2 numbers under 'center', got {e.get('center')!r:.60}")
        if not _number(e.get("scale")) or e["scale"] <= 0:
            raise ValueError(f"{where}: expected a positive number under 'scale', got {e.get('scale')!r:.60}")
        joints = e.get("joints")
        if not isinstance(joints, list) or len(joints) != 16 or not all(_numbers(j, 2) for j in joints):
            raise ValueError(f"{where}: expected 16 joints of 2 numbers under 'joints', got {joints!r:.120}")
        if not _numbers(e.get("joints_vis"), 16):
            raise ValueError(f"{where}: expected 16 numbers under 'joints_vis', got {e.get('joints_vis')!r:.120}")
