#!/usr/bin/env python3
"""Converts Spotter's TAP-Vid JSON export (`spotter export --format tapvid`) into the pickle layout tapnet's
evaluation datasets load (tapnet/tapvid/evaluation_datasets.py, `create_davis_dataset`):

    {video_name: {"video": uint8 [T, H, W, 3], "points": float64 [N, T, 2], "occluded": bool [N, T]}}

`points` are (x, y) divided by the frame width and height, in TAP-Vid's pixel-centre convention: tapnet's generator
(generate_tapvid.py) stores `(x·W − 0.5) / W`, so a normalised 0 is the centre of the first pixel, while Spotter's
pixels put 0 at the top-left corner of the first pixel. The converter therefore writes `(x − 0.5) / W`, and Spotter's
import of normalised points adds the 0.5 back.

    tapvid_to_pickle.py EXPORT.json OUT.pkl [--video MEDIA] [--name NAME]

--video decodes the frames with PyAV (`pip install av`); without it the frames are black (enough for scoring
predictions with compute_tapvid_metrics, which does not look at pixels).
"""
import argparse
import json
import os
import pickle

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export")
    parser.add_argument("output")
    parser.add_argument("--video")
    parser.add_argument("--name")
    args = parser.parse_args()
    doc = json.load(open(args.export))
    width, height, frames = doc["video"]["width"], doc["video"]["height"], doc["video"]["num_frames"]
    n = len(doc["track_ids"])
    pixels = np.array(doc["target_points"], dtype=np.float64).reshape(n, frames, 2)
    points = (pixels - 0.5) / np.array([width, height], dtype=np.float64)
    occluded = np.array(doc["occluded"], dtype=bool).reshape(n, frames)
    if args.video:
        import av  # PyAV, from PyPI

        with av.open(args.video) as container:
            video = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])[:frames]
    else:
        video = np.zeros((frames, height, width, 3), dtype=np.uint8)
    name = args.name or os.path.splitext(os.path.basename(doc["video"]["path"]))[0]
    with open(args.output, "wb") as f:
        pickle.dump({name: {"video": video, "points": points, "occluded": occluded}}, f)


if __name__ == "__main__":
    main()
