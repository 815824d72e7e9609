#!/usr/bin/env python3
"""TAP-Vid metrics of a candidate against a reference, written from the benchmark's definitions (Doersch et al.,
"TAP-Vid: A Benchmark for Tracking Any Point in a Video", 2022, §4 and tapnet's evaluation protocol), independently
of Spotter's Swift code, to check `spotter compare`.

Input: two files in Spotter's TAP-Vid JSON layout (`spotter export --format tapvid`): `track_ids`, `target_points`
(pixels, [track][frame] = [x, y]) and `occluded` ([track][frame]). Tracks are paired by id; an unpaired reference
track counts as predicted occluded everywhere. Positions are scaled to a 256×256 raster.

Definitions:
  queries: `first` — one per track at its first visible frame, evaluated on later frames;
           `strided` — one per track at every 5th frame (0, 5, 10, …) where it is visible, evaluated on all other
           frames.
  occlusion accuracy = |{evaluated: predicted visibility == true visibility}| / |evaluated|
  < δ^x = |{evaluated, visible: ‖pred − true‖ < x}| / |{evaluated, visible}|, x ∈ {1, 2, 4, 8, 16}; δ_avg = mean
  Jaccard_x = TP / (TP + FP + FN): TP visible, predicted visible and within x; FP predicted visible and (not visible
  or not within x); FN visible and (predicted occluded or not within x). AJ = mean over x.
  An empty denominator is NaN (or 0 with --empty-score zero).

Prints one JSON object: average_jaccard, average_pts_within_thresh, occlusion_accuracy, jaccard, pts_within,
evaluated_points.
"""
import argparse
import json
import math

import numpy as np

THRESHOLDS = [1, 2, 4, 8, 16]
STRIDE = 5


def load(path):
    doc = json.load(open(path))
    width, height = doc["video"]["width"], doc["video"]["height"]
    points = np.array(doc["target_points"], dtype=np.float64).reshape(len(doc["track_ids"]), -1, 2)
    points = points * np.array([256.0 / width, 256.0 / height])
    occluded = np.array(doc["occluded"], dtype=bool).reshape(len(doc["track_ids"]), -1)
    return doc["track_ids"], points, occluded


def metrics(reference, candidate, mode, empty):
    ref_ids, ref_points, ref_occ = load(reference)
    cand_ids, cand_points, cand_occ = load(candidate)
    frames = ref_points.shape[1] if len(ref_ids) else 0
    by_id = {track_id: n for n, track_id in enumerate(cand_ids)}
    gt_p, gt_o, pr_p, pr_o, evaluate = [], [], [], [], []
    for n, track_id in enumerate(ref_ids):
        visible = ~ref_occ[n]
        if not visible.any():
            continue
        if mode == "first":
            queries = [int(np.argmax(visible))]
        else:
            queries = [t for t in range(0, frames, STRIDE) if visible[t]]
        m = by_id.get(track_id)
        for q in queries:
            gt_p.append(ref_points[n])
            gt_o.append(ref_occ[n])
            if m is None:
                pr_p.append(np.full((frames, 2), np.nan))
                pr_o.append(np.ones(frames, dtype=bool))
            else:
                pr_p.append(cand_points[m])
                pr_o.append(cand_occ[m])
            t = np.arange(frames)
            evaluate.append(t > q if mode == "first" else t != q)
    if not evaluate:
        return None
    gt_p, gt_o, pr_p, pr_o, evaluate = map(np.array, (gt_p, gt_o, pr_p, pr_o, evaluate))
    visible = ~gt_o
    pred_visible = ~pr_o

    def ratio(num, den):
        return num / den if den > 0 else (math.nan if empty == "nan" else 0.0)

    out = {"occlusion_accuracy": ratio(np.sum((pred_visible == visible) & evaluate), np.sum(evaluate))}
    distance_sq = np.sum((pr_p - gt_p) ** 2, axis=-1)
    within_list, jaccard_list = [], []
    for x in THRESHOLDS:
        with np.errstate(invalid="ignore"):
            within = distance_sq < x * x  # NaN compares False: a missing prediction is never within
        within_list.append(ratio(np.sum(within & visible & evaluate), np.sum(visible & evaluate)))
        tp = np.sum(within & visible & pred_visible & evaluate)
        fp = np.sum(pred_visible & (~visible | ~within) & evaluate)
        fn = np.sum(visible & (~pred_visible | ~within) & evaluate)
        jaccard_list.append(ratio(tp, tp + fp + fn))
    out["pts_within"] = within_list
    out["jaccard"] = jaccard_list
    out["average_pts_within_thresh"] = float(np.mean(within_list))
    out["average_jaccard"] = float(np.mean(jaccard_list))
    out["evaluated_points"] = int(np.sum(evaluate))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference")
    parser.add_argument("candidate")
    parser.add_argument("--query-mode", choices=["first", "strided"], default="first")
    parser.add_argument("--empty-score", choices=["nan", "zero"], default="nan")
    args = parser.parse_args()
    result = metrics(args.reference, args.candidate, args.query_mode, args.empty_score)
    # JSON has no NaN: undefined scores are null.
    clean = lambda v: None if isinstance(v, float) and math.isnan(v) else v
    if result is not None:
        result = {k: ([clean(x) for x in v] if isinstance(v, list) else clean(v)) for k, v in result.items()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
