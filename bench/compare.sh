#!/usr/bin/env bash
# Speed race: this repo's wasm CLIP against transformers.js, on the same checkpoint's weights.
#   bench/compare.sh HF_DIR [--runs N] [--images N] [--prompts N] [--no-webgpu] [--no-threads] [--webgpu-runs N]
#                    [--webgpu-dtype fp32|q8] [--chromium PATH] [--chromium-args "ARGS"] [--json FILE]
#                    [--before-pkg DIR]   (a WebGPU module built otherwise, e.g. from the last commit:
#                                          raced as a third contender, "before", in the same run)
#                    [--before-cpu-pkg DIR] (the same for the one-thread CPU module)
# Env: CLIP_BIN (default: cargo build --release's, in $CARGO_TARGET_DIR or ./target), BENCH_WORK (work dir,
# default /tmp/clip-bench-<name of HF_DIR>), PYTHON (default python3). See bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
if [[ $# -lt 1 || "$1" == -* ]]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
hf="$(cd "$1" && pwd)"; shift
before_pkg=""
before_cpu_pkg=""
args=()
while [[ $# -gt 0 ]]; do
  if [[ "$1" == --before-pkg ]]; then
    [[ -f "${2:-}/clip.js" && -f "${2:-}/clip_bg.wasm" ]] || { echo "compare.sh: --before-pkg needs a folder with a WebGPU module's clip.js and clip_bg.wasm (got '${2:-}')" >&2; exit 2; }
    before_pkg="$(cd "$2" && pwd)"; shift 2
  elif [[ "$1" == --before-cpu-pkg ]]; then
    [[ -f "${2:-}/clip.js" && -f "${2:-}/clip_bg.wasm" ]] || { echo "compare.sh: --before-cpu-pkg needs a folder with a CPU module's clip.js and clip_bg.wasm (got '${2:-}')" >&2; exit 2; }
    before_cpu_pkg="$(cd "$2" && pwd)"; shift 2
  else args+=("$1"); shift; fi
done
set -- ${args[@]+"${args[@]}"}
for f in config.json model.safetensors tokenizer.json preprocessor_config.json; do
  [[ -e "$hf/$f" ]] || { echo "compare.sh: $hf has no $f" >&2; exit 2; }
done
CLIP_BIN="${CLIP_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/clip}"
PYTHON="${PYTHON:-python3}"
work="${BENCH_WORK:-/tmp/clip-bench-$(basename "$hf")}"
site="$work/site"
mkdir -p "$work"

# The weights' fingerprint: rebuild both contenders only when the checkpoint changed.
stamp="$(stat -L -c '%s %Y' "$hf"/model.safetensors "$hf"/config.json "$hf"/tokenizer.json "$hf"/preprocessor_config.json | tr '\n' ' ')"
if [[ "$(cat "$work/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  rm -rf "$work/ours" "$work/theirs" "$work/.stamp"
fi

# Ours: the repo's CLI, q8 bundle (no classifier).
if [[ ! -f "$work/ours/manifest.json" ]]; then
  [[ -x "$CLIP_BIN" ]] || { echo "compare.sh: no clip binary at $CLIP_BIN: build it with cargo build --release, or set CLIP_BIN" >&2; exit 2; }
  echo "compare.sh: ours: $CLIP_BIN convert --from $hf --out $work/ours --precision q8" >&2
  "$CLIP_BIN" convert --from "$hf" --out "$work/ours" --precision q8 >&2
fi
# Theirs: PyTorch ONNX export (verified against transformers) + transformers.js's q8 quantization.
if [[ ! -f "$work/theirs/onnx/vision_model_quantized.onnx" || ! -f "$work/theirs/onnx/text_model_quantized.onnx" ]]; then
  echo "compare.sh: theirs: $PYTHON bench/export_onnx.py $hf $work/theirs" >&2
  "$PYTHON" "$here/export_onnx.py" "$hf" "$work/theirs" >&2
fi
echo -n "$stamp" > "$work/.stamp"

# transformers.js + playwright-core, pinned by bench/package-lock.json.
if [[ ! -d "$here/node_modules/@huggingface/transformers" || ! -d "$here/node_modules/playwright-core" ]]; then
  (cd "$here" && npm ci --ignore-scripts >&2)
fi

# The harness site: the page, our wasm modules as built in www/pkg (WebGPU), www/pkg-cpu (the CPU
# path, what the page fetches without a GPU) and www/pkg-threads (the CPU path on threads, what it
# fetches when cross-origin isolated), transformers.js's browser
# bundle (onnxruntime-web inside) and onnxruntime-web's wasm files, the two model dirs, images.
for f in "$repo"/www/pkg{,-cpu}/clip{.js,_bg.wasm}; do
  [[ -f "$f" ]] || { echo "compare.sh: $f is missing (run ./build.sh)" >&2; exit 2; }
done
rm -rf "$site"
mkdir -p "$site/pkg" "$site/pkg-cpu" "$site/tjs" "$site/ort" "$site/models" "$site/images"
cp "$here/site/index.html" "$here/site/bench.js" "$here/site/ours-worker.js" "$here/site/gpu-counts.js" "$site/"
cp "$repo/www/pkg/clip.js" "$repo/www/pkg/clip_bg.wasm" "$site/pkg/"
if [[ -n "$before_pkg" ]]; then
  mkdir -p "$site/pkg-before"
  cp "$before_pkg/clip.js" "$before_pkg/clip_bg.wasm" "$site/pkg-before/"
fi
cp "$repo/www/pkg-cpu/clip.js" "$repo/www/pkg-cpu/clip_bg.wasm" "$site/pkg-cpu/"
if [[ -n "$before_cpu_pkg" ]]; then
  mkdir -p "$site/pkg-cpu-before"
  cp "$before_cpu_pkg/clip.js" "$before_cpu_pkg/clip_bg.wasm" "$site/pkg-cpu-before/"
fi
# The threaded CPU module as wasm-bindgen wrote it (its pool workers import the glue and snippets).
if [[ -f "$repo/www/pkg-threads/clip_bg.wasm" ]]; then
  mkdir -p "$site/pkg-threads"
  (cd "$repo/www/pkg-threads" && cp --parents clip.js clip_bg.wasm $(find snippets -name '*.js') "$site/pkg-threads/")
else
  echo "compare.sh: no www/pkg-threads (build.sh skipped the threaded module): ours runs cpu_2threads on one thread" >&2
fi
cp "$here/node_modules/@huggingface/transformers/dist/transformers.js" "$site/tjs/"
cp "$here"/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.{mjs,wasm} "$site/ort/"
ln -s "$work/ours" "$site/models/ours"
ln -s "$work/theirs" "$site/models/theirs"
for img in rocket.jpg astronaut.png coffee.png chelsea.png; do
  cp "$repo/tests/fixtures/images/$img" "$site/images/"
done

exec node "$here/run.mjs" "$site" "$@"
