#!/usr/bin/env python3
"""Reads a CVAT XML file with datumaro (an independent CVAT reader/writer, `pip install datumaro`) and writes it
back with datumaro's CVAT exporter, so Spotter's CVAT import and export can be checked against it both ways.

    check_cvat_datumaro.py FILE.xml OUT_DIR

Prints one JSON object: `points`, every Points annotation datumaro read as [frame, label, track_id, x, y, occluded,
outside], and `written`, the XML file datumaro wrote into OUT_DIR.
"""
import glob
import json
import os
import sys

import datumaro as dm


def main():
    source, out_dir = sys.argv[1], sys.argv[2]
    dataset = dm.Dataset.import_from(source, "cvat")
    labels = dataset.categories()[dm.AnnotationType.label]
    points = []
    for item in dataset:
        frame = item.attributes.get("frame")
        for annotation in item.annotations:
            if annotation.type != dm.AnnotationType.points:
                continue
            coordinates = annotation.points
            for k in range(0, len(coordinates), 2):
                points.append([
                    frame, labels[annotation.label].name, annotation.attributes.get("track_id"),
                    coordinates[k], coordinates[k + 1], bool(annotation.attributes.get("occluded")),
                    bool(annotation.attributes.get("outside")),
                ])
    dataset.export(out_dir, "cvat", save_media=False)
    written = sorted(glob.glob(os.path.join(out_dir, "*.xml")))
    print(json.dumps({"points": points, "written": written[0] if written else None}))


if __name__ == "__main__":
    main()
