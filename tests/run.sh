#!/usr/bin/env bash
# The project's test command (README.md "Test"):
#  1. Rust: unit, reference (vs transformers), CLI, bundle and download tests, on the CPU and on
#     wgpu where a Vulkan adapter exists; the download tests build one page offering every
#     catalogue model, fetched from a local server laid out as Hugging Face publishes them
#     (CLIP_TEST_PAGE=1);
#  2. the patched burn-flex's own tests, and its kernels as wasm in Node's WASI;
#  3. the page: built with the committed tiny fixture models into a scratch directory (the
#     user's own www/dist and models/ are left alone), driven in headless Chromium on WebGPU and
#     on the CPU fallback, its probabilities compared with the native CLI's.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# Mesa's Vulkan driver warns on every probe without it.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
SCRATCH="$(mktemp -d)"
BESIDE=()
stop_beside() {
  local name pid
  for name in "${BESIDE[@]}"; do
    pid="PID_$name"
    [ -z "${!pid}" ] || { pkill -P "${!pid}" 2>/dev/null; kill "${!pid}" 2>/dev/null; } || true
  done
}
trap 'stop_beside; rm -rf "$SCRATCH"' EXIT

# Each step says how long it took, so a slow CI run shows where its time went.
STARTED=$SECONDS
took() {
  echo "tests/run.sh: $(( ($2) / 60 ))m$(( ($2) % 60 ))s for: $1  ($(( (SECONDS - STARTED) / 60 )) min so far)" >&2
}
step() {
  local begun=$SECONDS
  "$@"
  took "$*" $((SECONDS - begun))
}
# beside NAME COMMAND...: run it in the background, its output kept for `join NAME`, which waits
# for it, prints what it said and fails with it. On 2 cores one cargo build leaves a core idle
# for long stretches (one big crate at a time, linking), so independent builds overlap.
beside() {
  local name="$1"
  shift
  ( set +e; begun=$SECONDS; "$@" >"$SCRATCH/$name.log" 2>&1; status=$?; echo $((SECONDS - begun)) >"$SCRATCH/$name.took"; exit $status ) &
  BESIDE+=("$name")
  eval "PID_$name=$!"
}
join() {
  local name="$1" pid
  pid="PID_$name"
  local status=0
  wait "${!pid}" || status=$?
  eval "PID_$name="
  cat "$SCRATCH/$name.log"
  took "$name (beside the rest)" "$(cat "$SCRATCH/$name.took" 2>/dev/null || echo 0)"
  [ "$status" = 0 ] || { echo "tests/run.sh: $name failed" >&2; exit "$status"; }
}

# The patched burn-flex (third_party/burn-flex/PATCHED.md) is a workspace member: its own tests,
# the integer matmul, activation folding and sigmoid kernels among them, build and run natively
# with the Rust tests below, sharing their dependencies' build. Here its wasm SIMD kernels, as the
# page runs them: compiled to wasm with simd128 and run in Node's WASI (needs `rustup target add
# wasm32-wasip1`), in a target directory of their own so they build beside the rest.
flex_kernels() {
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR/flex" CARGO_TARGET_WASM32_WASIP1_RUNNER="node $PWD/tests/wasi/run.mjs" RUSTFLAGS="-C target-feature=+simd128" \
    cargo test --profile ci --target wasm32-wasip1 -p burn-flex --no-default-features --features std,simd \
    --lib -- qmatmul simd_sigmoid
}

# The page's wasm modules and the kernels' tests compile beside the Rust tests' build; the
# download tests' page and the browser tests' page then find the modules built.
beside modules ./build.sh --modules-only
beside kernels flex_kernels
# The Rust tests build with `--profile ci` (release at opt-level 1: Cargo.toml says why).
step cargo test --profile ci --workspace --no-run
join modules

# The CLI the Rust tests built converts the fixtures (build.sh would build a CPU-only one); two
# models, so the tests can switch and compare (the first is the page's default). The modules are
# the ones just built (--reuse-modules: checking them again cost a minute here).
export CLIP_BIN="$CARGO_TARGET_DIR/ci/clip"
step ./build.sh --reuse-modules --from tests/fixtures/tiny-quickgelu --from tests/fixtures/tiny-gelu --bundle-dir "$SCRATCH/models" --out "$SCRATCH/site"
# The browser tests on WebGPU (SwiftShader: the longest step) start now and run beside the Rust
# tests and the CPU browser tests, which wait on the browser or on lavapipe much of the time.
export CLIP_SITE="$SCRATCH/site"
beside webgpu env CLIP_BROWSER_MODES=webgpu node --test tests/browser/page.test.mjs
step env CLIP_TEST_PAGE=1 cargo test --profile ci --workspace
join kernels
step env CLIP_BROWSER_MODES=cpu node --test tests/browser/
join webgpu
