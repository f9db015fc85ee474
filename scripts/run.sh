#!/usr/bin/env bash
# Starts the service on one machine: fetches the models if needed, builds the release binary and runs
# `faceswap serve` with any arguments given (see `faceswap serve --help`; defaults: 127.0.0.1:8080,
# SQLite and results under ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-tools.sh
bash scripts/fetch-models.sh
cargo build --release -q -p faceswap
exec ./target/release/faceswap serve "$@"
