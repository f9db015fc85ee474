#!/usr/bin/env bash
# Build tools the release speed depends on but correctness does not: NASM assembles libjpeg's SIMD
# code (JPEG decode and encode about 2× faster). Without it the build falls back to libjpeg's plain C
# code, which gives the same pixels, more slowly. Installs Debian's package when missing and allowed;
# never fails the set-up.
set -uo pipefail
if command -v nasm >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "build-tools: installing nasm (libjpeg SIMD)" >&2
    if apt-get install -y -q nasm >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q nasm >/dev/null 2>&1; }; then
        exit 0
    fi
fi
echo "build-tools: nasm is not installed; JPEG decoding will use libjpeg's slower C code" >&2
exit 0
