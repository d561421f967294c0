"""``mctrack eval``: MOT metrics of result files against ground truth: sequence folders (``--gt``), or a camera set's
cameras with the cross-camera metrics (``--cams``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..config import is_live_source, load_cams
from ..errors import InputError
from ..eval.mot import (
    BENCHMARKS,
    combine,
    evaluate_folder_sequences,
    format_identities,
    format_identity_diff,
    format_table,
    identities_json,
    read_ground_truth,
    write_json,
)
from ..eval.multicam import evaluate_multicam, format_multicam
from ..io.mot import load_mot_txt
from ..io.video import open_source
from ..outputs import RUN_LOCK, is_run_local_folder, output_file

__all__ = ["register", "main"]

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="HOTA/MOTA/IDF1 of tracking results (TrackEval definitions)",
        description="Evaluate MOTChallenge result files against ground truth with TrackEval's "
        "definitions (IoU >= 0.5 for CLEAR/Identity, HOTA over IoU 0.05-0.95, GT rows with conf 0 ignored as "
        "TrackEval does; MOT16/17/20 ground truth, with class ids in column 8, under TrackEval's MOT17/MOT20 "
        "protocol: predictions on distractors removed, only pedestrians to find; see --benchmark). With --cams, "
        "the cameras of a camera set (their ground_truth files) against PRED/<camera>.txt with global ids, plus "
        "the cross-camera metrics that mctrack run prints (frame-shifted concatenation: every wrong or missed link "
        "across cameras counts).",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--gt", help="ground-truth folder: GT/<sequence>/gt/gt.txt and seqinfo.ini")
    where.add_argument(
        "--cams",
        help="camera set (cams.yaml) whose cameras' ground_truth files are scored, each against PRED/<camera>.txt, "
        "with cross-camera metrics (a camera's length is its video's or image folder's frame count)",
    )
    p.add_argument("--pred", required=True, help="results folder: PRED/<sequence>.txt or PRED/<camera>.txt")
    p.add_argument("--sequences", nargs="+", help="only these sequences or cameras (default: every one)")
    p.add_argument("--missing-ok", action="store_true", help="score a missing result file as empty")
    p.add_argument("--keep-zero-marked", action="store_true", help="also count GT rows whose conf column is 0")
    p.add_argument(
        "--benchmark",
        choices=BENCHMARKS,
        type=_benchmark_name,
        default="auto",
        help="the protocol, as TrackEval's BENCHMARK: MOT15 (no classes), MOT16/MOT17 (ground-truth class ids in "
        "column 8: predicted boxes matched to a person on a vehicle, static person, distractor or reflection are "
        "removed, and only pedestrians are people to find), MOT20 (also non-motorised vehicles as distractors). "
        "Default auto: MOT17's where the ground truth holds class ids other than pedestrian (MOT20's for a sequence "
        "named MOT20-*; never with --cams, whose cameras are no sequences: ask for MOT20), else MOT15's",
    )
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.add_argument(
        "--by-identity",
        action="store_true",
        help="with --gt: also list, per sequence and ground-truth id, the track IDF1's assignment gives it, the rows "
        "that track covers there (IDTP) and which tracks cover it frame by frame",
    )
    p.add_argument(
        "--against",
        metavar="PRED2",
        help="with --gt: also score another results folder and list, per sequence, the ground-truth ids whose IDTP "
        "differs between the two, with both results' coverage: where a difference in IDF1 comes from",
    )
    p.set_defaults(func=main, uses_torch=False)  # scores files: torch is not imported (mctrack.cli)


def _benchmark_name(text: str) -> str:
    """``--benchmark`` in any case (mot17: MOT17), as BENCHMARKS spells it."""
    return next((b for b in BENCHMARKS if b.lower() == text.lower()), text)


def main(args: argparse.Namespace) -> int:
    if args.json:  # checked before scoring
        output_file("--json", args.json)
    if args.cams and (args.by_identity or args.against):
        raise InputError("--by-identity/--against: with --gt (MOTChallenge sequences) only")
    details = []
    if args.cams:
        metrics = evaluate_cams(args)
        table = format_multicam(metrics)
    else:
        options = {
            "sequences": args.sequences,
            "keep_zero_marked": args.keep_zero_marked,
            "missing_ok": args.missing_ok,
            "benchmark": args.benchmark,
        }
        by_identity = bool(args.by_identity or args.against)
        if args.against:
            _check_results_folder("--against", Path(args.against))
        with _each_warning_once():  # the ground truth's warnings are said once, not again for --against
            results = evaluate_folder_sequences(args.gt, args.pred, by_identity=by_identity, **options)
            if args.against:
                other = evaluate_folder_sequences(
                    args.gt, args.against, by_identity=True, pred_option="--against", **options
                )
        metrics = _with_combined(results)
        table = format_table(metrics)
        for seq, r in results.items():  # in the JSON file, the protocol each sequence was scored under
            metrics[seq] = {
                **metrics[seq],
                "benchmark": r["benchmark"],
                "removed_tracker_dets": r["removed_tracker_dets"],
            }
        used = {r["benchmark"] for r in results.values()}
        metrics["COMBINED"]["benchmark"] = used.pop() if len(used) == 1 else "mixed"
        metrics["COMBINED"]["removed_tracker_dets"] = sum(r["removed_tracker_dets"] for r in results.values())
        if by_identity:  # in the JSON file, each sequence's entry with its ground-truth ids
            for seq, r in results.items():
                metrics[seq] = {**metrics[seq], "identities": identities_json(r["identities"])}
        if args.by_identity:
            details += [format_identities(seq, r["identities"]) for seq, r in results.items()]
        if args.against:
            labels = (f"A: {args.pred}", f"B: {args.against}")
            theirs = _with_combined(other)
            # in the JSON file, B's metrics (and ground-truth ids) under each of A's entries: the keys stay sequences
            for seq, entry in theirs.items():
                ids = {"identities": identities_json(other[seq]["identities"])} if seq in other else {}
                metrics[seq] = {**metrics[seq], "against": {**entry, **ids}}
            note = " (in --json: each entry's 'against')" if args.json else ""
            details.append(f"B: {args.against}{note}\n{format_table(theirs)}")
            details += [format_identity_diff(seq, r, other[seq], labels) for seq, r in results.items()]
    if args.json:  # before the table is printed: written whatever becomes of the output
        write_json(args.json, metrics)
    print(table)
    for text in details:
        print(f"\n{text}")
    if args.json:
        print(f"metrics written to {args.json}")
    return 0


def _with_combined(results: dict[str, dict]) -> dict[str, dict]:
    """``evaluate_folder_sequences``' results as ``evaluate_folders`` gives them: summaries, and the pooled one."""
    metrics = {seq: r["summary"] for seq, r in results.items()}
    metrics["COMBINED"] = combine(list(results.values()))["summary"]
    return metrics


