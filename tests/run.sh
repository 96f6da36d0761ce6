#!/usr/bin/env bash
# The project's test command (README.md "Test"):
#  1. Rust: unit, reference (vs transformers), CLI, bundle and download tests, on the CPU and on
#     wgpu where a Vulkan adapter exists;
#  2. the page: built with the committed tiny fixture model, driven in headless Chromium on
#     WebGPU and on the CPU fallback, its probabilities compared with the native CLI's.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# Mesa's Vulkan driver warns on every probe without it.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

cargo test --release --workspace

./build.sh --from tests/fixtures/tiny-quickgelu
CLIP_BIN="$CARGO_TARGET_DIR/release/clip" node --test tests/browser/
