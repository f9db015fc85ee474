#!/usr/bin/env bash
# Everything the project checks, from a fresh clone: fetch the models (quick when cached), run every
# test of the workspace (they read ../shared/faces and run the real models), the page in headless
# Chromium (scripts/ui-test.sh), then the quality gate.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-tools.sh
bash scripts/fetch-models.sh
cargo test --workspace --no-fail-fast
bash scripts/ui-test.sh
bash scripts/quality.sh
