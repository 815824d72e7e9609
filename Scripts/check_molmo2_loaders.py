#!/usr/bin/env python3
"""Runs allenai/molmo2's own data loaders, unmodified, on Spotter's Molmo2 exports.

    check_molmo2_loaders.py MOLMO2_SOURCE_DIR TRAIN.jsonl EVAL.jsonl COUNT.jsonl MEDIA

MOLMO2_SOURCE_DIR is a checkout of github.com/allenai/molmo2 (nothing of it is copied here). TRAIN is
`spotter export --format molmo2`, EVAL `--format molmo2-eval`, COUNT `--format molmo2 --task video_count`. Needs
`datasets numpy rich omegaconf requests tqdm huggingface_hub pillow cached_path` from PyPI. torch is not needed by
the loaders' code paths (its PyPI wheel pulls CUDA), so a placeholder module stands in for it. The Hugging Face
download helpers are replaced by functions returning the exported rows, and the video path finder by one returning
MEDIA; the loaders themselves run as published.
"""
import sys, types, json, pickle, os, logging
sys.path.insert(0, sys.argv[1])
sys.argv = sys.argv[1:]
media = sys.argv[4]
import datasets
import importlib.abc, importlib.machinery
class _Stub(types.ModuleType):
    """Stands for torch: every attribute is a placeholder class (nothing in the data loaders calls torch)."""
    def __getattr__(self, name):
        if name.startswith("__"): raise AttributeError(name)
        if name[0].islower():
            value = _Stub(self.__name__ + "." + name); setattr(self, name, value); return value
        value = type(name, (), {"__init__": lambda self, *a, **k: None, "__call__": lambda self, *a, **k: None})
        setattr(self, name, value); return value
class _TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec): return _Stub(spec.name)
    def exec_module(self, module): module.__path__ = []
sys.meta_path.insert(0, _TorchFinder())
train = [json.loads(l) for l in open(sys.argv[1])]
evals = [json.loads(l) for l in open(sys.argv[2])]
counts = [json.loads(l) for l in open(sys.argv[3])]

import olmo.data.academic_video_track_datasets as avt
import olmo.data.molmo2_video_track_datasets as m2t
import olmo.data.molmo2_datasets as m2

# 1. Tracking training rows through TrackingDataset.load() filters and _create_message_list().
tracks = [r for r in train if r["task"] == "video_track"]
avt._load_hf_dataset = lambda *a, **k: datasets.Dataset.from_list([{k2: v for k2, v in r.items() if k2 not in ("spotter", "media", "sampling", "frames")} for r in tracks])
class SpotterTracks(avt.TrackingDataset):
    HF_SOURCE = "spotter"; DATASET_NAME = "spotter"; TASKS = ["track"]; SPLIT_MAP = {"train": "train"}
ds = SpotterTracks("train", "track", sampling_fps=2)
print("TrackingDataset.load kept", len(ds.data), "of", len(tracks), "tracking rows")
for ex in ds.data:
    msg = ds._create_message_list(ex)[0]
    n_frames = len(msg["points"] or [])
    n_points = sum(len(f["points"]) for f in msg["points"] or [])
    print(f"  {ex['expression']}: {n_frames} frames, {n_points} object points, objects {sorted({k for f in msg['points'] or [] for k in f['points']})}")
    assert n_points > 0
    cand = ds._get_candidate_fps(ex["fps"])
    print("  candidate_sampling_fps", cand)

# 2. Video pointing rows through Molmo2VideoPoint.load() (the preprocessed pickle its download() writes).
points = [r for r in counts if r["task"] in ("video_point", "video_count")]
import tempfile
pkl = os.path.join(tempfile.mkdtemp(), "video_point.pkl")
pickle.dump([(r, media, r["clip_start"], r["clip_end"]) for r in points], open(pkl, "wb"))
m2._get_video_point_preprocessed_path = lambda name: pkl
vp = m2.Molmo2VideoPoint("train")
print("Molmo2VideoPoint.load kept", len(vp.data), "of", len(points), "rows")
from olmo.preprocessing.point_formatter import LegacyPointFormatting
formatter = LegacyPointFormatting()
for d in vp.data:
    msgs = d.get("message_list", [d])
    for m in msgs:
        print(f"  {m['label']}: count {m['count']}, points {sum(len(p) for p in m['points'])}, timestamps {m['timestamps']}, clip {d.get('metadata', m.get('metadata'))}")
        # The training target Molmo2's formatter builds, whose stated total must equal the record's count.
        text = formatter.format_video_points(
            m["timestamps"], [[[p["x"], p["y"]] for p in fr] for fr in m["points"]], 100, m["label"], mode="point_count")
        total = int(text.rsplit(":", 1)[1].strip(" ."))
        print(f"    formatter: ...{text[-60:]!r}")
        assert total == m["count"], (total, m["count"])

# 3. Evaluation rows: Molmo2VideoPointEval.load() and Molmo2VideoTrack._create_message_list / eval masks.
pe = [r for r in evals if "two_fps_timestamps" in r]
m2._load_hf_dataset = lambda *a, **k: [r for r in pe]
m2._find_video_point_path_by_id = lambda video_dir, video_id, source: media
pev = m2.Molmo2VideoPointEval("val")
for d in pev.data:
    md = d["metadata"]
    print(f"  point eval {d['label']}: {len(md['gt_abs_triplets'])} triplets, masks {[len(x) for x in md['gt_abs_masks']]}, {md['video_width']}x{md['video_height']}")
te = [r for r in evals if "exp" in r]
class Eval(m2t.Molmo2VideoTrackEval):
    pass
ev = Eval.__new__(Eval); ev.task = "track"; ev.sampling_fps = 2
for ex in te:
    msg = ev._create_message_list(ex)[0]
    masks = ex["masks"]
    assert len(masks) == len(ex["mask_id"])
    print(f"  track eval {ex['exp']}: {len(msg['points'] or [])} sampled frames, masks per object {[len(m['masks']) for m in masks]}")
print("OK")
