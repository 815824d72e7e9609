"""Spotter next to PyTorch's fastest CPU path on one image question, in one run: the two alternate (Spotter,
PyTorch, Spotter, PyTorch, … for --rounds rounds) so that load from other processes hits both alike, and the table
gives per-stage times of every run, the ratio of the best runs, peak RSS and the ISA.

Usage: python3 Scripts/reference/bench_model.py CHECKPOINT IMAGE QUESTION [--rounds 2] [--new-tokens 16]
           [--threads 2] [--spotter .build/release/spotter] [--python .venv-reference/bin/python]
           [--torch fastest|fp32|bf16-weights] [--out DIR]

Paths chosen from /proc/cpuinfo: with AVX512_BF16, Spotter runs bfloat16 weights with --bf16-dot and PyTorch
bfloat16 weights (oneDNN bf16 matmuls); without it, Spotter runs bfloat16 weights (fp32 products) and PyTorch fp32
weights, because PyTorch's bf16 matmul without AVX512_BF16 skips oneDNN and is several times slower than its fp32
one. --torch overrides the choice. Each run is wrapped in `/usr/bin/time -v` for its peak RSS. Spotter stops at
end-of-sequence, the reference does not: compare the rates, and the end-to-end time only when the token counts are
equal (both are printed). Needs a release build of spotter and the reference venv (Scripts/reference/setup-venv.sh).
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def cpu():
    """(model name, set of flags) of the first CPU in /proc/cpuinfo."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == "unknown CPU":
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return name, flags


def timed(cmd, out_path):
    """Runs cmd under /usr/bin/time -v; returns (stdout JSON, peak RSS bytes)."""
    wrapped = ["/usr/bin/time", "-v"] + cmd if os.path.exists("/usr/bin/time") else cmd
    with open(out_path + ".log", "w") as log:
        result = subprocess.run(wrapped, stdout=subprocess.PIPE, stderr=log, text=True)
    with open(out_path + ".json", "w") as f:
        f.write(result.stdout)
    if result.returncode != 0:
        sys.exit(f"bench_model.py: {cmd[0]}: exit status {result.returncode} (see {out_path}.log)")
    data = json.loads(result.stdout[result.stdout.index("{"):])
    with open(out_path + ".log") as log:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log.read())
    rss = int(m.group(1)) * 1024 if m else data.get("peak_rss_bytes", 0)
    return data, rss


def spotter_stages(d, rss):
    t = d["timings"]
    generated = d.get("generated_tokens", 0)
    return {
        "load s": t["load_s"], "preprocess s": t["preprocess_s"],
        "vision s/crop": t["vision_s"] / max(1, t["crops"]), "prefill tok/s": t["prefill_tokens_per_s"],
        "decode tok/s": t["decode_tokens_per_s"], "after load s": t["total_s"], "peak RSS GB": rss / 1e9,
        "crops": t["crops"], "prompt tokens": d["prompt_tokens"], "new tokens": generated,
    }


def torch_stages(d, rss):
    return {
        "load s": d["load_s"], "preprocess s": d["preprocess_s"], "vision s/crop": d["vision_s_per_crop"],
        "prefill tok/s": d["prefill_tokens_per_s"], "decode tok/s": d["decode_tokens_per_s"],
        "after load s": d["end_to_end_s"], "peak RSS GB": rss / 1e9, "crops": d["crops"],
        "prompt tokens": d["prompt_tokens"], "new tokens": len(d["generated_ids"]),
    }


HIGHER_IS_BETTER = {"prefill tok/s", "decode tok/s"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("image")
    ap.add_argument("question")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--spotter", default=os.path.join(ROOT, ".build", "release", "spotter"))
    ap.add_argument("--python", default=os.path.join(ROOT, ".venv-reference", "bin", "python"))
    ap.add_argument("--torch", choices=["fastest", "fp32", "bf16-weights"], default="fastest")
    ap.add_argument("--out", default="/tmp/spotter-bench-model")
    args = ap.parse_args()
    for path, what in ((args.spotter, "spotter binary"), (args.python, "reference python")):
        if not os.path.exists(path):
            sys.exit(f"bench_model.py: {path}: no {what} (see the usage in this script's docstring)")
    os.makedirs(args.out, exist_ok=True)

    name, flags = cpu()
    bf16 = "avx512_bf16" in flags
    isa = "AVX-512 BF16" if bf16 else "AVX-512" if "avx512f" in flags else "AVX2+FMA" if "avx2" in flags else "?"
    torch_mode = args.torch if args.torch != "fastest" else ("bf16-weights" if bf16 else "fp32")
    spotter_cmd = [args.spotter, "ask", args.image, args.question, "--model", args.checkpoint, "--max-tokens",
                   str(args.new_tokens), "--format", "bfloat16", "--threads", str(args.threads), "--json"]
    if bf16:
        spotter_cmd.append("--bf16-dot")
    torch_cmd = [args.python, os.path.join(ROOT, "Scripts", "reference", "bench_reference.py"), args.checkpoint,
                 args.image, args.question, "--new-tokens", str(args.new_tokens), "--threads", str(args.threads)]
    if torch_mode == "bf16-weights":
        torch_cmd.append("--bf16-weights")
    print(f"CPU: {name}; ISA: {isa}; {args.threads} threads; {args.rounds} rounds, alternating")
    print(f"Spotter: bfloat16 weights{' + --bf16-dot' if bf16 else ' (fp32 products)'}; PyTorch: "
          + ("bf16 weights (oneDNN)" if torch_mode == "bf16-weights" else "fp32 weights")
          + ("" if args.torch != "fastest" else " (fastest for this ISA)"))

    runs = {"spotter": [], "torch": []}
    for r in range(args.rounds):
        d, rss = timed(spotter_cmd, os.path.join(args.out, f"spotter-{r + 1}"))
        runs["spotter"].append(spotter_stages(d, rss))
        d, rss = timed(torch_cmd, os.path.join(args.out, f"torch-{r + 1}"))
        runs["torch"].append(torch_stages(d, rss))

    stages = list(runs["spotter"][0].keys())
    header = f"{'stage':16}" + "".join(f"{'spotter ' + str(i + 1):>12}" for i in range(args.rounds)) \
        + "".join(f"{'torch ' + str(i + 1):>12}" for i in range(args.rounds)) + f"{'spotter/torch':>15}"
    print(header)
    for stage in stages:
        s = [run[stage] for run in runs["spotter"]]
        t = [run[stage] for run in runs["torch"]]
        if stage in ("crops", "prompt tokens", "new tokens"):
            ratio = ""
        else:
            best_s = max(s) if stage in HIGHER_IS_BETTER else min(s)
            best_t = max(t) if stage in HIGHER_IS_BETTER else min(t)
            ratio = f"{best_s / best_t:.2f}×" if best_t else "-"
        print(f"{stage:16}" + "".join(f"{v:12.3f}" for v in s + t) + f"{ratio:>15}")
    print("Ratios compare the best run of each; for tok/s above 1 means Spotter is faster, for seconds and GB below 1.")
    if runs["spotter"][0]["new tokens"] != runs["torch"][0]["new tokens"]:
        print("Token counts differ (Spotter stopped at end-of-sequence): compare rates, not 'after load s'.")
    print(f"Raw outputs in {args.out}")


if __name__ == "__main__":
    sys.exit(main())
