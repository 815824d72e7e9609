"""Times one image question through transformers' Molmo2 on PyTorch CPU, stage by stage, for comparison with
`spotter ask` on the same checkpoint, image and question (run both in the same session; the host is shared).

Usage: .venv-reference/bin/python Scripts/reference/bench_reference.py CHECKPOINT IMAGE QUESTION
           [--bf16-autocast | --bf16-weights] [--new-tokens 16] [--threads 2] [--trace FILE]

Stages: load (`from_pretrained`, fp32 weights), preprocessing (the processor), vision (ViT + connector,
`get_image_features`), prefill (the prompt with those features, KV cache on), decode (greedy, one token at a time with
the cache; no EOS stop). --bf16-autocast runs vision, prefill and decode under `torch.autocast("cpu", bfloat16)` with
the fp32 weights; --bf16-weights loads the weights as bfloat16 (`dtype=torch.bfloat16`: oneDNN bf16 matmuls on CPUs
with AVX512_BF16, PyTorch's fastest CPU path there). Prints one JSON object; --trace writes input ids, generated ids and the top-20 logits of every step
in the format of `spotter ask --trace`. Peak RSS is this process's ru_maxrss.
"""

import argparse
import json
import os
import resource
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"

import torch
from PIL import Image
from transformers import AutoProcessor, Molmo2ForConditionalGeneration


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("image")
    ap.add_argument("question")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--bf16-autocast", action="store_true")
    mode.add_argument("--bf16-weights", action="store_true")
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--trace")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    dtype = torch.bfloat16 if args.bf16_weights else torch.float32
    model = Molmo2ForConditionalGeneration.from_pretrained(args.checkpoint, dtype=dtype).eval()
    load = time.perf_counter() - t0
    proc = AutoProcessor.from_pretrained(args.checkpoint)

    t0 = time.perf_counter()
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": args.question}]}]
    prompt = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    x = proc(text=prompt, images=[Image.open(args.image).convert("RGB")], return_tensors="pt")
    preprocess = time.perf_counter() - t0
    crops = int(x["pixel_values"].shape[0])
    tokens = int(x["input_ids"].shape[1])

    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16_autocast)
    steps = []
    generated = []
    with torch.no_grad(), autocast:
        t0 = time.perf_counter()
        pixels = x["pixel_values"].to(dtype)
        image_outputs = model.model.get_image_features(pixels, x["image_token_pooling"], x["image_grids"])
        vision = time.perf_counter() - t0

        t0 = time.perf_counter()
        out = model(input_ids=x["input_ids"], attention_mask=x["attention_mask"],
                    mm_token_type_ids=x["mm_token_type_ids"], mm_encoder_outputs={"image": image_outputs},
                    use_cache=True, logits_to_keep=1)
        prefill = time.perf_counter() - t0

        per_token = []
        cache = out.past_key_values
        logits = out.logits[0, -1].float()
        for _ in range(args.new_tokens):
            top = torch.topk(logits, 20)
            steps.append({"ids": top.indices.tolist(), "logits": top.values.tolist()})
            nxt = int(top.indices[0])
            generated.append(nxt)
            if len(generated) == args.new_tokens:
                break
            t0 = time.perf_counter()
            out = model(input_ids=torch.tensor([[nxt]]), past_key_values=cache, use_cache=True, logits_to_keep=1)
            per_token.append(time.perf_counter() - t0)
            cache = out.past_key_values
            logits = out.logits[0, -1].float()

    decode = sum(per_token)
    result = {
        "mode": "bf16 autocast" if args.bf16_autocast else "bf16 weights" if args.bf16_weights else "fp32",
        "threads": args.threads,
        "load_s": load, "preprocess_s": preprocess, "crops": crops, "vision_s": vision,
        "vision_s_per_crop": vision / crops, "prompt_tokens": tokens, "prefill_s": prefill,
        "prefill_tokens_per_s": tokens / prefill, "decode_s": decode,
        "decode_tokens_per_s": len(per_token) / decode if decode > 0 else 0,
        "median_token_s": sorted(per_token)[len(per_token) // 2] if per_token else 0,
        "end_to_end_s": preprocess + vision + prefill + decode,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "generated_ids": generated,
    }
    print(json.dumps(result, indent=2))
    if args.trace:
        with open(args.trace, "w") as f:
            json.dump({"input_ids": x["input_ids"][0].tolist(), "generated_ids": generated, "steps": steps}, f)


if __name__ == "__main__":
    sys.exit(main())
