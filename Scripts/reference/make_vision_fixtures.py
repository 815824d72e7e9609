"""Tiny random-weight Molmo2 checkpoints with a vision tower, plus what the reference computes for images and video.

Writes, under Tests/MolmoRuntimeTests/Fixtures/:
  qwen3-vision-tiny/     Qwen3-style decoder + 25-block ViT (hidden 32) + connector; `save_pretrained` config layout
                         (vision_config, vision_feature_layer [24, 18]); processor files of the released models
  olmo3-vision-tiny/     OLMo3-style decoder + the same kind of ViT; hand-written config.json in the released layout
                         (vit_config with 27 layers, vit_layers [-3, -9]) and the released embedding split
  vision-inputs.safetensors     what the reference processor makes of three synthetic inputs (one image with 2x2
                         tiling, two images, a 6-frame video): the resized crop pixels (uint8, patch order), pooling
                         tables, grids, input ids, token types; reference resizes of small odd sizes
  vision-tiling.json     select_tiling / canvas sizes of the reference for many image sizes and max_crops values
  reference-vision-<family>.safetensors   per case: ViT hidden states after blocks 18 and 24 (image case), pooled
                         features (attention pooling output), projected features, last logits, greedy tokens

The synthetic images are integer formulas (`synthetic_rgb`) that the Swift tests reproduce bit for bit, so no source
pixels are stored. Every checkpoint is re-loaded with `from_pretrained` before the reference runs.

The reference image processor needs torchvision (docs/reference-env.md §1: torch 2.13.0 + torchvision 0.28.0 from
PyPI with `pip install --isolated`); Scripts/reference/setup-venv.sh installs that pair.
"""

import json
import os
import shutil
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers.image_utils import PILImageResampling
from transformers import AutoProcessor, Molmo2Config, Molmo2ForConditionalGeneration
from transformers.models.molmo2.image_processing_molmo2 import compute_crop_geometry, resize_and_normalize_image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_decoder_fixtures import randomize, resplit_embedding  # noqa: E402

torch.set_num_threads(2)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "MolmoRuntimeTests", "Fixtures")
TOK_DIR = os.path.join(OUT, "tokenizer-tiny")
BASE_VOCAB = 512
EOS = 482  # <|im_end|> of the tiny tokenizer (also BOS, as in the released Qwen-based models)

CHAT_TEMPLATE = (
    "{%- set ns = namespace(i=0, v=0) -%}"
    "{%- for m in messages -%}{%- if m['content'] is not string -%}{%- for p in m['content'] -%}"
    "{%- if p['type'] == 'image' -%}{%- set ns.i = ns.i + 1 -%}{%- elif p['type'] == 'video' -%}"
    "{%- set ns.v = ns.v + 1 -%}{%- endif -%}{%- endfor -%}{%- endif -%}{%- endfor -%}"
    "{%- if ns.i == 1 -%}{{ '<|image|>' }}{%- elif ns.i > 1 -%}{%- for k in range(ns.i) -%}"
    "{{ 'Image ' ~ (k + 1) ~ '<|image|>' }}{%- endfor -%}{%- endif -%}"
    "{%- for _ in range(ns.v) -%}{{ '<|video|>' }}{%- endfor -%}"
    "{%- for m in messages -%}{%- if m['content'] is string -%}{%- set text = m['content'] -%}"
    "{%- else -%}{%- set t = namespace(s='') -%}{%- for p in m['content'] -%}{%- if p['type'] == 'text' -%}"
    "{%- set t.s = t.s ~ ('' if not t.s else ' ') ~ p['text'] -%}{%- endif -%}{%- endfor -%}"
    "{%- set text = t.s -%}{%- endif -%}"
    "{%- if m['role'] == 'user' -%}{%- if not loop.first -%}{{ '<|im_end|>\\n' }}{%- endif -%}"
    "{{ '<|im_start|>user\\n' ~ text ~ '<|im_end|>\\n' }}"
    "{%- else -%}{{ '<|im_start|>assistant\\n' ~ text }}{%- endif -%}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}")

# Released processor settings (molmo2-spec §1.4, runtime-limits §5.1). The video config also states do_rescale and
# do_normalize: transformers 5.24's native Molmo2VideoProcessor has no class defaults for them, so without these keys
# it hands the model raw 0-255 frames (the released remote code and the training code normalize video frames exactly
# like images, molmo2-spec §6.1).
PREPROCESSOR = {"image_processor_type": "Molmo2ImageProcessor", "processor_class": "Molmo2Processor",
                "do_convert_rgb": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2,
                "size": {"height": 378, "width": 378}, "max_crops": 8, "overlap_margins": [4, 4], "patch_size": 14,
                "pooling_size": [2, 2]}