@contextlib.contextmanager
def _each_warning_once() -> Iterator[None]:
    """Within the block, the evaluation's log lines are said once each (scoring two results folders against the
    same ground truth would say its warnings twice)."""
    said: set[str] = set()

    def first_time(record: logging.LogRecord) -> bool:
        text = record.getMessage()
        new = text not in said
        said.add(text)
        return new

    logger = logging.getLogger("mctrack.eval.mot")
    with contextlib.ExitStack() as stack:
        logger.addFilter(first_time)
        stack.callback(logger.removeFilter, first_time)
        yield


def _check_results_folder(option: str, folder: Path) -> None:
    """A results folder given by ``option`` is there and is a folder (a result file given in its place was said to
    be "not found")."""
    if folder.is_file():
        raise InputError(f"{option} {folder}: a file, not a results folder; give the folder that holds it")
    if not folder.is_dir():
        raise InputError(f"{option} {folder}: results folder not found")


def evaluate_cams(args: argparse.Namespace) -> dict:
    """``--cams``: every camera with ground truth (of ``--sequences``, if given) scored as ``mctrack run`` scores it."""

    cams = load_cams(args.cams)
    pred_dir = Path(args.pred)
    _check_results_folder("--pred", pred_dir)
    if is_run_local_folder(pred_dir):  # its cross-camera score would count every camera's ids as other people
        raise InputError(
            f"--pred {pred_dir}: a run's local/ files hold each camera's own track ids, not global ones; give the run "
            f"folder ({pred_dir.parent})"
        )
    known = [c.id for c in cams.cameras]
    asked = [c.rstrip("/") for c in args.sequences or ()]  # a trailing slash (tab completion): no camera id has one
    unknown = [c for c in asked if c not in known]
    if unknown:
        raise InputError(f"--sequences: no camera {', '.join(unknown)} in {args.cams} (cameras: {', '.join(known)})")
    chosen = [c for c in cams.cameras if not asked or c.id in asked]
    without = [c.id for c in chosen if not c.ground_truth]
    chosen = [c for c in chosen if c.ground_truth]
    if not chosen:
        raise InputError(f"{args.cams}: no camera has a ground_truth file to score against")
    if without:
        log.warning("%s: cameras without ground_truth, not scored: %s", args.cams, ", ".join(without))
    summary = _run_summary(pred_dir)
    covered = _frames_the_run_covered(pred_dir, summary)
    _check_run_record(pred_dir, [c.id for c in chosen], summary)
    # an interrupted run's cameras that never started, or stopped before their first frame counted (a Ray task
    # returns whole cameras): not scored, as the run's own eval.json lists them under not_scored (they were an
    # error, or scored on one frame)
    unrun = {str(c) for c in (summary or {}).get("cameras_not_run") or ()} | {c for c, n in covered.items() if n == 0}
    skipped = [c.id for c in chosen if c.id in unrun and not _has_rows(pred_dir / f"{c.id}.txt")]
    if skipped:
        log.warning(
            "%s: camera%s %s tracked no frame in the interrupted run (summary.json): not scored",
            pred_dir,
            "s" * (len(skipped) > 1),
            ", ".join(skipped),
        )
        chosen = [c for c in chosen if c.id not in skipped]
        if not chosen:
            raise InputError(f"{pred_dir}: no camera of the run tracked a frame: nothing to score")
    gt, pred, lengths = {}, {}, {}
    for cam in chosen:
        rows = read_ground_truth(cam.ground_truth, cam.id, args.benchmark)
        file = pred_dir / f"{cam.id}.txt"
        if file.is_file():
            result = load_mot_txt(file, check_sizes=True, file_order=True)
        elif args.missing_ok:
            log.warning("%s: no result file: camera %s is scored as tracked with no box (--missing-ok)", file, cam.id)
            result = np.zeros((0, 10))
        else:
            subset = "" if asked else "--sequences to score a subset, or "
            raise InputError(
                f"{file}: result file not found for camera {cam.id} (use {subset}--missing-ok to score it as tracked "
                "with no box)"
            )
        length = covered.get(cam.id) or _length(cam)
        span = "the run covered" if covered.get(cam.id) else "the video has"
        if length is None:  # the source cannot say (a live stream, a missing video): the rows' last frame
            length = int(max(rows[:, 0].max() if len(rows) else 0, result[:, 0].max() if len(result) else 0, 1))
            log.warning(
                "camera %s: %s gives no frame count; scored up to frame %d, the files' last", cam.id, cam.source, length
            )
        for what, name, r in (("ground truth", cam.ground_truth, rows), ("result", file, result)):
            if len(r) and r[:, 0].max() > length:
                log.warning(
                    "camera %s: %s (%s) has rows up to frame %d but %s %d frames; those rows are ignored",
                    cam.id,
                    name,
                    what,
                    int(r[:, 0].max()),
                    span,
                    length,
                )
        gt[cam.id] = rows[rows[:, 0] <= length] if len(rows) else rows
        pred[cam.id] = result[result[:, 0] <= length] if len(result) else result
        lengths[cam.id] = length
    metrics = evaluate_multicam(
        gt,
        pred,
        lengths,
        keep_zero_marked=args.keep_zero_marked,
        global_gt_ids=cams.ground_truth_ids == "global",
        benchmark=args.benchmark,
    )
    metrics["frames_evaluated"] = lengths
    return metrics


