#!/usr/bin/env python3
"""Makes Samples/shapes.molmo2.jsonl with Spotter itself, from the sample's ground truth.

Three tracks (one point on each shape, a keyframe every 15 frames, occluded/outside where the ground truth
says so) and one pointing annotation (the four disc cells on frame 60) are written as CVAT video XML, imported
with `spotter import` into a fresh project and exported with `spotter export --format molmo2`, so the file is
exactly what the tool writes. Run from the repository root after `swift build`:

    python3 Scripts/make_sample_annotations.py [path/to/spotter]
"""
import json
import os
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spotter = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build", "debug", "spotter")
truth = json.load(open(os.path.join(root, "Samples", "shapes.points.json")))
points = {p["id"]: p for p in truth["points"]}
frames = truth["frame_count"]


def state(p, f):
    x, y = p["positions"][f]
    inside = 0 <= x < truth["width"] and 0 <= y < truth["height"]
    return x, y, (not inside), (inside and not p["visible"][f])


def track_xml(track_id, label, p, keyframes, end=None):
    """One CVAT track; `end` adds CVAT's closing `outside` shape (a CVAT track otherwise lasts to the end)."""
    rows = [f'  <track id="{track_id}" label="{label}" source="manual">']
    for f in keyframes + ([end] if end is not None else []):
        x, y, outside, occluded = state(p, f)
        outside = outside or f == end
        x = min(max(x, 0), truth["width"])
        y = min(max(y, 0), truth["height"])
        rows.append(
            f'    <points frame="{f}" keyframe="1" outside="{int(outside)}" occluded="{int(occluded)}" '
            f'points="{x:.2f},{y:.2f}" z_order="0"></points>'
        )
    rows.append("  </track>")
    return rows


xml = [
    '<?xml version="1.0" encoding="utf-8"?>',
    "<annotations>",
    "  <version>1.1</version>",
    f"  <meta><task><size>{frames}</size><mode>interpolation</mode>"
    f"<original_size><width>{truth['width']}</width><height>{truth['height']}</height></original_size></task></meta>",
]
keyframes = list(range(0, frames, 15)) + [frames - 1]
xml += track_xml(0, "checkered disc", points[0], keyframes)
xml += track_xml(1, "striped rectangle", points[5], keyframes)
xml += track_xml(2, "noise blob", points[8], keyframes)
# Pointing: every visible disc cell on frame 60, one single-point track each.
for i, pid in enumerate([0, 1, 2, 3]):
    x, y, outside, occluded = state(points[pid], 60)
    if not outside and not occluded:
        xml += track_xml(10 + i, "disc cell", points[pid], [60], end=61)
xml.append("</annotations>")

with tempfile.TemporaryDirectory() as tmp:
    cvat = os.path.join(tmp, "shapes.xml")
    project = os.path.join(tmp, "shapes.spotter")
    with open(cvat, "w") as f:
        f.write("\n".join(xml) + "\n")
    # Relative paths from the repository root, so the record names the media the way a checkout does.
    media = os.path.join("Samples", "shapes.mp4")
    subprocess.run([spotter, "import", cvat, "--media", media, "--project", project], check=True, cwd=root)
    out = os.path.join("Samples", "shapes.molmo2.jsonl")
    subprocess.run([spotter, "export", project, "--format", "molmo2", "-o", out], check=True, cwd=root)
    print(f"wrote {out}")