VIDEO_PREPROCESSOR = {"video_processor_type": "Molmo2VideoProcessor", "processor_class": "Molmo2Processor",
                      "do_convert_rgb": True, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                      "resample": 2, "size": {"height": 378, "width": 378}, "patch_size": 14, "pooling_size": [3, 3],
                      "num_frames": 384, "max_fps": 2, "sampling_fps": 2, "do_sample_frames": True,
                      "frame_sample_mode": "uniform_last_frame"}
PROCESSOR = {"processor_class": "Molmo2Processor", "image_use_col_tokens": True, "use_single_crop_col_tokens": False,
             "use_single_crop_start_token": True, "video_use_col_tokens": False, "use_frame_special_tokens": False}


def synthetic_rgb(width, height, seed):
    """uint8 [height, width, 3]: a gradient plus hashed noise, in 32-bit wrapping integer arithmetic (the Swift
    tests compute the same bytes)."""
    y, x, c = np.meshgrid(np.arange(height, dtype=np.uint32), np.arange(width, dtype=np.uint32),
                          np.arange(3, dtype=np.uint32), indexing="ij")
    h = (x * np.uint32(2654435761)) ^ (y * np.uint32(2246822519)) ^ (c * np.uint32(3266489917)) \
        ^ np.uint32((seed * 668265263) & 0xFFFFFFFF)
    h ^= h >> np.uint32(15)
    base = x * np.uint32(160) // np.uint32(width) + y * np.uint32(96) // np.uint32(height) + c * np.uint32(40)
    return ((base + (h & np.uint32(63))) & np.uint32(255)).astype(np.uint8)


# (name, question, images as (width, height, seed) or video frames as (width, height, seed) + times)
CASES = [
    ("image", "Point to the dogs.", {"images": [(560, 420, 1)]}),
    ("images", "Compare these images.", {"images": [(520, 300, 2), (300, 200, 3)]}),
    ("video", "Track the red car.", {"video": [(200, 150, 100 + k) for k in range(6)],
                                     "times": [0.0, 0.5, 1.0, 1.5, 2.0, 2.25]}),
]


def vision_config(kind):
    text = dict(vocab_size=BASE_VOCAB, additional_vocab_size=128, max_position_embeddings=36864, rms_norm_eps=1e-6)
    if kind == "qwen3":
        text.update(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=16, num_hidden_layers=3,
                    intermediate_size=96, qk_norm_type="qwen3", norm_after=False,
                    rope_parameters=dict(rope_type="default", rope_theta=5000000.0))
    else:
        text.update(hidden_size=64, num_attention_heads=4, num_key_value_heads=4, head_dim=16, num_hidden_layers=4,
                    intermediate_size=96, qk_norm_type="olmo", norm_after=True,
                    rope_parameters=dict(rope_type="yarn", rope_theta=500000.0, factor=8.0,
                                         attention_factor=1.2079441541679836, beta_fast=32.0, beta_slow=1.0,
                                         original_max_position_embeddings=8192),
                    rope_scaling_layers=[1, 3])
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=25, num_attention_heads=2,
                  num_key_value_heads=2, head_dim=16, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
                  image_size=[378, 378], patch_size=14)
    adapter = dict(vision_feature_layer=[24, 18], hidden_size=32, num_attention_heads=2, num_key_value_heads=2,
                   head_dim=16, intermediate_size=text["intermediate_size"], text_hidden_size=text["hidden_size"])
    special = dict(image_start_token_id=512, image_end_token_id=513, image_patch_id=514,
                   low_res_image_start_token_id=516, frame_start_token_id=519, frame_end_token_id=520)
    return Molmo2Config(text_config=text, vision_config=vision, adapter_config=adapter, **special)