def _run_summary(pred_dir: Path) -> dict | None:
    """The summary.json of the ``mctrack run`` whose output ``pred_dir`` is; None when there is none (another
    method's results, or a run killed before it wrote one) or it cannot be read."""
    try:
        summary = json.loads((pred_dir / "summary.json").read_text())
    except Exception:  # noqa: BLE001 - missing or unreadable
        return None
    return summary if isinstance(summary, dict) and isinstance(summary.get("cameras"), dict) else None


def _frames_the_run_covered(pred_dir: Path, summary: dict | None) -> dict[str, int]:
    """``{camera: frames}`` that the ``mctrack run`` whose output ``pred_dir`` is scored its cameras on, when that
    was not their whole video (``--duration``, Ctrl-C: its eval.json's ``frames_evaluated``, else its summary's
    frames), so that scoring the folder again gives the run's own numbers; empty for a complete run or another
    method's results (scored on each video's frame count)."""
    try:
        partial = bool(summary.get("interrupted")) or summary.get("duration_s") is not None
        frames = {c: int(v["frames"]) for c, v in summary["cameras"].items()}
    except Exception:  # noqa: BLE001 - no run summary (not a run's output), or a damaged one
        return {}
    try:
        evaluated = json.loads((pred_dir / "eval.json").read_text())["frames_evaluated"]
        covered = {c: int(n) for c, n in evaluated.items()}
    except Exception:  # noqa: BLE001 - the run had no ground truth: its summary's counts (0: no frame tracked)
        covered = dict(frames) if partial else {}
    if covered and (partial or any(covered.get(c, 0) < n for c, n in frames.items())):
        log.info(
            "%s: scored on the frames the run covered (%s)", pred_dir, ", ".join(f"{c} {n}" for c, n in covered.items())
        )
    return covered


