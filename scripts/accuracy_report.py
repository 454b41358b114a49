"""accuracy="high" beside "fast" (MediaPipe's answers): the numbers of docs/accuracy.md.

    PYTHONPATH=src .venv/bin/python scripts/accuracy_report.py lsp --models heavy --first 501 --last 1000
    PYTHONPATH=src .venv/bin/python scripts/accuracy_report.py video --models full
    PYTHONPATH=src .venv/bin/python scripts/accuracy_report.py synthetic --models full
    PYTHONPATH=src .venv/bin/python scripts/accuracy_report.py coco --models lite full heavy --half test

Each command prints a markdown table and writes a JSON file under --out
(default out/accuracy). Times are wall-clock per photo or frame with one
inference thread on the machine the command ran on.

- ``lsp``: Leeds Sports Pose photos im<first>..im<last> (static mode, one
  pose): person found rate, and PCK@0.2 of 13 joints (LSP's 14 but the head
  top, which the model has no landmark for; the neck is the shoulders'
  midpoint), with the torso (left shoulder to right hip, else right shoulder
  to left hip) as the length, as in ``blazepose.evaluation.accuracy``. A
  photo where no pose is found counts all its joints wrong.
- ``video``: the dance clip and exercise clips in VIDEO mode: frames with a
  pose, and jitter: the mean magnitude of the landmarks' second difference
  (acceleration) per torso, on still frames (mean speed of a 9-frame moving
  average of the "live fast" track below --still torso per frame; the same
  frames for every mode) and on all frames. Live (``detect_for_video``) for both modes, and
  offline (``blazepose.core.offline.track_clip``) for "high".
- ``coco``: COCO keypoint AP on one half of ``coco_mini`` (whole images,
  up to 20 poses, ranked as ``blazepose eval`` does: by mean visibility in
  "fast", times the pose score in "high"; "AP vis": the same answers ranked
  by mean visibility alone).
- ``synthetic``: clips made from annotated LSP photos by a virtual camera
  (a known affine per frame: slow pan, zoom and turn, keypoints moved with
  it; a plain grey border): PCK@0.2 per frame and jitter (second difference
  of the error, per torso) against the exact moved keypoints. ``--width
  1280 --height 720 --person 0.2`` makes small people in HD frames.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from blazepose.core.estimator import PoseEstimator
from blazepose.core.results import PoseResult
from blazepose.core.topology import PoseLandmark as L
from blazepose.evaluation.accuracy import pck
from blazepose.io.photos import read_photo

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
MODELS = {"lite": 0, "full": 1, "heavy": 2}

# LSP joints 0..12 as pose landmarks (averaged): the head top (13) has none.
LSP_FROM_POSE: tuple[tuple[int, ...], ...] = (
    (L.RIGHT_ANKLE,), (L.RIGHT_KNEE,), (L.RIGHT_HIP,), (L.LEFT_HIP,), (L.LEFT_KNEE,), (L.LEFT_ANKLE,),
    (L.RIGHT_WRIST,), (L.RIGHT_ELBOW,), (L.RIGHT_SHOULDER,), (L.LEFT_SHOULDER,), (L.LEFT_ELBOW,), (L.LEFT_WRIST,),
    (L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
)  # fmt: skip
LSP_R_HIP, LSP_L_HIP, LSP_R_SHOULDER, LSP_L_SHOULDER = 2, 3, 8, 9


def lsp_joints() -> np.ndarray:
    """(2000, 13, 2) LSP annotations in pixels (head top dropped)."""
    from scipy.io import loadmat

    joints = loadmat(str(DATA / "lsp" / "joints.mat"))["joints"]  # (3, 14, 2000)
    return np.transpose(joints[:2], (2, 1, 0))[:, :13]


def torso(joints: np.ndarray) -> np.ndarray:
    """(N,) left shoulder to right hip, else right shoulder to left hip."""
    a = np.linalg.norm(joints[:, LSP_L_SHOULDER] - joints[:, LSP_R_HIP], axis=1)
    b = np.linalg.norm(joints[:, LSP_R_SHOULDER] - joints[:, LSP_L_HIP], axis=1)
    return np.where(a > 0, a, b)


def to_lsp(landmarks_px: np.ndarray) -> np.ndarray:
    """(33, >=2) pixels -> (13, 2) LSP joints."""
    return np.array([landmarks_px[list(idx), :2].mean(axis=0) for idx in LSP_FROM_POSE])


def estimator(model: str, accuracy: str, static: bool, **kwargs) -> PoseEstimator:
    return PoseEstimator(
        static_image_mode=static, model_complexity=MODELS[model], accuracy=accuracy, num_threads=1, **kwargs
    )


def run_lsp(args: argparse.Namespace) -> dict:
    joints = lsp_joints()
    indices = range(args.first - 1, args.last)
    annotated = joints[list(indices)]
    scale = torso(annotated)
    labelled = np.ones(annotated.shape[:2], bool)
    rows = {}
    for model in args.models:
        for accuracy in args.accuracy:
            predicted = np.full(annotated.shape, np.nan)
            seconds = 0.0
            with estimator(model, accuracy, True) as est:
                for n, i in enumerate(indices):
                    image = read_photo(str(DATA / "lsp" / "images" / f"im{i + 1:04d}.jpg"))
                    started = time.perf_counter()
                    result = est.process(image)
                    seconds += time.perf_counter() - started
                    if len(result):
                        predicted[n] = to_lsp(result.landmarks_px[0])
            _, overall = pck(predicted, annotated, labelled, scale, 0.2)
            found = float(np.isfinite(predicted[:, 0, 0]).mean())
            rows[f"{model} {accuracy}"] = {
                "model": model,
                "accuracy": accuracy,
                "photos": len(indices),
                "found": found,
                "pck@0.2": overall,
                "ms_per_photo": 1000 * seconds / len(indices),
            }
            print(f"{model} {accuracy}: {rows[f'{model} {accuracy}']}", file=sys.stderr, flush=True)
    return {"subset": f"im{args.first:04d}-im{args.last:04d}", "rows": rows}


# Video -----------------------------------------------------------------------


def still_frames(track: np.ndarray, scale: np.ndarray, still: float) -> np.ndarray:
    """(T,) bool: frames where the pose hardly moves, judged on a heavily
    smoothed copy of ``track`` (so that jitter itself does not count as motion).

    Args:
        track: (T, K, 2) pixels (NaN where none).
        scale: (T,) torso in pixels.
        still: Mean landmark speed (torso per frame) under which a frame is still.
    """
    from scipy.ndimage import uniform_filter1d

    smooth = uniform_filter1d(np.nan_to_num(track), size=9, axis=0, mode="nearest")
    speed = np.linalg.norm(np.gradient(smooth, axis=0), axis=-1).mean(axis=-1) / scale
    return (speed < still) & np.isfinite(track).all(axis=(1, 2))


def jitter(track: np.ndarray, scale: np.ndarray, frames: np.ndarray) -> float:
    """Mean magnitude of the landmarks' second difference (acceleration) on the
    given frames, per torso (NaN where a neighbour frame has no pose)."""
    acceleration = np.full(len(track), np.nan)
    acceleration[1:-1] = np.linalg.norm(np.diff(track, 2, axis=0), axis=-1).mean(axis=-1) / scale[1:-1]
    values = acceleration[frames]
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def main_pose(results: list[PoseResult]) -> np.ndarray:
    """(T, 33, 2) pixels of the pose with the longest-lived track id (NaN where absent)."""
    counts: dict[int, int] = {}
    for r in results:
        for t in r.track_ids.tolist():
            counts[t] = counts.get(t, 0) + 1
    out = np.full((len(results), 33, 2), np.nan)
    if not counts:
        return out
    main = max(counts, key=lambda t: counts[t])
    for i, r in enumerate(results):
        hit = np.flatnonzero(r.track_ids == main)
        if hit.size:
            out[i] = r.landmarks_px[hit[0], :, :2]
        elif len(r):
            out[i] = r.landmarks_px[0, :, :2]  # the track was lost and found again under another id
    return out


def pose_torso(track: np.ndarray) -> np.ndarray:
    a = np.linalg.norm(track[:, L.LEFT_SHOULDER] - track[:, L.RIGHT_HIP], axis=-1)
    return np.nanmedian(a) * np.ones(len(track))


FrameSource = Callable[[], Iterator[tuple[np.ndarray, float]]]


def clip_frames(path: Path, max_frames: int | None) -> FrameSource:
    from blazepose.io.video import VideoSource

    def frames() -> Iterator[tuple[np.ndarray, float]]:
        source = VideoSource(str(path))
        try:
            for n, frame in enumerate(source.frames()):
                if max_frames is not None and n >= max_frames:
                    break
                yield frame.rgb, frame.timestamp_ms
        finally:
            source.close()

    return frames


def run_modes(model: str, frames: FrameSource, modes: list[str]) -> dict[str, tuple[list[PoseResult], float]]:
    """Results and ms per frame for each of live fast, live high and offline high."""
    from blazepose.core.offline import track_clip

    out = {}
    for mode in modes:
        started = time.perf_counter()
        if mode == "offline high":
            results = track_clip(frames, model_complexity=MODELS[model], num_threads=1)
        else:
            results = []
            with estimator(model, mode.split()[1], False) as est:
                for rgb, ms in frames():
                    results.append(est.process(rgb, ms))
        seconds = time.perf_counter() - started
        out[mode] = (results, 1000 * seconds / max(len(results), 1))
    return out


def run_video(args: argparse.Namespace) -> dict:
    clips = [DATA / "video" / "dance_720p.avi", *sorted((DATA / "exercise").glob("*/*.mp4"))[:: args.clip_step]]
    rows = {}
    for model in args.models:
        for clip in clips:
            modes = run_modes(model, clip_frames(clip, args.max_frames), args.modes)
            # Still frames: judged once on the first mode's track, the same frames for every mode.
            reference = main_pose(next(iter(modes.values()))[0])
            still = still_frames(reference, pose_torso(reference), args.still)
            for mode, (results, ms) in modes.items():
                track = main_pose(results)
                value = jitter(track, pose_torso(reference), still)
                key = f"{model} {clip.name} {mode}"
                rows[key] = {
                    "model": model,
                    "clip": clip.name,
                    "mode": mode,
                    "frames": len(results),
                    "found": float(np.mean([len(r) > 0 for r in results])),
                    "jitter_still": value,
                    "still_frames": int(still.sum()),
                    "jitter_all": jitter(track, pose_torso(reference), np.ones(len(track), bool)),
                    "ms_per_frame": ms,
                }
                print(f"{key}: {rows[key]}", file=sys.stderr, flush=True)
    return {"rows": rows}


# Synthetic camera motion -------------------------------------------------------


def camera_path(frames: int, size: int, seed: int) -> np.ndarray:
    """(frames, 2, 3) affine maps from a photo to a ``size`` square frame: a slow
    pan, zoom and turn (a smooth random path), the person kept inside the frame."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, frames)
    phase = rng.uniform(0, 2 * np.pi, 4)
    angle = 0.25 * np.sin(2 * np.pi * 0.5 * t + phase[0])
    zoom = 1.0 + 0.25 * np.sin(2 * np.pi * 0.7 * t + phase[1])
    dx = 0.08 * size * np.sin(2 * np.pi * 0.6 * t + phase[2])
    dy = 0.08 * size * np.sin(2 * np.pi * 0.4 * t + phase[3])
    out = np.empty((frames, 2, 3))
    for i in range(frames):
        c, s = np.cos(angle[i]) * zoom[i], np.sin(angle[i]) * zoom[i]
        out[i] = [[c, -s, dx[i]], [s, c, dy[i]]]
    return out