def released_config_json(cfg):
    """config.json in the released layout: vit_config with 27 layers and vit_layers [-3, -9] (25 blocks stored)."""
    t, v, a = cfg.text_config, cfg.vision_config, cfg.adapter_config
    rp = dict(t.rope_parameters)
    rope_type, theta = rp.pop("rope_type"), rp.pop("rope_theta")
    return {
        "architectures": ["Molmo2ForConditionalGeneration"], "model_type": "molmo2", "dtype": "float32",
        "image_start_token_id": 512, "image_end_token_id": 513, "image_patch_id": 514, "image_high_res_id": 514,
        "image_col_id": 515, "low_res_image_start_token_id": 516, "image_low_res_id": 518,
        "frame_start_token_id": 519, "frame_end_token_id": 520, "use_frame_special_tokens": False,
        "tie_word_embeddings": False, "initializer_range": 0.02, "use_cache": True,
        "text_config": {
            "model_type": "molmo2_text", "hidden_size": t.hidden_size, "num_hidden_layers": t.num_hidden_layers,
            "num_attention_heads": t.num_attention_heads, "num_key_value_heads": t.num_key_value_heads,
            "head_dim": t.head_dim, "intermediate_size": t.intermediate_size, "vocab_size": t.vocab_size,
            "additional_vocab_size": t.additional_vocab_size, "qkv_bias": False, "hidden_act": "silu",
            "rope_theta": theta, "rope_scaling": None if rope_type == "default" else dict(rope_type=rope_type, **rp),
            "rope_scaling_layers": t.rope_scaling_layers, "use_qk_norm": True, "qk_norm_type": t.qk_norm_type,
            "layer_norm_eps": t.rms_norm_eps, "norm_after": t.norm_after,
            "max_position_embeddings": t.max_position_embeddings, "embedding_dropout": 0.0, "attention_dropout": 0.0,
            "residual_dropout": 0.0, "attn_implementation": "sdpa", "initializer_range": 0.02, "use_cache": True,
        },
        "vit_config": {
            "model_type": "molmo2", "hidden_size": v.hidden_size, "intermediate_size": v.intermediate_size,
            "num_hidden_layers": 27, "num_attention_heads": v.num_attention_heads,
            "num_key_value_heads": v.num_key_value_heads, "head_dim": v.head_dim, "hidden_act": v.hidden_act,
            "layer_norm_eps": v.layer_norm_eps, "image_default_input_size": [378, 378], "image_patch_size": 14,
            "image_num_pos": 729, "float32_attention": True, "attention_dropout": 0.0, "residual_dropout": 0.0,
            "initializer_range": 0.02, "attn_implementation": "sdpa",
        },
        "adapter_config": {
            "model_type": "molmo2", "vit_layers": [-3, -9], "pooling_attention_mask": True,
            "hidden_size": a.hidden_size, "num_attention_heads": a.num_attention_heads,
            "num_key_value_heads": a.num_key_value_heads, "head_dim": a.head_dim, "float32_attention": True,
            "hidden_act": "silu", "intermediate_size": a.intermediate_size, "text_hidden_size": a.text_hidden_size,
            "image_feature_dropout": 0.0, "attention_dropout": 0.0, "residual_dropout": 0.0,
            "initializer_range": 0.02, "attn_implementation": "sdpa",
        },
    }


def write_processor_files(out_dir):
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(TOK_DIR, f), out_dir)
    for name, obj in (("preprocessor_config.json", PREPROCESSOR), ("video_preprocessor_config.json", VIDEO_PREPROCESSOR),
                      ("processor_config.json", PROCESSOR),
                      ("generation_config.json", {"bos_token_id": EOS, "eos_token_id": EOS, "pad_token_id": 480})):
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump(obj, f, indent=2)
    with open(os.path.join(out_dir, "chat_template.jinja"), "w") as f:
        f.write(CHAT_TEMPLATE)


def processor_inputs(proc, question, spec):
    if "images" in spec:
        images = [synthetic_rgb(w, h, s) for (w, h, s) in spec["images"]]
        content = [{"type": "image"} for _ in images] + [{"type": "text", "text": question}]
        prompt = proc.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True,
                                          tokenize=False)
        return prompt, proc(text=prompt, images=images, return_tensors="pt")
    frames = np.stack([synthetic_rgb(w, h, s) for (w, h, s) in spec["video"]])
    content = [{"type": "video"}, {"type": "text", "text": question}]
    prompt = proc.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True,
                                      tokenize=False)
    # fps 1 with the requested times as "frame indices": the prompt shows exactly those times (reference-env §3)
    meta = [{"fps": 1.0, "total_num_frames": len(frames), "frames_indices": spec["times"]}]
    return prompt, proc(text=prompt, videos=[frames], do_sample_frames=False, video_metadata=meta,
                        return_tensors="pt")


def to_u8(pixel_values):
    """The normalized pixels are (v - 127.5) / 127.5 of uint8 v (exactly); return v."""
    u8 = torch.round(pixel_values.double() * 127.5 + 127.5)
    assert u8.min() >= 0 and u8.max() <= 255
    u8 = u8.to(torch.uint8)
    assert torch.equal((u8.float() - 127.5) / 127.5, pixel_values), "normalization is not (v - 127.5) / 127.5"
    return u8


