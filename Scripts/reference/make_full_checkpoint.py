"""A full-size Molmo2-4B checkpoint with random weights, for measuring memory and speed (never committed).

Usage: .venv-reference/bin/python Scripts/reference/make_full_checkpoint.py OUTDIR [--dtype float32|bfloat16]

Every tensor of the released allenai/Molmo2-4B (the list of make_sparse_checkpoint.py, 4,850,869,200 parameters) in
float32 (10 shards, ~19.4 GB) or bfloat16 (rounded to nearest even from the same float32 values, ~9.7 GB; the
released checkpoint's dtype), the released config.json layout, the real Qwen3 tokenizer with the Molmo2 tokens
(Tests/MolmoRuntimeTests/Fixtures/qwen3-molmo2-tokenizer), the released processor settings and a chat template.
Values are seeded per tensor name: linear weights N(0, 1/fan_in), norm weights 1 + N(0, 0.1²), biases N(0, 0.02²),
embedding tables N(0, 1). `lm_head.weight` repeats `wte.embedding` byte for byte, as in the released 4B checkpoint.
Tensors are generated and written in pieces of at most 2**24 values (the generator's stream, and so every value, is
the same as drawing the whole tensor at once), so memory does not grow with the tensor size. Measured with
`/usr/bin/time -v` writing the largest tensor (the 151,936 × 2,560 embedding) to /dev/null: peak RSS 0.17 GB in
float32, 0.23 GB in bfloat16, of which 0.03 GB is Python and numpy; that measurement stubbed out torch and
transformers, which this script imports only for constants (through make_vision_fixtures), so a run in the
reference venv adds their import footprint (a few hundred MB) on top. The previous whole-tensor writer peaked at
3.76 GB (the float32 embedding plus its `tobytes()` copy). Both the runtime and transformers load the output.
"""

import argparse
import json
import os
import shutil
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_sparse_checkpoint import released_config, tensors  # noqa: E402
from make_vision_fixtures import CHAT_TEMPLATE, PREPROCESSOR, PROCESSOR, VIDEO_PREPROCESSOR  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKENIZER = os.path.join(ROOT, "Tests", "MolmoRuntimeTests", "Fixtures", "qwen3-molmo2-tokenizer", "tokenizer.json")
SHARDS = 10
PIECE = 1 << 24


def pieces(name, shape, piece=PIECE):
    """The tensor's float32 values, row-major, in consecutive pieces of at most `piece` values."""
    seed_name = "model.transformer.wte.embedding" if name == "lm_head.weight" else name
    rng = np.random.default_rng(zlib.crc32(seed_name.encode()))
    total = int(np.prod(shape))
    for start in range(0, total, piece):
        x = rng.standard_normal(size=min(piece, total - start), dtype=np.float32)
        if len(shape) == 2 and not ("embedding" in name and "patch" not in name) and name != "lm_head.weight":
            x *= np.float32(1 / np.sqrt(shape[1]))
        elif len(shape) == 1:
            x *= np.float32(0.1 if "norm" in name else 0.02)
            if "norm" in name:
                x += np.float32(1)
        yield x


def values(name, shape):
    """The whole tensor in float32 (small tensors and checks)."""
    return np.concatenate(list(pieces(name, shape))).reshape(shape)


def to_bfloat16(x):
    """float32 → bfloat16 bits, rounded to nearest even (as torch's `.to(torch.bfloat16)`; no NaNs occur here)."""
    u = x.view(np.uint32)
    return ((u + (((u >> 16) & 1) + np.uint32(0x7FFF))) >> 16).astype(np.uint16)


def write_tensor(f, name, shape, dtype):
    for x in pieces(name, shape):
        f.write((to_bfloat16(x) if dtype == "BF16" else x).tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = parser.parse_args()
    out = args.out
    dtype = "BF16" if args.dtype == "bfloat16" else "F32"
    width = 2 if dtype == "BF16" else 4
    os.makedirs(out, exist_ok=True)
    ts = tensors()
    sizes = [int(np.prod(s)) * width for _, s in ts]
    total = sum(sizes)
    budget = total / SHARDS
    shards, acc, k = [[] for _ in range(SHARDS)], 0, 0
    for (name, shape), n in zip(ts, sizes):
        if acc > budget * (k + 1) and k < SHARDS - 1:
            k += 1
        shards[k].append((name, shape, n))
        acc += n
    weight_map = {}
    for k, items in enumerate(shards):
        fname = f"model-{k + 1:05d}-of-{SHARDS:05d}.safetensors"
        header, off = {"__metadata__": {"format": "pt"}}, 0
        for name, shape, n in items:
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}
            off += n
            weight_map[name] = fname
        hb = json.dumps(header, separators=(",", ":")).encode()
        hb += b" " * ((8 - len(hb) % 8) % 8)
        with open(os.path.join(out, fname), "wb") as f:
            f.write(struct.pack("<Q", len(hb)))
            f.write(hb)
            for name, shape, _ in items:
                write_tensor(f, name, shape, dtype)
        print(f"wrote {fname} ({off / 1e9:.2f} GB)", flush=True)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total, "total_parameters": total // width}, "weight_map": weight_map}, f)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(released_config(dtype), f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 151645, "eos_token_id": 151645, "pad_token_id": 151643}, f)
    shutil.copy(TOKENIZER, os.path.join(out, "tokenizer.json"))
    molmo = ["<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<low_res_im_start>", "<|image|>", "<im_low>",
             "<frame_start>", "<frame_end>", "<|video|>"]
    extra = [f"|<EXTRA_TOKENS_{i}>|" for i in range(267)]
    for name, obj in (
            ("tokenizer_config.json", {"add_bos_token": False, "add_prefix_space": False, "bos_token": "<|im_end|>",
                                       "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
                                       "errors": "replace", "clean_up_tokenization_spaces": False,
                                       "split_special_tokens": False, "model_max_length": 1010000,
                                       "additional_special_tokens": extra + molmo,
                                       "tokenizer_class": "Qwen2Tokenizer", "processor_class": "Molmo2Processor"}),
            ("preprocessor_config.json", PREPROCESSOR), ("video_preprocessor_config.json", VIDEO_PREPROCESSOR),
            ("processor_config.json", PROCESSOR)):
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=2)
    with open(os.path.join(out, "chat_template.jinja"), "w") as f:
        f.write(CHAT_TEMPLATE)
    print(f"wrote {out}: {total / 1e9:.2f} GB {args.dtype}, {total // width} parameters")


if __name__ == "__main__":
    sys.exit(main())
