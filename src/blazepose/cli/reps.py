"""``blazepose reps``: repetitions counted in videos, cameras and streams.

Per input: an annotated MP4 (skeleton, exercise, running count, phase) and the
repetitions of the main person as CSV and JSON. Video files are read twice
(landmarks, then drawing with the final count); cameras and streams once, the
count on screen re-estimated every 15 frames over a recent window only
(repetitions that ended more than :data:`~blazepose.fitness.live.DEFAULT_HORIZON_S`
ago are frozen, older frames dropped: :class:`~blazepose.fitness.live.LiveWindow`),
so that the cost per frame and the memory stay bounded however long they run.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import signal
import sys
import time
import zipfile
from pathlib import Path

from blazepose.cli.run import Reporter, user_warnings
from blazepose.core.timestamps import after_previous_ms
from blazepose.io.inputs import Input, expand_inputs, output_names
from blazepose.runner.jobs import MODELS, RunSettings, open_landmarker

REANALYSE_EVERY = 15  # frames, live inputs


def add_parser(sub) -> None:
    p = sub.add_parser(
        "reps",
        help="count exercise repetitions in videos, camera indices or stream URLs",
        description="Writes, per input, NAME.reps.mp4 (annotated), NAME.reps.csv and NAME.reps.json (one row "
        "per repetition of the main person: start, end, duration, range of the main joint's angle). Exit "
        "status: 0 when every input worked, 1 when some failed, 2 on a usage error, 130 (143 on SIGTERM) when "
        "interrupted; a video file interrupted midway leaves no outputs (a camera or stream keeps what it saw); "
        "a video cut short is counted on the frames it gave (exit 1, its summary's error says what was wrong).",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        help="video, folder, glob, camera index (0), stream URL or landmark file of blazepose run "
        "(NAME.landmarks.jsonl, .csv or .npz; a folder holding some, such as run's output, gives those)",
    )
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument(
        "--exercise",
        default="auto",
        help="auto (recognise squat, push-up, pull-up, dip) or a name (others: counted with no training)",
    )
    p.add_argument(
        "--classifier",
        default=None,
        help="count with this k-NN classifier file (from `blazepose classifier fit`), or 'default'",
    )
    p.add_argument(
        "--count-class", default=None, help="the classifier's class to count (default: the exercise's *_down class)"
    )
    p.add_argument("--model", choices=tuple(MODELS), default="full")
    p.add_argument(
        "--num-poses",
        type=int,
        default=1,
        help="people to follow (default 1: one person, one count, even if they leave the frame and come back; "
        "more: one count per track id)",
    )
    p.add_argument("--threads", type=int, default=None, help="inference threads")
    p.add_argument("--no-annotate", action="store_true", help="write no annotated video")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--quiet", action="store_true", help="no progress, only errors and warnings")
    p.add_argument("--json", action="store_true", help="JSON lines on stdout; the last per input is its result")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blazepose.backends import MAX_THREADS
    from blazepose.fitness.classifier import PoseClassifier, default_classifier
    from blazepose.fitness.session import check_counting

    threads_bad = args.threads is not None and not 1 <= args.threads <= MAX_THREADS
    if args.num_poses < 1 or threads_bad or not args.exercise.strip():
        print(f"blazepose reps: --num-poses and --threads must be >= 1 (--threads at most {MAX_THREADS}) and "
              "--exercise not empty", file=sys.stderr, flush=True)  # fmt: skip
        return 2
    from blazepose.fitness.recognition import canonical_exercise

    if canonical_exercise(args.exercise) == "none":  # (what auto says of a clip with no exercise)
        print("blazepose reps: --exercise none would count nothing; give auto or an exercise name", file=sys.stderr,
              flush=True)  # fmt: skip
        return 2
    if args.count_class and not args.classifier:
        print("blazepose reps: --count-class needs --classifier (FILE or 'default')", file=sys.stderr, flush=True)
        return 2
    classifier = None
    if args.classifier:
        try:
            classifier = default_classifier() if args.classifier == "default" else PoseClassifier.load(args.classifier)
            if args.count_class and args.count_class not in classifier.class_names:
                raise ValueError(f"--count-class {args.count_class!r} is not one of {classifier.class_names}")
            check_counting(args.exercise, None, classifier, args.count_class)  # e.g. no class for the exercise
        except (ValueError, OSError) as problem:
            print(f"blazepose reps: {problem}", file=sys.stderr, flush=True)
            return 2
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as problem:
        print(f"blazepose reps: --out {out}: cannot be made a folder ({problem.strerror})", file=sys.stderr,
              flush=True)  # fmt: skip
        return 2
    reporter = Reporter(args.quiet, args.json)
    inputs, errors = expand_inputs(_with_landmark_folders(args.inputs))
    for e in errors:
        reporter.error(e)
    stop: dict = {"requested": False, "signal": None}

    def on_signal(signum, frame):
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"], stop["signal"] = True, signum

    if hasattr(args, "signal_state"):  # (set by blazepose.cli.main)
        args.signal_state.handles_signals = True
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    names = output_names(inputs, [_base_name(inp) for inp in inputs])
    try:
        for inp, name in zip(inputs, names, strict=True):
            if stop["requested"]:
                break
            try:
                summary = _one_input(inp, name, out, args, classifier, reporter, stop)
            except (ValueError, RuntimeError, OSError, ImportError) as e:
                message = inp.naming(str(e))
                reporter.error(message)
                errors.append(message)
                continue
            if summary.get("error"):  # a video cut short: its frames were counted, the problem reported
                reporter.error(summary["error"])
                errors.append(summary["error"])
            if args.json:
                print(json.dumps(summary, allow_nan=False), flush=True)
            elif not args.quiet:
                print(f"{inp.location}: {summary['exercise']}, {summary['count']} repetition(s)", flush=True)
    except KeyboardInterrupt:
        stop["requested"], stop["signal"] = True, stop["signal"] or signal.SIGINT
        reporter.error("interrupted")
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stop["requested"]:
        return 128 + int(stop["signal"] or signal.SIGINT)
    return 1 if errors else 0


def _with_landmark_folders(items: list[str]) -> list[str]:
    """``items`` with each folder that holds landmark files (``blazepose run``'s output) replaced by those
    files, one per clip (JSON Lines, else NPZ, else CSV), and by the videos of clips that have none: the
    annotated videos ``run`` and ``reps`` wrote are not counted again."""
    from blazepose.io.inputs import VIDEO_SUFFIXES

    expanded = []
    for item in items:
        folder = Path(item)
        files = sorted(f for f in folder.iterdir() if _is_landmark_file(f.name)) if folder.is_dir() else []
        if not files:
            expanded.append(item)
            continue
        chosen: dict[str, Path] = {}
        for f in sorted(files, key=lambda f: ("jsonl", "npz", "csv").index(f.suffix.lower()[1:]), reverse=True):
            chosen[f.name.rsplit(".landmarks.", 1)[0]] = f  # the preferred format comes last and stays
        # The clips with no landmark file, by their video (they were dropped without a word). `run` names the
        # outputs of clip.mp4 "clip" or, beside clip.mov, "clip_mp4".
        videos = [
            video
            for video in sorted(f for f in folder.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES and f.is_file())
            if not video.stem.endswith((".annotated", ".world3d", ".reps"))
            and video.stem not in chosen
            and f"{video.stem}_{video.suffix[1:].lower()}" not in chosen
        ]
        expanded += [str(chosen[clip]) for clip in sorted(chosen)] + [str(video) for video in videos]
    return expanded


def _base_name(inp: Input) -> str:
    """The outputs' name before telling apart inputs that share one: ``clip`` for ``clip.landmarks.jsonl``."""
    return inp.name.removesuffix(".landmarks") if _is_landmark_file(inp.location) else inp.name


def _one_input(inp: Input, name: str, out: Path, args, classifier, reporter: Reporter, stop: dict) -> dict:
    """Counts one input and writes its outputs (named ``name``, distinct from the other inputs').

    An input that fails, or a video file interrupted midway, leaves none of its own outputs behind;
    earlier outputs that it did not reach are kept. A video that ends early or has frames that could
    not be decoded is counted on the frames it gave; the summary's ``error`` says what was wrong.
    """
    landmarks = inp.kind == "photo" and _is_landmark_file(inp.location)
    if inp.kind == "photo" and not landmarks:
        raise ValueError(f"{inp.location}: a photo; repetitions need a video, camera or stream")
    paths = {k: out / f"{name}.reps.{k}" for k in ("mp4", "csv", "json")}
    if args.no_annotate or landmarks:
        del paths["mp4"]
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not args.force:
        raise ValueError(f"{inp.location}: outputs exist ({', '.join(existing)}); use --force to overwrite")
    before = {path: path.stat().st_mtime_ns if path.exists() else None for path in paths.values()}
    try:
        if landmarks:
            summary = _process_landmark_file(inp, paths, args, classifier, reporter)
        else:
            summary = _process(inp, paths, args, classifier, reporter, stop)
        if stop["requested"] and inp.kind == "video":  # cameras and streams end on Ctrl-C: theirs are whole
            raise ValueError(f"{inp.location}: interrupted; its partial outputs were removed")
    except BaseException:
        for path, mtime in before.items():  # what this run wrote (or began to overwrite), not older outputs
            if path.exists() and path.stat().st_mtime_ns != mtime:
                path.unlink()
        raise
    return summary


def _process(inp: Input, paths: dict[str, Path], args, classifier, reporter: Reporter, stop: dict) -> dict:
    from blazepose.fitness.live import DEFAULT_HORIZON_S
    from blazepose.fitness.session import RepTracker
    from blazepose.fitness.shots import ShotCuts
    from blazepose.io.video_writer import writer_for_source

    one_person = args.num_poses == 1  # the pose tracker's new id for someone who came back is still them
    live = inp.kind != "video"
    # A video file's tracks are all reported, as from its landmark file; a camera or stream forgets those
    # gone for 30 frames and is counted over a recent window, so that its memory and cost stay bounded.
    tracker = RepTracker(id_memory=30 if live else 10**9, exercise=args.exercise.strip(), classifier=classifier,
                         count_class=args.count_class, one_person=one_person,
                         horizon_s=DEFAULT_HORIZON_S if live else None)  # fmt: skip
    cuts = ShotCuts()  # a cut to another camera or scene starts a new bout, as an absence does
    source = _source(inp)
    video = None
    results = []
    started = time.monotonic()
    last_ms = first_ms = None
    reports: dict = {}
    damage: list[str] = []  # a video cut short: what was wrong (its frames are still counted)
    try:
        settings = RunSettings(out=Path(args.out), model=args.model, num_poses=args.num_poses, threads=args.threads)
        with open_landmarker(settings, video=True) as landmarker:
            for n, frame in enumerate(_frames_until_damage(source, damage)):
                if stop["requested"]:
                    break
                ts = after_previous_ms(frame.timestamp_ms, last_ms)
                first_ms = ts if first_ms is None else first_ms
                last_ms = ts
                result = landmarker.detect_for_video(frame.rgb, ts).result
                # Times from the first frame, as the annotated video's (a container's clock may start anywhere).
                tracker.update(result, (ts - first_ms) / 1000, cuts.update(frame.rgb))
                if live and n % REANALYSE_EVERY == 0:  # also drops the frames frozen, drawn or not
                    reports = tracker.reports()
                if live and "mp4" in paths:
                    if video is None:
                        video = writer_for_source(paths["mp4"], source, frame.rgb, first_ms)
                    video.write(_draw(frame.rgb, result, reports, (ts - first_ms) / 1000, one_person), ts, first_ms)
                elif not live:
                    results.append((frame.index, ts, result))
                reporter.progress(inp.name, n + 1, source.expected_frames, time.monotonic() - started)
    finally:
        source.close()
        if video is not None:
            video.close()
    incomplete = damage[0] if damage else None
    if last_ms is None:
        raise ValueError(incomplete or f"{inp.location}: no frame could be decoded")
    reports = tracker.reports()
    if not live and "mp4" in paths:
        _annotate_file(inp, paths["mp4"], results, reports, stop, one_person)
    summary = _summarise(inp, paths, reports, tracker.sequences)
    return summary if incomplete is None else {**summary, "error": incomplete}


def _frames_until_damage(source, damage: list[str]):
    """The frames of ``source``; a video that ends early or has frames that could not be decoded
    (:class:`~blazepose.io.video.IncompleteVideo`, raised after its good frames) ends the frames, the
    message appended to ``damage``."""
    from blazepose.io.video import IncompleteVideo

    try:
        yield from source.frames()
    except IncompleteVideo as problem:
        damage.append(str(problem))


def _is_landmark_file(location: str) -> bool:
    return any(location.lower().endswith(f".landmarks.{fmt}") for fmt in ("jsonl", "csv", "npz"))


def _process_landmark_file(inp: Input, paths: dict[str, Path], args, classifier, reporter: Reporter) -> dict:
    """A landmark file written by ``blazepose run``: counted per track id (one person when ``--num-poses 1``
    and no frame holds two poses), tables only. What reading it warns of (a file that an error ended:
    the frames before it are counted) is one line on stderr."""
    from blazepose.fitness.session import analyse, sequences_from_records
    from blazepose.io.landmark_files import load_landmarks

    with user_warnings(lambda message: reporter.warning(inp.naming(message))):
        try:
            records = load_landmarks(inp.location)
        except (KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile) as e:  # what a damaged file raises
            raise ValueError(f"{inp.location}: not a landmark file written by `blazepose run` ({e!r})") from e
        if not records:
            raise ValueError(f"{inp.location}: no frame in this landmark file")
        # Times from the first frame, as counting the video itself gives them (its container's clock may
        # start anywhere: the landmark file keeps it).
        first_ms = records[0].timestamp_ms
        if first_ms is not None:
            records = [
                dataclasses.replace(r, timestamp_ms=None if r.timestamp_ms is None else r.timestamp_ms - first_ms)
                for r in records
            ]
        # One person (one count) when followed alone: at most one pose in every frame.
        one_person = args.num_poses == 1 and all(len(record.result) <= 1 for record in records)
        sequences = sequences_from_records(records, one_person)
    reports = {t: analyse(s, args.exercise.strip(), None, classifier, args.count_class) for t, s in sequences.items()}
    return _summarise(inp, paths, reports, sequences)


def _summarise(inp: Input, paths: dict[str, Path], reports: dict, sequences: dict) -> dict:
    """Writes the main person's tables; the summary printed with --json."""
    # The main person: the track seen in most frames.
    seen = {t: sequences[t].seen_frames() for t in reports}
    main = max(seen, key=lambda t: seen[t], default=None)
    empty = {"exercise": "none", "main_joint": "", "count": 0, "reps": []}
    report = reports[main].as_dict() if main is not None else empty
    _write_tables(paths, report)
    tracks = {str(t): {"exercise": r.exercise, "count": r.count} for t, r in reports.items()}
    return {"input": inp.location, **report, "track_id": main, "outputs": [str(p) for p in paths.values()],
            "tracks": tracks}  # fmt: skip


def _source(inp: Input):
    from blazepose.io.video import CameraSource, VideoSource

    return CameraSource(int(inp.location)) if inp.kind == "camera" else VideoSource(inp.location)


def _annotate_file(inp: Input, path: Path, results: list, reports: dict, stop: dict, one_person: bool) -> None:
    from blazepose.io.video import VideoSource
    from blazepose.io.video_writer import writer_for_source

    by_index = {index: (ts, result) for index, ts, result in results}
    source = VideoSource(inp.location)
    video = None
    first_ms = results[0][1]
    try:
        for frame in _frames_until_damage(source, []):  # (its damage was reported by the first pass)
            if stop["requested"] or frame.index not in by_index:
                continue
            ts, result = by_index[frame.index]
            video = video or writer_for_source(path, source, frame.rgb, first_ms)
            video.write(_draw(frame.rgb, result, reports, (ts - first_ms) / 1000, one_person), ts, first_ms)
    finally:
        source.close()
        if video is not None:
            video.close()


def _phase_name(report, time_s: float) -> str:
    import numpy as np

    i = int(np.searchsorted(report.times_s, time_s, side="right")) - 1
    if i < 0 or not np.isfinite(report.phase[i]):
        return "-"
    u = report.phase[i]
    if u >= 2 / 3:
        return "rest"
    if u <= 1 / 3:
        return "far point"
    before = report.phase[max(i - 3, 0)]
    return "returning" if np.isfinite(before) and u > before else "going"


def _draw(rgb, result, reports: dict, time_s: float, one_person: bool = False):
    """The frame with skeletons and, top left, a line per person: exercise, count so far, phase (with
    ``one_person``, the only report whatever the pose's track id)."""
    import cv2

    from blazepose.draw.overlay import annotate_frame

    bgr = annotate_frame(rgb, result, "none")
    scale = max(bgr.shape[0] / 480, 0.6)
    lines = []
    for track in result.track_ids:
        report = next(iter(reports.values()), None) if one_person else reports.get(int(track))
        if report is not None:
            who = f"#{int(track)} " if len(result) > 1 else ""
            lines.append(f"{who}{report.exercise}  reps {report.count_at(time_s)}  {_phase_name(report, time_s)}")
    for k, text in enumerate(lines):
        org = (int(10 * scale), int((35 + 35 * k) * scale))
        for color, width in (((0, 0, 0), 6), ((255, 255, 255), 2)):
            cv2.putText(bgr, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, max(1, int(width * scale)), cv2.LINE_AA)
    return bgr


def _write_tables(paths: dict[str, Path], report: dict) -> None:
    paths["json"].write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    with open(paths["csv"], "w", newline="", encoding="utf-8") as f:
        columns = ["rep", "start_s", "end_s", "duration_s", "angle_min", "angle_max", "angle_range", "finished"]
        writer = csv.writer(f)
        writer.writerow(columns)
        for n, row in enumerate(report["reps"], 1):
            writer.writerow([n, *(row[c] for c in columns[1:])])
