"""Tiny random-weight Molmo2 checkpoints (Qwen3-style and OLMo3-style decoders) plus reference outputs.

Writes, under Tests/MolmoRuntimeTests/Fixtures/:
  tokenizer-tiny/              a small byte-level BPE tokenizer with the Qwen3 pre-tokenizer and Molmo2 specials
  qwen3-tiny-f32/              fp32 checkpoint, `save_pretrained` layout (native config keys, released tensor names)
  qwen3-tiny-bf16/             the same weights in bfloat16
  qwen3-tiny-native-names/     the same weights under transformers' native names (model.language_model.*)
  olmo3-tiny-f32/              OLMo3-style decoder, hand-written config.json in the released layout (vit_config, ...)
  olmo3-tiny-bf16/             the same weights in bfloat16
  reference-<model>.safetensors  reference tensors (see `dump_reference`)

Every checkpoint is re-loaded with `from_pretrained` before the reference outputs are computed, so the files on disk
are what the reference ran.
"""

import copy
import json
import os
import shutil
import sys

os.environ["HF_HUB_OFFLINE"] = "1"

import torch
from safetensors.torch import load_file, save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import Molmo2Config, Molmo2ForConditionalGeneration

torch.set_num_threads(2)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "MolmoRuntimeTests", "Fixtures")

QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
BASE_VOCAB = 512  # text_config.vocab_size (rows of lm_head)
BPE_SIZE = 480  # trained byte-level BPE entries (ids 0..479)
CHAT = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 480, 481, 482
MOLMO = ["<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<low_res_im_start>", "<|image|>", "<im_low>",
         "<frame_start>", "<frame_end>", "<|video|>"]  # ids 512..521
FILLERS = [f"|<EXTRA_TOKENS_{i}>|" for i in range(BASE_VOCAB - BPE_SIZE - len(CHAT))]  # 483..511

CORPUS = """
The quick brown fox jumps over the lazy dog. A dog, two dogs, three cats and 42 birds were counted.
Point to the dog in the image. Track the red car across the video frames. How many people are there?
Describe this image in detail. The person on the left is holding a cup; the one on the right isn't.
Counting the apples shows a total of 7. There are none. We'll see what they've done, I'm sure it's fine.
def forward(self, x):\n    return self.proj(x) + x\n\nfor i in range(10):\n    print(i * 2)\n
Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14159 2026-11-25 12:30:45.
Unicode: café, naïve, Ωμέγα, Привет мир, 你好世界, こんにちは, 안녕하세요, مرحبا, नमस्ते, 😀👍🏽.
<points coords="1 1 250 500 2 750 250">dogs</points> <tracks coords="0.0 1 212 480;0.5 1 220 478">dog</tracks>
""" * 3


def build_tokenizer(out_dir):
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=BPE_SIZE, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS.splitlines(), trainer)
    assert tok.get_vocab_size() == BPE_SIZE, tok.get_vocab_size()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in CHAT + FILLERS + MOLMO])
    # one non-special added token, as Qwen3 has (`<think>`): matched atomically, kept when decoding
    tok.add_tokens([AddedToken("<think>", special=False, normalized=False)])
    assert tok.token_to_id("<im_start>") == BASE_VOCAB and tok.token_to_id("<|video|>") == BASE_VOCAB + 9
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": False, "bos_token": "<|im_end|>", "eos_token": "<|im_end|>",
                   "pad_token": "<|endoftext|>", "tokenizer_class": "Qwen2Tokenizer"}, f, indent=2)
    return tok


def ids(tok, name):
    return tok.token_to_id(name)


