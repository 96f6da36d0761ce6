#!/usr/bin/env bash
# The project's test command (README.md "Test"):
#  1. Rust: unit, reference (vs transformers), CLI, bundle and download tests, on the CPU and on
#     wgpu where a Vulkan adapter exists; the download tests build the page for every catalogue
#     model from a local server laid out as Hugging Face publishes them (CLIP_TEST_PAGE=1);
#  2. the page: built with the committed tiny fixture model into a scratch directory (the
#     user's own www/dist and models/ are left alone), driven in headless Chromium on WebGPU and
#     on the CPU fallback, its probabilities compared with the native CLI's.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# Mesa's Vulkan driver warns on every probe without it.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

# Each step says how long it took, so a slow CI run shows where its time went.
STARTED=$SECONDS
step() {
  local begun=$SECONDS
  "$@"
  echo "tests/run.sh: $(( (SECONDS - begun) / 60 ))m$(( (SECONDS - begun) % 60 ))s for: $*  ($(( (SECONDS - STARTED) / 60 )) min so far)" >&2
}

step cargo test --release --workspace --no-run
step env CLIP_TEST_PAGE=1 cargo test --release --workspace

# The integer matmul, activation folding and sigmoid kernels of the patched burn-flex
# (third_party/burn-flex/PATCHED.md): natively (SSE2), and as the page runs them, compiled to
# wasm with simd128 and run in Node's WASI (needs `rustup target add wasm32-wasip1`).
FLEX=third_party/burn-flex/Cargo.toml
step cargo test --release --manifest-path "$FLEX" --lib -- qmatmul
step env CARGO_TARGET_WASM32_WASIP1_RUNNER="node $PWD/tests/wasi/run.mjs" RUSTFLAGS="-C target-feature=+simd128" \
  cargo test --release --target wasm32-wasip1 --manifest-path "$FLEX" --no-default-features --features std,simd \
  --lib -- qmatmul simd_sigmoid

# The CLI the Rust tests built converts the fixture (build.sh would build a CPU-only one).
export CLIP_BIN="$CARGO_TARGET_DIR/release/clip"
step ./build.sh --from tests/fixtures/tiny-quickgelu --bundle-dir "$SCRATCH/models" --out "$SCRATCH/site"
step env CLIP_SITE="$SCRATCH/site" node --test tests/browser/
