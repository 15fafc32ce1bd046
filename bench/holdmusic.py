"""Benchmark the hold-music filter on a seeded scenario set.

Reports, over recordings from ``evaluation.scenarios`` (real clips from ``--data``):

- frame-level precision / recall / F1 of stripped regions (10 ms frames of
  ``evaluation.music``, the evaluation's one frame scorer, pooled
  over the set; music with speech over it is in the reference as *kept*);
- speech lost: reference speech frames inside stripped regions, share of all;
- the same per reference kind: ``loop`` (the same audio repeated) and ``music``
  (played once): recall is that kind's reference frames stripped (by a region of
  any kind), precision is how much of what was stripped *as* that kind is music;
- false strips: recordings without music (speech-only, noise-only) with anything stripped;
- detection speed, x real time, on one core (threads pinned to 1), on a long
  recording (default 60 min);
- loop period and repeats error of each reference loop, against the detected
  region that overlaps it most.

Writes ``bench/results/holdmusic.json`` and prints a table. Usage::

    python bench/holdmusic.py [--seed 0] [--per-placement 6] [--long-minutes 60] [--data DIR]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"  # the speed target is per core; set before numpy loads its BLAS

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the evaluation package beside bench/

from evaluation.music import FRAME, frame_mask, music_counts  # noqa: E402
from evaluation.results import write_json  # noqa: E402
from evaluation.scenarios import Scenario, long_recording, scenario_set  # noqa: E402
from pipeline.core.timeline import stripped_regions  # noqa: E402
from pipeline.core.types import Region  # noqa: E402
from pipeline.stages.holdmusic.detector import MusicDetector  # noqa: E402
from pipeline.stages.holdmusic.settings import HoldMusicConfig  # noqa: E402

logger = logging.getLogger(__name__)

RESULTS = REPO / "bench" / "results" / "holdmusic.json"
DATA = REPO.parent / "shared" / "data"


def score(scenario: Scenario, regions: Sequence[Region], policy: str) -> dict:
    """Frame counts and loop errors of one recording."""
    stripped = stripped_regions(regions, policy)
    strippable = [(m.start, m.end) for m in scenario.strippable]
    counts = music_counts(
        strippable, [(r.start, r.end) for r in stripped], scenario.speech, duration=scenario.duration
    )
    hyp = frame_mask([(r.start, r.end) for r in stripped], scenario.duration)
    ref = frame_mask(strippable, scenario.duration)
    loops = []
    for truth in scenario.strippable:
        if truth.kind != "loop":
            continue
        overlaps = [(min(r.end, truth.end) - max(r.start, truth.start), r) for r in regions]
        overlap, match = max(overlaps, key=lambda o: o[0], default=(0.0, None))
        period_error = repeats_error = None
        if match is not None and overlap > 0.5 * (truth.end - truth.start):
            if match.period is not None and truth.period is not None:
                period_error = abs(match.period - truth.period)
            if match.repeats is not None and truth.repeats is not None:
                repeats_error = abs(match.repeats - truth.repeats)
        loops.append(
            {
                "period": truth.period,
                "repeats": truth.repeats,
                "found": period_error is not None,
                "period_error": period_error,
                "repeats_error": repeats_error,
            }
        )
    kinds = {}
    for kind in ("loop", "music"):
        ref_k = frame_mask(
            [(m.start, m.end) for m in scenario.strippable if m.kind == kind], scenario.duration
        )
        hyp_k = frame_mask([(r.start, r.end) for r in stripped if r.kind == kind], scenario.duration)
        kinds[kind] = {
            "reference": int(ref_k.sum()),
            "found": int(np.sum(hyp & ref_k)),
            "stripped": int(hyp_k.sum()),
            "correct": int(np.sum(hyp_k & ref)),
        }
    return {
        "name": scenario.name,
        "kinds": kinds,
        "duration": scenario.duration,
        "tags": list(scenario.tags),
        "tp": counts.true_positive,
        "fp": counts.false_positive,
        "fn": counts.false_negative,
        "speech": counts.speech,
        "speech_lost": counts.speech_lost,
        "speech_only": not scenario.music,
        "stripped": [[r.start, r.end, r.kind, r.period, r.repeats, r.confidence] for r in stripped],
        "reference": [[m.start, m.end, m.kind, m.period, m.repeats, m.speech_over] for m in scenario.music],
        "loops": loops,
    }


def summarize(rows: Sequence[dict]) -> dict:
    """Pooled metrics over ``rows``."""
    tp, fp, fn = (sum(r[k] for r in rows) for k in ("tp", "fp", "fn"))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    loops = [loop for r in rows for loop in r["loops"]]
    found = [loop for loop in loops if loop["found"]]
    kinds = {}
    for kind in ("loop", "music"):
        counts = {
            k: sum(r["kinds"][kind][k] for r in rows) for k in ("reference", "found", "stripped", "correct")
        }
        kinds[kind] = {
            "reference_hours": counts["reference"] * FRAME / 3600,
            "recall": counts["found"] / counts["reference"] if counts["reference"] else None,
            "precision": counts["correct"] / counts["stripped"] if counts["stripped"] else None,
        }
    return {
        "recordings": len(rows),
        "kinds": kinds,
        "hours": sum(r["duration"] for r in rows) / 3600,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "speech_lost": sum(r["speech_lost"] for r in rows) / max(1, sum(r["speech"] for r in rows)),
        "false_strips": sum(1 for r in rows if r["speech_only"] and r["stripped"]),
        "speech_only_recordings": sum(1 for r in rows if r["speech_only"]),
        "loops": len(loops),
        "loops_found": len(found),
        "period_error_median": float(np.median([x["period_error"] for x in found])) if found else None,
        "period_error_max": max((x["period_error"] for x in found), default=None),
        "repeats_error_median": float(np.median([x["repeats_error"] for x in found])) if found else None,
    }


def speed(detector: MusicDetector, minutes: float, seed: int, data: Path) -> dict:
    """Detection time on one long recording, x real time."""
    scenario = long_recording(np.random.default_rng(seed), data, minutes=minutes)
    start = time.perf_counter()
    regions = detector.detect(scenario.audio)
    elapsed = time.perf_counter() - start
    row = score(scenario, regions, "music")
    return {
        "minutes": scenario.duration / 60,
        "seconds": elapsed,
        "x_real_time": scenario.duration / elapsed,
        "f1": 2 * row["tp"] / max(1, 2 * row["tp"] + row["fp"] + row["fn"]),
        "regions": row["stripped"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--per-placement", type=int, default=6, help="recordings per placement (six placements)"
    )
    parser.add_argument(
        "--long-minutes", type=float, default=60.0, help="length of the speed recording; 0 skips it"
    )
    parser.add_argument("--policy", default="music", choices=["music", "loops"])
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--data", type=Path, default=DATA, help="folder of the real clips (default: ../shared/data)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    config = HoldMusicConfig()
    detector = MusicDetector(config)
    t0 = time.perf_counter()
    scenarios = scenario_set(args.data, args.seed, per_placement=args.per_placement)
    logger.info("generated %d recordings in %.1f s", len(scenarios), time.perf_counter() - t0)
    rows = []
    detect_seconds = 0.0
    for scenario in scenarios:
        start = time.perf_counter()
        regions = detector.detect(scenario.audio)
        detect_seconds += time.perf_counter() - start
        rows.append(score(scenario, regions, args.policy))

    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["name"].rsplit("-", 1)[0], []).append(row)
        for tag in row["tags"]:
            groups.setdefault(f"+{tag}", []).append(row)
    result = {
        "seed": args.seed,
        "policy": args.policy,
        "config": config.model_dump(),
        "overall": summarize(rows),
        "groups": {name: summarize(g) for name, g in groups.items()},
        "set_x_real_time": sum(r["duration"] for r in rows) / detect_seconds,
        "speed": speed(detector, args.long_minutes, args.seed, args.data) if args.long_minutes > 0 else None,
        "recordings": rows,
    }
    write_json(args.output, result)
    print_table(result)
    return 0


def print_table(result: dict) -> None:
    """The summary as a fixed-width table on stdout."""

    def fmt(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    print(
        f"{'group':<14}{'n':>4}{'F1':>8}{'prec':>8}{'recall':>8}{'speech lost':>13}{'false strips':>14}"
        f"{'loops found':>13}{'period err':>12}{'repeats err':>13}"
    )
    for name, s in [("overall", result["overall"]), *sorted(result["groups"].items())]:
        print(
            f"{name:<14}{s['recordings']:>4}{s['f1']:>8.4f}{s['precision']:>8.4f}{s['recall']:>8.4f}"
            f"{s['speech_lost']:>12.3%}{s['false_strips']:>9}/{s['speech_only_recordings']:<4}"
            f"{s['loops_found']:>8}/{s['loops']:<4}{fmt(s['period_error_median'], '>10.3f'):>10} s"
            f"{fmt(s['repeats_error_median'], '>12.2f'):>12}"
        )
    print("false strips: recordings without music (speech-only, noise-only) with anything stripped")
    print(f"\n{'group':<14}{'loop recall':>13}{'loop prec':>11}{'music recall':>14}{'music prec':>12}")
    for name, s in [("overall", result["overall"]), *sorted(result["groups"].items())]:
        k = s["kinds"]
        print(
            f"{name:<14}{fmt(k['loop']['recall'], '.4f'):>13}{fmt(k['loop']['precision'], '.4f'):>11}"
            f"{fmt(k['music']['recall'], '.4f'):>14}{fmt(k['music']['precision'], '.4f'):>12}"
        )
    print(f"detection over the set: {result['set_x_real_time']:.0f}x real time")
    if result["speed"]:
        sp = result["speed"]
        print(
            f"speed, {sp['minutes']:.0f} min recording, 1 thread: {sp['seconds']:.2f} s = "
            f"{sp['x_real_time']:.0f}x real time (F1 {sp['f1']:.4f})"
        )


if __name__ == "__main__":
    sys.exit(main())