def molmo_config(kind, tok):
    special = dict(image_start_token_id=ids(tok, "<im_start>"), image_end_token_id=ids(tok, "<im_end>"),
                   image_patch_id=ids(tok, "<im_patch>"), low_res_image_start_token_id=ids(tok, "<low_res_im_start>"),
                   frame_start_token_id=ids(tok, "<frame_start>"), frame_end_token_id=ids(tok, "<frame_end>"))
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=2, head_dim=8)
    if kind == "qwen3":
        text = dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=16, vocab_size=BASE_VOCAB,
                    additional_vocab_size=128, num_hidden_layers=3, intermediate_size=96, qk_norm_type="qwen3",
                    norm_after=False, max_position_embeddings=36864, rms_norm_eps=1e-6,
                    rope_parameters=dict(rope_type="default", rope_theta=5000000.0))
    else:
        text = dict(hidden_size=96, num_attention_heads=4, num_key_value_heads=4, head_dim=24, vocab_size=BASE_VOCAB,
                    additional_vocab_size=128, num_hidden_layers=4, intermediate_size=160, qk_norm_type="olmo",
                    norm_after=True, max_position_embeddings=65536, rms_norm_eps=1e-6,
                    rope_parameters=dict(rope_type="yarn", rope_theta=500000.0, factor=8.0,
                                         attention_factor=1.2079441541679836, beta_fast=32.0, beta_slow=1.0,
                                         original_max_position_embeddings=8192),
                    rope_scaling_layers=[1, 3])
    adapter = dict(vision_feature_layer=[-1, -2], hidden_size=16, num_attention_heads=2, num_key_value_heads=2,
                   head_dim=8, intermediate_size=text["intermediate_size"], text_hidden_size=text["hidden_size"])
    return Molmo2Config(text_config=text, vision_config=vision, adapter_config=adapter, **special)


def released_config_json(cfg, tok):
    """config.json in the layout of the released checkpoints (molmo2-spec §1.3, runtime-limits §5.1)."""
    t = cfg.text_config
    rp = dict(t.rope_parameters)
    rope_type = rp.pop("rope_type")
    theta = rp.pop("rope_theta")
    rope_scaling = None if rope_type == "default" else dict(rope_type=rope_type, **rp)
    v = cfg.vision_config
    a = cfg.adapter_config
    return {
        "architectures": ["Molmo2ForConditionalGeneration"], "model_type": "molmo2", "dtype": "float32",
        "image_start_token_id": cfg.image_start_token_id, "image_end_token_id": cfg.image_end_token_id,
        "image_patch_id": cfg.image_patch_id, "image_high_res_id": cfg.image_patch_id,
        "image_col_id": ids(tok, "<im_col>"), "low_res_image_start_token_id": cfg.low_res_image_start_token_id,
        "image_low_res_id": ids(tok, "<im_low>"), "frame_start_token_id": cfg.frame_start_token_id,
        "frame_end_token_id": cfg.frame_end_token_id, "use_frame_special_tokens": False,
        "tie_word_embeddings": False, "initializer_range": 0.02, "use_cache": True,
        "text_config": {
            "model_type": "molmo2_text", "hidden_size": t.hidden_size, "num_hidden_layers": t.num_hidden_layers,
            "num_attention_heads": t.num_attention_heads, "num_key_value_heads": t.num_key_value_heads,
            "head_dim": t.head_dim, "intermediate_size": t.intermediate_size, "vocab_size": t.vocab_size,
            "additional_vocab_size": t.additional_vocab_size, "qkv_bias": False, "hidden_act": "silu",
            "rope_theta": theta, "rope_scaling": rope_scaling, "rope_scaling_layers": t.rope_scaling_layers,
            "use_qk_norm": True, "qk_norm_type": t.qk_norm_type, "layer_norm_eps": t.rms_norm_eps,
            "norm_after": t.norm_after, "max_position_embeddings": t.max_position_embeddings,
            "embedding_dropout": 0.0, "attention_dropout": 0.0, "residual_dropout": 0.0,
            "attn_implementation": "sdpa", "initializer_range": 0.02, "use_cache": True,
        },
        "vit_config": {
            "model_type": "molmo2", "hidden_size": v.hidden_size, "intermediate_size": v.intermediate_size,
            "num_hidden_layers": v.num_hidden_layers, "num_attention_heads": v.num_attention_heads,
            "num_key_value_heads": v.num_key_value_heads, "head_dim": v.head_dim, "hidden_act": v.hidden_act,
            "layer_norm_eps": v.layer_norm_eps, "image_default_input_size": [378, 378], "image_patch_size": 14,
            "image_num_pos": 729, "float32_attention": True, "attention_dropout": 0.0, "residual_dropout": 0.0,
            "initializer_range": 0.02, "attn_implementation": "sdpa",
        },
        "adapter_config": {
            "model_type": "molmo2", "vit_layers": list(a.vision_feature_layer), "pooling_attention_mask": True,
            "hidden_size": a.hidden_size, "num_attention_heads": a.num_attention_heads,
            "num_key_value_heads": a.num_key_value_heads, "head_dim": a.head_dim, "float32_attention": True,
            "hidden_act": "silu", "intermediate_size": a.intermediate_size, "text_hidden_size": a.text_hidden_size,
            "image_feature_dropout": 0.0, "attention_dropout": 0.0, "residual_dropout": 0.0,
            "initializer_range": 0.02, "attn_implementation": "sdpa",
        },
    }