def dump_inputs(proc, proc_dir):
    ref = {}
    meta = {"cases": json.dumps(CASES)}
    for name, question, spec in CASES:
        prompt, x = processor_inputs(proc, question, spec)
        meta[f"{name}.prompt"] = prompt
        meta[f"{name}.question"] = question
        ref[f"{name}.input_ids"] = x["input_ids"][0].to(torch.int32)
        ref[f"{name}.token_type"] = x["mm_token_type_ids"][0].to(torch.int32)
        if "images" in spec:
            ref[f"{name}.pixels"] = to_u8(x["pixel_values"]).contiguous()
            ref[f"{name}.pooling"] = x["image_token_pooling"].to(torch.int32).contiguous()
            ref[f"{name}.grids"] = x["image_grids"].to(torch.int32).contiguous()
            ref[f"{name}.num_crops"] = x["image_num_crops"].to(torch.int32).contiguous()
        else:
            ref[f"{name}.pixels"] = to_u8(x["pixel_values_videos"]).contiguous()
            ref[f"{name}.pooling"] = x["video_token_pooling"].to(torch.int32).contiguous()
            ref[f"{name}.grids"] = x["video_grids"].to(torch.int32).contiguous()
        print(f"{name}: {x['input_ids'].shape[1]} tokens, pixels {tuple(ref[name + '.pixels'].shape)}, "
              f"pooling {tuple(ref[name + '.pooling'].shape)}")

    # Resizes of odd sizes, up and down, through the processor's own resize function. Outputs have height + width >
    # 128: PyTorch sends smaller outputs to a different (channels-last) kernel with other rounding, which Molmo2's
    # 378-px crops never reach.
    backend = proc.image_processor
    for i, (w, h, ow, oh) in enumerate([(37, 23, 150, 19), (64, 48, 101, 35), (5, 7, 90, 44), (401, 333, 266, 113)]):
        img = torch.from_numpy(synthetic_rgb(w, h, 50 + i)).permute(2, 0, 1)[None]
        out = resize_and_normalize_image(backend, img, [oh, ow], PILImageResampling.BILINEAR, do_rescale=True, rescale_factor=1 / 255,
                                         do_normalize=True, image_mean=(0.5, 0.5, 0.5), image_std=(0.5, 0.5, 0.5))
        ref[f"resize.{i}"] = to_u8(out[0].permute(1, 2, 0).contiguous())
        meta[f"resize.{i}"] = json.dumps([w, h, 50 + i, ow, oh])
    # The other branch of every layout flag: column tokens in the global view and in video frames, <im_start> for
    # the global view, <frame_start>/<frame_end> around frames.
    variant = {"processor_class": "Molmo2Processor", "image_use_col_tokens": True, "use_single_crop_col_tokens": None,
               "use_single_crop_start_token": False, "video_use_col_tokens": True, "use_frame_special_tokens": True}
    meta["variant.processor_config"] = json.dumps(variant)
    with tempfile.TemporaryDirectory() as tmp:
        for f in os.listdir(proc_dir):
            if not f.endswith(".safetensors"):
                shutil.copy(os.path.join(proc_dir, f), tmp)
        with open(os.path.join(tmp, "processor_config.json"), "w") as f:
            json.dump(variant, f)
        alt = AutoProcessor.from_pretrained(tmp)
        assert alt.use_frame_special_tokens and alt.use_single_crop_col_tokens is None
        for name, question, spec in CASES:
            _, x = processor_inputs(alt, question, spec)
            ref[f"variant.{name}.input_ids"] = x["input_ids"][0].to(torch.int32)
    save_file(ref, os.path.join(OUT, "vision-inputs.safetensors"), metadata=meta)

    # Tiling choices for many sizes (including sides below the 112-px margin) and max_crops values.
    rng = np.random.default_rng(7)
    sizes = [(w, h) for w in (1, 50, 111, 112, 113, 200, 378, 379, 500, 644, 1280, 1920, 4000)
             for h in (1, 90, 112, 240, 378, 480, 720, 1080, 3000)]
    sizes += [(int(a), int(b)) for a, b in rng.integers(1, 5000, size=(150, 2))]
    tiling = []
    for (w, h) in sizes:
        for max_crops in (1, 2, 4, 6, 8, 12, 24):
            th, tw, ch, cw = compute_crop_geometry(h, w, max_crops, [4, 4], 378, 14)
            tiling.append([w, h, max_crops, th, tw, ch, cw])
    with open(os.path.join(OUT, "vision-tiling.json"), "w") as f:
        json.dump({"columns": ["width", "height", "max_crops", "rows", "cols", "canvas_height", "canvas_width"],
                   "cases": tiling}, f, separators=(",", ":"))