def synthetic_clip(
    photo: np.ndarray, joints: np.ndarray, frames: int, seed: int, size: tuple[int, int], fraction: float
):
    """The frames source and (frames, 13, 2) moved keypoints of a virtual-camera
    clip of ``size`` (width, height) where the photo's long side spans
    ``fraction`` of the frame's height."""
    import cv2

    h, w = photo.shape[:2]
    fit = fraction * size[1] / max(h, w)
    centre = np.array([w / 2, h / 2])
    paths = camera_path(frames, min(size), seed)
    maps = []
    for motion in paths:
        linear = motion[:, :2] * fit
        offset = np.array(size) / 2 + motion[:, 2] - linear @ centre
        maps.append(np.hstack([linear, offset[:, None]]))
    keypoints = np.array([joints @ m[:, :2].T + m[:, 2] for m in maps])

    def source() -> Iterator[tuple[np.ndarray, float]]:
        for i, m in enumerate(maps):
            frame = cv2.warpAffine(
                photo,
                m,
                size,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=(110, 110, 110),
            )
            yield frame, i * 1000 / 30

    return source, keypoints


def run_synthetic(args: argparse.Namespace) -> dict:
    joints = lsp_joints()
    indices = range(args.first - 1, args.last, args.photo_step)
    rows = {}
    for model in args.models:
        totals: dict[str, dict[str, list]] = {}
        for i in indices:
            photo = read_photo(str(DATA / "lsp" / "images" / f"im{i + 1:04d}.jpg"))
            source, truth = synthetic_clip(photo, joints[i], args.frames, i, (args.width, args.height), args.person)
            scale = torso(truth)
            for mode, (results, ms) in run_modes(model, source, args.modes).items():
                predicted = np.full(truth.shape, np.nan)
                for f, r in enumerate(results):
                    if len(r):
                        predicted[f] = to_lsp(r.landmarks_px[0])
                _, value = pck(predicted, truth, np.ones(truth.shape[:2], bool), scale, 0.2)
                # Jitter against the truth: second difference of the error.
                error = predicted - truth
                acc = np.linalg.norm(np.diff(error, 2, axis=0), axis=-1).mean(axis=-1) / scale[1:-1]
                entry = totals.setdefault(mode, {"pck": [], "jitter": [], "found": [], "ms": []})
                entry["pck"].append(value)
                entry["jitter"].append(float(np.nanmean(acc)) if np.isfinite(acc).any() else np.nan)
                entry["found"].append(float(np.isfinite(predicted[:, 0, 0]).mean()))
                entry["ms"].append(ms)
        for mode, entry in totals.items():
            rows[f"{model} {mode}"] = {
                "model": model,
                "mode": mode,
                "clips": len(entry["pck"]),
                "frames_per_clip": args.frames,
                "pck@0.2": float(np.mean(entry["pck"])),
                "found": float(np.mean(entry["found"])),
                "jitter": float(np.nanmean(entry["jitter"])),
                "ms_per_frame": float(np.mean(entry["ms"])),
            }
            print(f"{model} {mode}: {rows[f'{model} {mode}']}", file=sys.stderr, flush=True)
    clips = f"im{args.first:04d}-im{args.last:04d} every {args.photo_step}"
    return {"photos": clips, "frame": [args.width, args.height, args.person], "rows": rows}


