#!/usr/bin/env bash
# Times one image pointing query on a full-size random-weight Molmo2-4B, through `spotter ask` (float32, then bfloat16
# with AVX512_BF16 dot products) and through transformers on PyTorch CPU (fp32, then bf16 autocast), one after the
# other in the same session, and compares the traces. Run nothing else alongside: fp32 needs ~20 GB.
#
#   .venv-reference/bin/python Scripts/reference/make_full_checkpoint.py /tmp/molmo2-4b-random   # once, 19.4 GB
#   swift build -c release --product spotter
#   bash Scripts/reference/measure_full_size.sh /tmp/molmo2-4b-random IMAGE [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
CKPT=$1
IMAGE=$2
OUT=${3:-/tmp/molmo2-measure}
QUESTION="Point to the circle."
TOKENS=16
mkdir -p "$OUT"
for format in float32 bfloat16; do
  extra=()
  [ "$format" = bfloat16 ] && extra=(--bf16-dot)
  /usr/bin/time -v .build/release/spotter ask "$IMAGE" "$QUESTION" --model "$CKPT" --max-tokens $TOKENS \
    --format $format "${extra[@]}" --json --trace "$OUT/spotter-$format.trace.json" \
    > "$OUT/spotter-$format.json" 2> "$OUT/spotter-$format.log"
  grep -E "loaded|crops in" "$OUT/spotter-$format.log"
done
for mode in fp32 bf16; do
  extra=()
  [ "$mode" = bf16 ] && extra=(--bf16-autocast)
  .venv-reference/bin/python Scripts/reference/bench_reference.py "$CKPT" "$IMAGE" "$QUESTION" \
    --new-tokens $TOKENS "${extra[@]}" --trace "$OUT/reference-$mode.trace.json" \
    > "$OUT/reference-$mode.json" 2> "$OUT/reference-$mode.log"
  grep -vE '^\s+[0-9]+,?$' "$OUT/reference-$mode.json"
done
echo "--- spotter float32 vs transformers fp32"
python3 Scripts/reference/compare_traces.py "$OUT/spotter-float32.trace.json" "$OUT/reference-fp32.trace.json" 3
echo "--- spotter bfloat16 vs transformers bf16 autocast"
python3 Scripts/reference/compare_traces.py "$OUT/spotter-bfloat16.trace.json" "$OUT/reference-bf16.trace.json" 3
