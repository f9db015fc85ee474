#!/usr/bin/env bash
# What the build and the service use from Debian when it is there, installed when missing and
# allowed (root with apt-get); never fails the set-up:
# - nasm assembles libjpeg's SIMD code (JPEG decode and encode about 2× faster); without it the
#   build falls back to libjpeg's plain C code, with the same pixels, more slowly;
# - fonts-wqy-microhei draws the visible AI-content label's Chinese and Latin text; without it the
#   label falls back to DejaVu Sans and Latin text only.
set -uo pipefail
missing=()
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
[ ${#missing[@]} = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "build-tools: installing ${missing[*]}" >&2
    if apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; }; then
        exit 0
    fi
fi
echo "build-tools: not installed: ${missing[*]} (slower JPEG code; a Latin-only visible label)" >&2
exit 0
