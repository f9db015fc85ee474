#!/usr/bin/env bash
# Quality gate: fuses both lists of development pairs (../shared/eval/pairs.tsv and pairs-more.tsv) with
# the engine, scores each with the independent dlib scorer (../shared/eval) and fails if a figure of
# either list falls below the gate.
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
failed=0
for list in pairs pairs-more; do
  mkdir -p "$out/$list"
  ./target/debug/faceswap bench --pairs "$shared/eval/$list.tsv" --out "$out/$list" --rounds 0 --threads 1 --cache none >/dev/null
  "$shared/eval/score.sh" --pairs "$shared/eval/$list.tsv" --results "faceswap=$out/$list" --out "$out/$list/report.json"
  # The gate, as issue 9 asks: det 1.00, at_tpl 1.00, same<0.6 >= 0.92, dAref <= 0.55, contour
  # <= 0.08 and outPSNR >= 70 on both lists. Measured: dAref 0.522 / 0.522 since a closed mouth
  # stays closed in an open-mouthed template (0.559 / 0.539 while B's opening was kept), with the
  # scorer's noise of about 0.005 when a mesh moves by a fraction of a pixel. The contour measures
  # 0.075 on pairs.tsv: its pair 09 (a 34-pixel profile face) takes kit_2's beard along its jaw,
  # and the scorer's jaw follows the beard's edge (0.08 -> 0.2 there).
  max_dist=0.55
  python3 - "$out/$list/report.json" "$list" "$max_dist" <<'PY' || failed=1
import json, sys
s = json.load(open(sys.argv[1]))["methods"]["faceswap"]["summary"]
gate = [
    ("det", s["detected_share"], ">=", 1.0),
    ("at_tpl", s["at_template_share"], ">=", 1.0),
    ("same<0.6", s["same_person_share"], ">=", 0.92),
    ("dAref", s["mean_id_dist_to_Aref"], "<=", float(sys.argv[3])),
    ("contour", s["mean_contour_err"], "<=", 0.08),
    ("outPSNR", s["mean_outside_psnr"], ">=", 70.0),
]
failed = 0
for name, value, op, limit in gate:
    ok = value is not None and (value >= limit if op == ">=" else value <= limit)
    failed += not ok
    print(f"{sys.argv[2]}: {'ok  ' if ok else 'FAIL'} {name:9s} {value} (gate {op} {limit})")
print(f"quality {sys.argv[2]}: {len(gate) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
done
exit $failed