def dump_reference(family, model_dir, proc):
    model = Molmo2ForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
    assert len(model.model.vision_tower.layers) == 25
    ref = {}
    pooled = []
    hook = model.model.multi_modal_projector.image_pooling_2d.register_forward_hook(
        lambda m, a, o: pooled.append(o[0].squeeze(1)))
    for name, question, spec in CASES:
        _, x = processor_inputs(proc, question, spec)
        is_video = "video" in spec
        pv = x["pixel_values_videos"] if is_video else x["pixel_values"]
        with torch.no_grad():
            if name == "image" and family == "qwen3":
                hs = model.model.vision_tower(pv, output_hidden_states=True).hidden_states
                ref[f"{name}.vit.18"] = hs[19].contiguous()
                ref[f"{name}.vit.24"] = hs[25].contiguous()
            pooled.clear()
            if is_video:
                feats = model.model.get_video_features(pv, x["video_token_pooling"], x["video_grids"]).pooler_output
            else:
                feats = model.model.get_image_features(pv, x["image_token_pooling"], x["image_grids"]).pooler_output
            ref[f"{name}.pooled"] = pooled[0].contiguous()
            ref[f"{name}.projected"] = torch.cat(feats).contiguous()
            out = model(**x, use_cache=False)
            ref[f"{name}.logits"] = out.logits[0, -8:].contiguous()
            gen = model.generate(**x, max_new_tokens=12, do_sample=False, output_scores=True,
                                 return_dict_in_generate=True)
            # the same prompt with the visual features left out: how much the vision path moves the logits
            blind = model(input_ids=x["input_ids"], mm_token_type_ids=x["mm_token_type_ids"], use_cache=False)
        new = gen.sequences[0, x["input_ids"].shape[1]:]
        ref[f"{name}.greedy"] = new.to(torch.int32)
        margins = []
        for scores in gen.scores:
            top = torch.topk(scores[0], 2).values
            margins.append(((top[0] - top[1]) / scores[0].abs().max()).item())
        effect = (blind.logits[0, -1] - out.logits[0, -1]).abs().max().item()
        print(f"{family}/{name}: projected {tuple(ref[name + '.projected'].shape)}, greedy {new.tolist()}, "
              f"min relative top-1 margin {min(margins):.4f}, last logits without visual features differ by "
              f"{effect:.3f} (max |logit| {out.logits[0, -1].abs().max().item():.2f})")
    hook.remove()
    save_file(ref, os.path.join(OUT, f"reference-vision-{family}.safetensors"))


def main():
    procs = {}
    seeds = {"qwen3": int(os.environ.get("QWEN3_SEED", 24)), "olmo3": int(os.environ.get("OLMO3_SEED", 15))}
    for kind, seed in seeds.items():
        torch.manual_seed(seed)
        cfg = vision_config(kind)
        model = Molmo2ForConditionalGeneration(cfg).eval()
        randomize(model, seed)
        with torch.no_grad():  # randomize() treats every "*embed*" tensor as an embedding table; this one is a Linear
            w = model.model.vision_tower.patch_embedding.weight
            w.copy_(torch.randn(w.shape, generator=torch.Generator().manual_seed(seed)) / w.shape[1] ** 0.5)
        out_dir = os.path.join(OUT, f"{kind}-vision-tiny")
        shutil.rmtree(out_dir, ignore_errors=True)
        model.save_pretrained(out_dir, max_shard_size="600KB")
        write_processor_files(out_dir)
        if kind == "olmo3":
            with open(os.path.join(out_dir, "config.json"), "w") as f:
                json.dump(released_config_json(cfg), f, indent=2)
            resplit_embedding(out_dir, BASE_VOCAB)
        procs[kind] = AutoProcessor.from_pretrained(out_dir)
        assert procs[kind].use_frame_special_tokens is False
    dump_inputs(procs["qwen3"], os.path.join(OUT, "qwen3-vision-tiny"))
    for kind in ("qwen3", "olmo3"):
        dump_reference(kind, os.path.join(OUT, f"{kind}-vision-tiny"), procs[kind])
    total = 0
    for entry in os.listdir(OUT):
        if "vision" in entry:
            path = os.path.join(OUT, entry)
            if os.path.isdir(path):
                total += sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
            else:
                total += os.path.getsize(path)
    print(f"vision fixtures: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