def randomize(model, seed):
    """Weights with O(1) activations so logits have clear top-1 margins (HF's 0.02 init gives near-ties)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g) if "norm" in name
                        else 0.1 * torch.randn(p.shape, generator=g))
            elif "embed" in name or "positional" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / (p.shape[1] ** 0.5))


def resplit_embedding(model_dir, vocab):
    """Rewrites the shards holding wte.embedding / wte.new_embedding as [vocab, D] and [extra, D]."""
    idx_path = os.path.join(model_dir, "model.safetensors.index.json")
    with open(idx_path) as f:
        index = json.load(f)
    wm = index["weight_map"]
    a, b = "model.transformer.wte.embedding", "model.transformer.wte.new_embedding"
    full = torch.cat([load_file(os.path.join(model_dir, wm[a]))[a], load_file(os.path.join(model_dir, wm[b]))[b]])
    parts = {a: full[:vocab].contiguous(), b: full[vocab:].contiguous()}
    for shard in sorted({wm[a], wm[b]}):
        path = os.path.join(model_dir, shard)
        tensors = load_file(path)
        for name in (a, b):
            if wm[name] == shard:
                tensors[name] = parts[name]
        save_file(tensors, path, metadata={"format": "pt"})


def write_checkpoint_extras(out_dir, tok_dir, eos):
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), out_dir)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 482, "eos_token_id": eos, "pad_token_id": 480}, f, indent=2)


def layer_outputs(model, **kw):
    """Forward pass; returns (logits [S, V], [hidden after layer i for every i])."""
    captured = []
    hooks = [layer.register_forward_hook(lambda m, a, o: captured.append(o[0] if isinstance(o, tuple) else o))
             for layer in model.model.language_model.layers]
    try:
        with torch.no_grad():
            out = model(**kw, use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    return out.logits[0], [c[0] for c in captured]


def greedy(model, input_ids, steps, **extra):
    """Greedy continuation without EOS stopping (recomputes the full sequence each step)."""
    seq = input_ids.clone()
    margins = []
    tokens = []
    embeds = extra.get("inputs_embeds")
    for _ in range(steps):
        with torch.no_grad():
            if embeds is not None:
                emb_new = model.get_input_embeddings()(seq[:, embeds.shape[1]:])
                all_emb = torch.cat([embeds, emb_new], dim=1)
                tt = extra["mm_token_type_ids"]
                tt = torch.cat([tt, torch.zeros((1, seq.shape[1] - tt.shape[1]), dtype=tt.dtype)], dim=1)
                logits = model(inputs_embeds=all_emb, mm_token_type_ids=tt, use_cache=False).logits[0, -1]
            else:
                logits = model(input_ids=seq, use_cache=False).logits[0, -1]
        top = torch.topk(logits.float(), 2)
        margins.append((top.values[0] - top.values[1]).item() / logits.abs().max().item())
        nxt = top.indices[0].view(1, 1)
        tokens.append(nxt.item())
        seq = torch.cat([seq, nxt], dim=1)
    return torch.tensor(tokens, dtype=torch.int64), min(margins)


TEXT_PROMPT = "<|im_end|><|im_start|>user\nPoint to the dogs, then count them: 3 dogs?<|im_end|>\n<|im_start|>assistant\n"


def visual_case(tok, cfg, model, g):
    """A prompt with an image block: random features are added to the <im_patch> embeddings and every visual token
    attends to every other (bidirectional block), text stays causal."""
    rows, cols = 2, 3
    block = "<low_res_im_start>" + "<im_patch>" * 4 + "<im_end><im_start>" + ("<im_patch>" * cols + "<im_col>") * rows + "<im_end>"
    text = "<|im_end|>" + block + "<|im_start|>user\nWhat is shown?<|im_end|>\n<|im_start|>assistant\n"
    input_ids = torch.tensor([tok.encode(text).ids])
    visual_ids = {ids(tok, t) for t in ["<im_patch>", "<im_col>", "<im_start>", "<low_res_im_start>", "<frame_start>",
                                        "<im_end>", "<frame_end>", "<im_low>"]}
    token_type = torch.tensor([[1 if i in visual_ids else 0 for i in input_ids[0].tolist()]])
    n_patch = int((input_ids == cfg.image_patch_id).sum())
    features = torch.randn((n_patch, cfg.text_config.hidden_size), generator=g)
    with torch.no_grad():
        embeds = model.get_input_embeddings()(input_ids).clone()
    embeds[0, input_ids[0] == cfg.image_patch_id] += features
    return text, input_ids, token_type, features, embeds


def dump_reference(name, model_dir, tok, bf16_dir=None, f16_dir=None):
    model = Molmo2ForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
    cfg = model.config
    g = torch.Generator().manual_seed(1234)
    ref = {}
    enc = tok.encode(TEXT_PROMPT)
    input_ids = torch.tensor([enc.ids])
    logits, hidden = layer_outputs(model, input_ids=input_ids)
    ref["text.input_ids"] = input_ids[0]
    ref["text.logits"] = logits.contiguous()
    for i, h in enumerate(hidden):
        ref[f"text.hidden.{i}"] = h.contiguous()
    ref["text.greedy"], margin = greedy(model, input_ids, 32)
    print(f"{name}: text prompt {input_ids.shape[1]} tokens, greedy min relative top-1 margin {margin:.4f}")

    vtext, vids, vtype, feats, vembeds = visual_case(tok, cfg, model, g)
    vlogits, vhidden = layer_outputs(model, inputs_embeds=vembeds, mm_token_type_ids=vtype)
    causal_logits, _ = layer_outputs(model, inputs_embeds=vembeds)
    ref["visual.input_ids"] = vids[0]
    ref["visual.token_type"] = vtype[0]
    ref["visual.features"] = feats.contiguous()
    ref["visual.logits"] = vlogits.contiguous()
    for i, h in enumerate(vhidden):
        ref[f"visual.hidden.{i}"] = h.contiguous()
    ref["visual.greedy"], vmargin = greedy(model, vids, 16, inputs_embeds=vembeds, mm_token_type_ids=vtype)
    print(f"{name}: visual prompt {vids.shape[1]} tokens, bidirectional vs causal max diff "
          f"{(vlogits - causal_logits).abs().max().item():.3f}, greedy min margin {vmargin:.4f}")

    if bf16_dir is not None:
        mb = Molmo2ForConditionalGeneration.from_pretrained(bf16_dir, dtype=torch.bfloat16).eval()
        lb, _ = layer_outputs(mb, input_ids=input_ids)
        ref["text.logits_bf16"] = lb.float().contiguous()
        vb, _ = layer_outputs(mb, inputs_embeds=vembeds.to(torch.bfloat16), mm_token_type_ids=vtype)
        ref["visual.logits_bf16"] = vb.float().contiguous()
        mw = Molmo2ForConditionalGeneration.from_pretrained(bf16_dir, dtype=torch.float32).eval()
        lw, _ = layer_outputs(mw, input_ids=input_ids)
        ref["text.logits_bf16_weights_f32_compute"] = lw.contiguous()
        rel = ((lb.float() - logits).abs().max() / logits.abs().max()).item()
        print(f"{name}: bf16 torch vs fp32 relative max diff {rel:.4f}, "
              f"top-1 equal {(lb.float().argmax(-1) == logits.argmax(-1)).float().mean().item():.3f}")
    if f16_dir is not None:
        mh = Molmo2ForConditionalGeneration.from_pretrained(f16_dir, dtype=torch.float32).eval()
        lh, _ = layer_outputs(mh, input_ids=input_ids)
        ref["text.logits_f16_weights_f32_compute"] = lh.contiguous()
    meta = {"text.prompt": TEXT_PROMPT, "visual.prompt": vtext}
    save_file(ref, os.path.join(OUT, f"reference-{name}.safetensors"), metadata=meta)


def main():
    os.makedirs(OUT, exist_ok=True)
    tok_dir = os.path.join(OUT, "tokenizer-tiny")
    tok = build_tokenizer(tok_dir)

    for kind, seed in (("qwen3", 1), ("olmo3", 2)):
        torch.manual_seed(seed)
        cfg = molmo_config(kind, tok)
        model = Molmo2ForConditionalGeneration(cfg).eval()
        randomize(model, seed)
        f32 = os.path.join(OUT, f"{kind}-tiny-f32")
        bf16 = os.path.join(OUT, f"{kind}-tiny-bf16")
        for d in (f32, bf16):
            shutil.rmtree(d, ignore_errors=True)
        model.save_pretrained(f32, max_shard_size="200KB")
        copy.deepcopy(model).to(torch.bfloat16).save_pretrained(bf16, max_shard_size="200KB")
        eos = 482 if kind == "qwen3" else [482, 480]
        for d in (f32, bf16):
            write_checkpoint_extras(d, tok_dir, eos)
        if kind == "olmo3":
            # the released checkpoints' config.json layout, which transformers also reads, and the released split of
            # the embedding (transformers 5.24 `save_pretrained` splits the concatenated table into two equal halves;
            # the qwen3 fixtures keep that split, which the runtime also accepts)
            for d, dtype in ((f32, "float32"), (bf16, "bfloat16")):
                rc = released_config_json(cfg, tok)
                rc["dtype"] = dtype
                with open(os.path.join(d, "config.json"), "w") as f:
                    json.dump(rc, f, indent=2)
                resplit_embedding(d, BASE_VOCAB)
        else:
            f16 = os.path.join(OUT, f"{kind}-tiny-f16")
            shutil.rmtree(f16, ignore_errors=True)
            copy.deepcopy(model).to(torch.float16).save_pretrained(f16, max_shard_size="400KB")
            write_checkpoint_extras(f16, tok_dir, eos)
            native = os.path.join(OUT, f"{kind}-tiny-native-names")
            shutil.rmtree(native, ignore_errors=True)
            os.makedirs(native)
            sd = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("model.vision_tower")
                  and not k.startswith("model.multi_modal_projector")}
            save_file(sd, os.path.join(native, "model.safetensors"), metadata={"format": "pt"})
            shutil.copy(os.path.join(f32, "config.json"), native)
            write_checkpoint_extras(native, tok_dir, eos)
        dump_reference(kind, f32, tok, bf16_dir=bf16, f16_dir=os.path.join(OUT, f"{kind}-tiny-f16") if kind == "qwen3" else None)
    total = 0
    for dirpath, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    print(f"fixtures: {total / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    sys.exit(main())