def run_coco(args: argparse.Namespace) -> dict:
    """COCO keypoint AP (whole images, up to 20 poses) on one half of coco_mini,
    by sorted file name: ``dev`` (the first half, where settings were chosen)
    or ``test`` (the second). Poses are ranked as ``blazepose eval`` does
    ("AP", :func:`~blazepose.evaluation.accuracy.pose_ranking_scores`), and,
    from the same answers, by mean visibility alone ("AP vis")."""
    import tempfile

    from blazepose.evaluation.accuracy import evaluate_coco, pose_ranking_scores

    source = DATA / "coco_mini" / "images"
    names = sorted(p.name for p in source.iterdir())
    half = names[: len(names) // 2] if args.half == "dev" else names[len(names) // 2 :]
    annotations = DATA / "coco_mini" / "person_keypoints.json"
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in half:
            (Path(folder) / name).symlink_to(source / name)
        for model in args.models:
            for accuracy in ("fast", "high"):
                answers: list[PoseResult] = []
                timed: list[float] = []
                with estimator(model, accuracy, True, max_poses=20) as est:

                    def run(
                        image: np.ndarray, est=est, answers=answers, timed=timed, accuracy=accuracy
                    ) -> tuple[np.ndarray, np.ndarray]:
                        started = time.perf_counter()
                        r = est.process(image)
                        timed.append(time.perf_counter() - started)
                        answers.append(r)
                        return r.landmarks_px[:, :, :2].astype(float), pose_ranking_scores(r, accuracy)

                    ev = evaluate_coco(run, annotations, Path(folder), "image", model)
                replay = iter(answers)  # evaluate_coco visits the photos in the same order

                def mean_visibility(image: np.ndarray, replay=replay) -> tuple[np.ndarray, np.ndarray]:
                    r = next(replay)
                    return r.landmarks_px[:, :, :2].astype(float), r.visibility.mean(axis=1).astype(float)

                vis = evaluate_coco(mean_visibility, annotations, Path(folder), "image", model)
                assert ev.coco is not None and vis.coco is not None
                rows[f"{model} {accuracy}"] = {
                    "model": model,
                    "accuracy": accuracy,
                    "photos": len(half),
                    "people": ev.people,
                    "AP": ev.coco["AP"],
                    "AP50": ev.coco["AP50"],
                    "AR": ev.coco["AR"],
                    "AP vis": vis.coco["AP"],
                    "pck@0.2": ev.pck,
                    "ms_per_photo": 1000 * float(np.mean(timed)),
                }
                print(f"{model} {accuracy}: {rows[f'{model} {accuracy}']}", file=sys.stderr, flush=True)
    return {"half": args.half, "rows": rows}


def markdown(report: dict) -> str:
    rows = list(report["rows"].values())
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    for row in rows:
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    for name in ("lsp", "video", "synthetic", "coco"):
        p = sub.add_parser(name)
        p.add_argument("--models", nargs="+", choices=tuple(MODELS), default=["heavy"])
        p.add_argument("--out", default="out/accuracy")
    lsp, video, synthetic = (sub.choices[n] for n in ("lsp", "video", "synthetic"))
    for p in (lsp, synthetic):
        p.add_argument("--first", type=int, default=501, help="first LSP photo number (1-based)")
        p.add_argument("--last", type=int, default=1000, help="last LSP photo number")
    lsp.add_argument("--accuracy", nargs="+", choices=("fast", "high"), default=["fast", "high"])
    modes = ("live fast", "live high", "offline high")
    for p in (video, synthetic):
        p.add_argument("--modes", nargs="+", choices=modes, default=list(modes))
    video.add_argument("--max-frames", type=int, default=300, help="frames per clip")
    video.add_argument("--clip-step", type=int, default=6, help="every n-th exercise clip")
    video.add_argument("--still", type=float, default=0.02, help="still: mean speed below this torso fraction")
    synthetic.add_argument("--photo-step", type=int, default=50, help="every n-th photo makes a clip")
    synthetic.add_argument("--frames", type=int, default=90)
    synthetic.add_argument("--width", type=int, default=480)
    synthetic.add_argument("--height", type=int, default=480)
    synthetic.add_argument("--person", type=float, default=0.6, help="photo's long side / frame height")
    sub.choices["coco"].add_argument("--half", choices=("dev", "test"), default="test")
    args = parser.parse_args(argv)
    report = {"lsp": run_lsp, "video": run_video, "synthetic": run_synthetic, "coco": run_coco}[args.what](args)
    report["command"] = "scripts/accuracy_report.py " + " ".join(sys.argv[1:] if argv is None else argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = f"_{args.width}x{args.height}" if args.what == "synthetic" else ""
    name = f"{args.what}_{'_'.join(args.models)}{tag}.json"
    (out / name).write_text(json.dumps(report, indent=1))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
