#!/usr/bin/env bash
# Quality gate: fuses the development pairs (../shared/eval/pairs.tsv) with the engine, scores them with
# the independent dlib scorer (../shared/eval) and fails if a figure falls below the gate.
#
#   scripts/quality.sh [RESULT_DIR]        # default: target/quality
#
# The results are PNG (the scorer compares pixels outside the face, and JPEG alone would cost ~46 dB).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${FACESWAP_SHARED:-../shared}
out=${1:-target/quality}
mkdir -p "$out"

bash "$shared/eval/setup.sh" >/dev/null
cargo build -q -p faceswap
./target/debug/faceswap bench --pairs "$shared/eval/pairs.tsv" --out "$out" --rounds 0 --threads 1 >/dev/null
"$shared/eval/score.sh" --pairs "$shared/eval/pairs.tsv" --results "faceswap=$out" --out "$out/report.json"

# The gate: issue 2's targets, det 1.00, at_tpl 1.00, same<0.6 >= 0.92, dAref <= 0.55, contour <= 0.08,
# outPSNR >= 70.
python3 - "$out/report.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["methods"]["faceswap"]["summary"]
gate = [
    ("det", s["detected_share"], ">=", 1.0),
    ("at_tpl", s["at_template_share"], ">=", 1.0),
    ("same<0.6", s["same_person_share"], ">=", 0.92),
    ("dAref", s["mean_id_dist_to_Aref"], "<=", 0.55),
    ("contour", s["mean_contour_err"], "<=", 0.08),
    ("outPSNR", s["mean_outside_psnr"], ">=", 70.0),
]
failed = 0
for name, value, op, limit in gate:
    ok = value is not None and (value >= limit if op == ">=" else value <= limit)
    failed += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {name:9s} {value} (gate {op} {limit})")
print(f"quality: {len(gate) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
