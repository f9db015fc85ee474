#!/usr/bin/env bash
# The page at / in real, headless Chromium (Debian's package) driven by Playwright (npm's
# playwright-core, pinned in ui-test/package-lock.json), against `faceswap serve` on loopback with a
# temporary data folder and photos from ../shared/faces. Screenshots go to target/ui/.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${FACESWAP_SHARED:-../shared}
if ! command -v chromium >/dev/null 2>&1; then
  echo "ui-test: installing Debian's chromium" >&2
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
(cd ui-test && npm ci --no-audit --no-fund --silent)
cargo build -q -p faceswap
bin=./target/debug/faceswap
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
key=$("$bin" keys create --data-dir "$data" --name ui-test --credits 50 --rate 0 2>/dev/null)
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --workers 2 >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.5
done
node ui-test/page.test.mjs "http://127.0.0.1:$port" "$key" "$shared/faces" target/ui || { tail -20 "$data/server.log"; exit 1; }
