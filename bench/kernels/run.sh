#!/usr/bin/env bash
# Builds bench/kernels (wasm, simd128; the relaxed kernel carries its own target feature) and
# times each kernel and tile height in headless Chromium: G multiply-adds per second, best of 7.
#   bench/kernels/run.sh [--chromium PATH]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# Built outside the clone (as every build here), in its own folder: other flags than the rest.
target="${CARGO_TARGET_DIR:-${TMPDIR:-/tmp}}/clip-kernels-bench"
RUSTFLAGS="-C target-feature=+simd128" CARGO_TARGET_DIR="$target" \
  cargo build --quiet --release --target wasm32-unknown-unknown --manifest-path "$here/Cargo.toml"
exec node "$here/run.mjs" "$target/wasm32-unknown-unknown/release/clip_kernels_bench.wasm" "$@"
