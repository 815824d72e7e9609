"""Compares two `--trace` JSON files (spotter ask, bench_reference.py, or any implementation writing the same format):
prompt ids, generated ids, and per step the top-20 ids and the largest logit difference on the ids both list.

Usage: python3 Scripts/reference/compare_traces.py A.json B.json
"""

import json
import sys


def main():
    a, b = (json.load(open(p)) for p in sys.argv[1:3])
    print(f"input ids: {'identical' if a['input_ids'] == b['input_ids'] else 'DIFFER'} "
          f"({len(a['input_ids'])} vs {len(b['input_ids'])} tokens)")
    same = 0
    for x, y in zip(a["generated_ids"], b["generated_ids"]):
        if x != y:
            break
        same += 1
    print(f"generated ids: {same} leading tokens equal ({len(a['generated_ids'])} vs {len(b['generated_ids'])})")
    for k, (sa, sb) in enumerate(zip(a["steps"], b["steps"])):
        la = dict(zip(sa["ids"], sa["logits"]))
        lb = dict(zip(sb["ids"], sb["logits"]))
        common = set(la) & set(lb)
        diff = max((abs(la[i] - lb[i]) for i in common), default=float("nan"))
        scale = max(abs(v) for v in sa["logits"])
        print(f"step {k}: top-1 {sa['ids'][0]} vs {sb['ids'][0]}, {len(common)}/20 top ids shared, "
              f"max |Δlogit| {diff:.2e} (max |logit| {scale:.2f})")
        if k >= (int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 30):
            break


if __name__ == "__main__":
    sys.exit(main())