def _has_rows(file: Path) -> bool:
    return file.is_file() and file.stat().st_size > 0


def _check_run_record(pred_dir: Path, cameras: list[str], summary: dict | None) -> None:
    """Warns when ``pred_dir``, an ``mctrack run`` output folder, does not hold one finished run's results for
    ``cameras``: no summary.json (the run was killed, or still runs: its files stop where it stopped), a camera the
    recorded run did not have (its file is an earlier run's, linked with other global ids) or one that failed."""
    if not (pred_dir / RUN_LOCK).is_file():  # not a run's folder: another method's results
        return
    if summary is None:  # missing or unreadable: the run never finished
        log.warning(
            "%s: an mctrack run's folder without its summary.json: the run was killed or is still running, so its "
            "result files may stop part way (scored as they are)",
            pred_dir,
        )
        return
    ran = summary["cameras"]
    stale = [c for c in cameras if c not in ran and (pred_dir / f"{c}.txt").is_file()]  # (a missing one is said)
    if stale:
        log.warning(
            "%s: camera%s %s not in the run recorded in summary.json (cameras: %s): %s from an earlier run, whose "
            "global ids were linked apart from this run's",
            pred_dir,
            "s" * (len(stale) > 1),
            ", ".join(stale),
            ", ".join(ran) or "none",
            "their files are" if len(stale) > 1 else "its file is",
        )
    for c in cameras:
        error = ran.get(c, {}).get("error") if isinstance(ran.get(c), dict) else None
        if c in (summary.get("interrupted_cameras") or ()):  # stopped, not broken
            log.warning("camera %s: interrupted in the run; scored on the frames it covered", c)
        elif error:
            log.warning("camera %s: failed in the run (%s); scored on what it wrote", c, error)


def _length(cam) -> int | None:
    """The camera's frame count from its video header, image folder or seqinfo.ini; None for a live stream or a
    source that cannot be opened (said at debug level: the caller warns that it falls back)."""
    if is_live_source(cam.source):
        return None
    try:
        source = open_source(cam.source, need_images=False, camera=cam.id, fps=cam.fps)
    except InputError as err:
        log.debug("camera %s: %s", cam.id, err)
        return None
    return int(source.length) if source.length else None
