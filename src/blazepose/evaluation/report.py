"""Writing evaluation results: Markdown table, JSON and a PCK-threshold plot."""

from __future__ import annotations

import json
from pathlib import Path

from blazepose.evaluation.accuracy import PCK_THRESHOLDS, Evaluation


def _pct(v: float | None) -> str:
    return "n/a" if v is None or v != v else f"{100 * v:.1f}"


def markdown(evaluations: list[Evaluation], command: str, machine: str) -> str:
    """A report: summary table, then per-keypoint PCK tables per dataset."""
    lines = [
        "# Accuracy on keypoint datasets",
        "",
        f"Made by `{command}` on {machine}.",
        "",
        "PCK@0.2: a keypoint is correct within 20% of the person's torso size (left shoulder to",
        "right hip, as annotated). PCKh@0.5 (MPII): within half the head size (upper neck to head",
        "top). AP/AR: COCO keypoint metrics from pycocotools. Protocol `single`: each annotated",
        "person's box, enlarged 1.25x and squared, is cropped and run in static mode; `image`: whole",
        "images with several poses (MediaPipe's legacy API returns one). Numbers are percentages.",
        "",
        "| dataset | protocol | model | people | PCK | AP | AP50 | AR |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in sorted(evaluations, key=lambda e: (e.dataset, e.protocol)):
        coco = e.coco or {}
        metric = "PCKh@0.5" if e.kind == "mpii" else "PCK@0.2"
        lines.append(
            f"| {e.dataset} | {e.protocol} | {e.model} | {e.people} | {metric} {_pct(e.pck)} | "
            f"{_pct(coco.get('AP'))} | {_pct(coco.get('AP50'))} | {_pct(coco.get('AR'))} |"
        )
    groups = _groups(evaluations)
    for (dataset, _, protocol), group in groups.items():
        names = list(group[0].pck_per_keypoint)
        lines += ["", f"## {dataset}, {protocol}: per keypoint", ""]
        lines.append("| keypoint | " + " | ".join(e.model for e in group) + " |")
        lines.append("| --- |" + " --- |" * len(group))
        for name in names:
            lines.append(f"| {name} | " + " | ".join(_pct(e.pck_per_keypoint[name]) for e in group) + " |")
    return "\n".join(lines) + "\n"


def _groups(evaluations: list[Evaluation]) -> dict[tuple[str, str, str], list[Evaluation]]:
    """The evaluations by dataset, format and protocol (one per-keypoint table and one plot each)."""
    groups: dict[tuple[str, str, str], list[Evaluation]] = {}
    for e in evaluations:
        groups.setdefault((e.dataset, e.kind, e.protocol), []).append(e)
    return groups


def write(evaluations: list[Evaluation], out: Path, command: str, machine: str) -> list[Path]:
    """Writes eval.md, eval.json and pck.png into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    md, js, png = out / "eval.md", out / "eval.json", out / "pck.png"
    md.write_text(markdown(evaluations, command, machine))
    js.write_text(
        json.dumps(
            {
                "command": command,
                "machine": machine,
                "thresholds": PCK_THRESHOLDS.tolist(),
                "results": [e.to_dict() for e in evaluations],
            },
            indent=2,
        )
        + "\n"
    )
    written = [md, js]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return written
    groups = _groups(evaluations)
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4), squeeze=False)
    for ax, ((dataset, _, protocol), group) in zip(axes[0], groups.items(), strict=True):
        for e in group:
            style = "--" if e.model.startswith("mediapipe") else "-"
            ax.plot(PCK_THRESHOLDS, [100 * v for v in e.pck_curve], style, label=e.model)
        ax.set_title(f"{dataset} ({protocol})")
        ax.set_xlabel("threshold (x head size)" if group[0].kind == "mpii" else "threshold (x torso size)")
        ax.set_ylabel("PCK (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return [*written, png]
