#!/usr/bin/env bash
# Everything the project checks, from a fresh clone: fetch the models (quick when cached), start the
# real PostgreSQL and S3 servers once for the run (scripts/backends.sh, loopback only), run every
# test of the workspace (they read ../shared/faces and run the real models; the store and blob
# suites and the two-replica test run against those servers), the page in headless Chromium
# (scripts/ui-test.sh), then the quality gate.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-tools.sh
bash scripts/fetch-models.sh
backends=$(mktemp -d /tmp/faceswap-backends.XXXXXX)
trap 'bash scripts/backends.sh stop "$backends"; rm -rf "$backends"' EXIT
# Started or the run fails (a failed command substitution inside eval would not stop it), and the
# backend tests then fail rather than skip if their servers are missing.
servers=$(bash scripts/backends.sh start "$backends")
eval "$servers"
export FACESWAP_REQUIRE_BACKENDS=1
cargo test --workspace --no-fail-fast
bash scripts/ui-test.sh
bash scripts/quality.sh
