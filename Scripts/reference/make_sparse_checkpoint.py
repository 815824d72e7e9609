"""A full-size Molmo2-4B checkpoint layout with all-zero weights, written as sparse files (no disk space, no torch).

Usage: python3 Scripts/reference/make_sparse_checkpoint.py OUTDIR [--dtype F32|BF16]

Every tensor of the released allenai/Molmo2-4B (names and shapes from molmo2-spec §1.5 and the released
config.json, runtime-limits §5.1) is listed in four safetensors shards plus the index; the data areas are holes.
Used to check `spotter doctor` on real sizes and to measure loading (peak memory) and prefill/decode speed of the
4B geometry with `spotter bench kernels --model OUTDIR`. The parameter count must equal the released one
(4,850,869,200), which checks the tensor list.
"""

import json
import os
import struct
import sys

D, L, H, K, HD, I, V, A = 2560, 36, 32, 8, 128, 9728, 151936, 128
E, M, P, VIT_LAYERS = 1152, 4304, 588, 25


def tensors():
    t = [("model.transformer.wte.embedding", [V, D]), ("model.transformer.wte.new_embedding", [A, D])]
    for i in range(L):
        b = f"model.transformer.blocks.{i}."
        t += [(b + "attn_norm.weight", [D]), (b + "ff_norm.weight", [D]),
              (b + "self_attn.att_proj.weight", [(H + 2 * K) * HD, D]), (b + "self_attn.q_norm.weight", [HD]),
              (b + "self_attn.k_norm.weight", [HD]), (b + "self_attn.attn_out.weight", [D, H * HD]),
              (b + "mlp.ff_proj.weight", [2 * I, D]), (b + "mlp.ff_out.weight", [D, I])]
    t += [("model.transformer.ln_f.weight", [D]), ("lm_head.weight", [V, D])]
    v = "model.vision_backbone."
    t += [(v + "image_vit.positional_embedding", [729, E]), (v + "image_vit.patch_embedding.weight", [E, P]),
          (v + "image_vit.patch_embedding.bias", [E])]
    for j in range(VIT_LAYERS):
        r = f"{v}image_vit.transformer.resblocks.{j}."
        for w in "qkvo":
            t += [(r + f"attention.w{w}.weight", [E, E]), (r + f"attention.w{w}.bias", [E])]
        t += [(r + "feed_forward.w1.weight", [M, E]), (r + "feed_forward.w1.bias", [M]),
              (r + "feed_forward.w2.weight", [E, M]), (r + "feed_forward.w2.bias", [E]),
              (r + "attention_norm.weight", [E]), (r + "attention_norm.bias", [E]),
              (r + "ffn_norm.weight", [E]), (r + "ffn_norm.bias", [E])]
    for w in "qkv":
        t += [(v + f"image_pooling_2d.w{w}.weight", [E, 2 * E]), (v + f"image_pooling_2d.w{w}.bias", [E])]
    t += [(v + "image_pooling_2d.wo.weight", [E, E]), (v + "image_pooling_2d.wo.bias", [E]),
          (v + "image_projector.w1.weight", [I, E]), (v + "image_projector.w3.weight", [I, E]),
          (v + "image_projector.w2.weight", [D, I])]
    return t


def released_config(dtype):
    """config.json of allenai/Molmo2-4B (runtime-limits §5.1), released layout."""
    return {
        "architectures": ["Molmo2ForConditionalGeneration"], "model_type": "molmo2",
        "dtype": "float32" if dtype == "F32" else "bfloat16",
        "image_start_token_id": 151936, "image_end_token_id": 151937, "image_patch_id": 151938,
        "image_high_res_id": 151938, "image_col_id": 151939, "low_res_image_start_token_id": 151940,
        "image_low_res_id": 151942, "frame_start_token_id": 151943, "frame_end_token_id": 151944,
        "use_frame_special_tokens": False, "tie_word_embeddings": False,
        "text_config": {"model_type": "molmo2_text", "hidden_size": D, "num_hidden_layers": L,
                        "num_attention_heads": H, "num_key_value_heads": K, "head_dim": HD, "intermediate_size": I,
                        "vocab_size": V, "additional_vocab_size": A, "qkv_bias": False, "hidden_act": "silu",
                        "rope_theta": 5000000.0, "rope_scaling": None, "rope_scaling_layers": None,
                        "use_qk_norm": True, "qk_norm_type": "qwen3", "layer_norm_eps": 1e-06, "norm_after": False,
                        "max_position_embeddings": 36864},
        "vit_config": {"hidden_size": E, "intermediate_size": M, "num_hidden_layers": 27, "num_attention_heads": 16,
                       "num_key_value_heads": 16, "head_dim": 72, "hidden_act": "gelu_pytorch_tanh",
                       "layer_norm_eps": 1e-06, "image_default_input_size": [378, 378], "image_patch_size": 14,
                       "image_num_pos": 729},
        "adapter_config": {"vit_layers": [-3, -9], "pooling_attention_mask": True, "hidden_size": E,
                           "num_attention_heads": 16, "num_key_value_heads": 16, "head_dim": 72,
                           "intermediate_size": I, "text_hidden_size": D, "hidden_act": "silu"},
    }


def main():
    out = sys.argv[1]
    dtype = sys.argv[sys.argv.index("--dtype") + 1] if "--dtype" in sys.argv else "F32"
    size = {"F32": 4, "BF16": 2}[dtype]
    os.makedirs(out, exist_ok=True)
    ts = tensors()
    params = sum(eval("*".join(map(str, s))) for _, s in ts)
    print(f"{len(ts)} tensors, {params} parameters (released Molmo2-4B: 4850869200)")
    shards = [[] for _ in range(4)]
    budget = params * size / 4
    acc, s = 0, 0
    for name, shape in ts:
        n = 1
        for d in shape:
            n *= d
        if acc > budget * (s + 1) and s < 3:
            s += 1
        shards[s].append((name, shape, n * size))
        acc += n * size
    weight_map = {}
    for k, items in enumerate(shards):
        fname = f"model-{k + 1:05d}-of-00004.safetensors"
        header, off = {"__metadata__": {"format": "pt"}}, 0
        for name, shape, nbytes in items:
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + nbytes]}
            off += nbytes
            weight_map[name] = fname
        hb = json.dumps(header, separators=(",", ":")).encode()
        hb += b" " * ((8 - len(hb) % 8) % 8)
        with open(os.path.join(out, fname), "wb") as f:
            f.write(struct.pack("<Q", len(hb)))
            f.write(hb)
            f.truncate(8 + len(hb) + off)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": params * size, "total_parameters": params}, "weight_map": weight_map}, f)
    config = released_config(dtype)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 151645, "eos_token_id": 151645, "pad_token_id": 151643}, f)
    print(f"wrote {out}: {params * size / 1e9:.2f} GB of {dtype} (sparse)")


if __name__ == "__main__":
    main()
