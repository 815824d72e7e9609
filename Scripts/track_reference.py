#!/usr/bin/env python3
"""Reference point tracker for `spotter bench track`: OpenCV's calcOpticalFlowPyrLK on the same frames.

Spotter writes the 8-bit gray frames it tracked on to a raw file (frame after frame, row-major, one byte per
pixel) and the seed points to a JSON file; this script follows every seed forward from its frame with OpenCV's
pyramidal Lucas-Kanade, using the same parameters and the same acceptance rule as Spotter's tracker:

  * window W x W, L pyramid levels (maxLevel = L - 1), at most N iterations or an update below EPS px per level,
    minimum-eigenvalue threshold MIN_EIG (OpenCV's minEigThreshold);
  * a step is accepted when the forward flow and the flow back from its result both have status 1, the round
    trip lands within MAX_FB px (Euclidean) of the start, and the result lies inside the frame;
  * a point stops at its first rejected step.

All active points are tracked in one call per frame pair and direction, passing the images as the OpenCV sample
(samples/python/lk_track.py) does: OpenCV 5's Python binding takes no prebuilt pyramids, so each call builds the
two pyramids it needs. Only the tracking loop is timed (best of --repeat runs); for context the time to build
one frame's pyramid (buildOpticalFlowPyramid without derivatives, as each call does twice) is measured
separately. Prints one JSON object
to stdout.

Seeds JSON: [{"id": 0, "frame": 12, "x": 413.5, "y": 267.1}, ...] with pixel centres at integer coordinates.

When OpenCV is missing this script creates .venv-track/ at the repository root, installs
opencv-python-headless and numpy from PyPI into it, and re-runs itself there (developer machines only; CI
never runs the benchmark).
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv-track")


def ensure_opencv():
    try:
        import cv2  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        sys.exit("track_reference.py: opencv-python-headless is not importable inside .venv-track")
    if not os.path.exists(python):
        sys.stderr.write(f"track_reference.py: creating {VENV} with opencv-python-headless\n")
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "opencv-python-headless", "numpy"], check=True,
                   stdout=sys.stderr)
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


def track(frames, seeds, args, cv2, np):
    """Follows every seed forward; returns {id: (positions from the seed frame on, stop frame, stop reason)}."""
    count, height, width = frames.shape
    win = (args.window, args.window)
    max_level = args.levels - 1
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, args.iterations, args.epsilon)
    by_frame = {}
    for seed in seeds:
        by_frame.setdefault(seed["frame"], []).append(seed)
    paths = {seed["id"]: [[seed["x"], seed["y"]]] for seed in seeds}
    stops = {seed["id"]: (None, "reached the last frame") for seed in seeds}
    active = []  # ids
    current = {}  # id -> (x, y)
    first = min(by_frame) if by_frame else count
    for t in range(first, count - 1):
        for seed in by_frame.get(t, []):
            active.append(seed["id"])
            current[seed["id"]] = (seed["x"], seed["y"])
        if not active:
            continue
        p0 = np.array([current[i] for i in active], dtype=np.float32).reshape(-1, 1, 2)
        p1, status, _ = cv2.calcOpticalFlowPyrLK(frames[t], frames[t + 1], p0, None, winSize=win,
                                                 maxLevel=max_level, criteria=criteria,
                                                 minEigThreshold=args.min_eig)
        back, status_back, _ = cv2.calcOpticalFlowPyrLK(frames[t + 1], frames[t], p1, None, winSize=win,
                                                        maxLevel=max_level, criteria=criteria,
                                                        minEigThreshold=args.min_eig)
        fb = np.sqrt(((back - p0) ** 2).sum(-1)).reshape(-1)
        moved = p1.reshape(-1, 2)
        inside = (moved[:, 0] >= 0) & (moved[:, 1] >= 0) & (moved[:, 0] <= width - 1) & (moved[:, 1] <= height - 1)
        still = []
        for k, i in enumerate(active):
            if status[k, 0] != 1 or status_back[k, 0] != 1:
                stops[i] = (t + 1, "flow status 0")
            elif not fb[k] <= args.max_fb:
                stops[i] = (t + 1, f"forward-backward {fb[k]:.2f} px")
            elif not inside[k]:
                stops[i] = (t + 1, "left the frame")
            else:
                x, y = float(moved[k, 0]), float(moved[k, 1])
                paths[i].append([x, y])
                current[i] = (x, y)
                still.append(i)
                continue
            current.pop(i, None)
        active = still
    return {i: (paths[i], stops[i][0], stops[i][1]) for i in paths}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", required=True, help="raw 8-bit gray frames")
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--count", type=int, required=True, help="number of frames in the raw file")
    parser.add_argument("--seeds", required=True, help="seed points JSON")
    parser.add_argument("--window", type=int, default=21)
    parser.add_argument("--levels", type=int, default=3, help="pyramid levels including full resolution")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--epsilon", type=float, default=0.01)
    parser.add_argument("--min-eig", type=float, default=1e-4)
    parser.add_argument("--max-fb", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (cv2.setNumThreads)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the fastest is reported")
    args = parser.parse_args()

    ensure_opencv()
    import cv2
    import numpy as np

    cv2.setNumThreads(args.threads)
    expected = args.count * args.width * args.height
    frames = np.fromfile(args.frames, dtype=np.uint8)
    if frames.size != expected:
        sys.exit(f"{args.frames}: {frames.size} bytes, expected {expected} "
                 f"({args.count} frames of {args.width}x{args.height})")
    frames = frames.reshape(args.count, args.height, args.width)
    with open(args.seeds) as f:
        seeds = json.load(f)

    best = None
    result = None
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        result = track(frames, seeds, args, cv2, np)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)

    pyramid_best = None
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        for frame in frames:
            # Keeping the result alive mirrors steady tracking (freeing each pyramid at once costs page faults).
            kept = cv2.buildOpticalFlowPyramid(frame, (args.window, args.window), args.levels - 1, withDerivatives=False)
        del kept
        elapsed = time.perf_counter() - start
        pyramid_best = elapsed if pyramid_best is None else min(pyramid_best, elapsed)

    steps = sum(len(path) - 1 for path, _, _ in result.values())
    tracks = [{"id": i, "positions": path, "stop_frame": stop, "stop_reason": reason}
              for i, (path, stop, reason) in sorted(result.items())]
    json.dump({"opencv": cv2.__version__, "threads": cv2.getNumThreads(), "seconds": best, "steps": steps,
               "pyramid_seconds_per_frame": pyramid_best / max(1, args.count),
               "tracks": tracks}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
