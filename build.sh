#!/usr/bin/env bash
# Build everything from a fresh machine: the native `clip` CLI, a model bundle, the wasm module
# and the page (www/dist/).
#
#   ./build.sh                      download openai/clip-vit-base-patch32 (pinned in
#                                   models/catalogue.json), convert it to q8, build the page
#   ./build.sh --from DIR           convert a local Hugging Face checkpoint instead (offline)
#   ./build.sh --model NAME         another checkpoint from models/catalogue.json; --model and
#                                   --from may be given several times: one page offers every
#                                   model, the first as its default
#   ./build.sh --precision P        f32, f16, q8 (default) or q4
#   ./build.sh --download-only      only fetch the checkpoints into the cache, print their directories
#   ./build.sh --no-web             stop after the bundle (no wasm, no page)
#   ./build.sh --modules-only       only build the page's wasm modules (www/pkg*), no model
#   ./build.sh --reuse-modules      build the page with the wasm modules already in www/pkg*
#                                   (an earlier --modules-only's) instead of building them again
#   ./build.sh --bundle-dir DIR     write the bundles into DIR/NAME-PRECISION (default models/)
#   ./build.sh --out DIR            write the page into DIR (default www/dist)
#   ./build.sh --classifiers LIST   presets to precompute zero-shot classifiers for, comma-separated
#                                   (default imagenet,imagenet-7; "none" skips them)
#   ./build.sh --serve              then serve the page with www/serve.mjs on 127.0.0.1 and print
#                                   its address (port: CLIP_PORT, default 8080)
#
# Environment: CARGO_TARGET_DIR (build cache), CLIP_CACHE_DIR (downloads; default
# ~/.cache/clip-zero-shot), CLIP_HF_ENDPOINT (a Hugging Face mirror; default
# https://huggingface.co), CLIP_CATALOGUE (default models/catalogue.json), CLIP_BIN (a clip
# binary to convert with, instead of building the CPU-only one), CLIP_WASM_OPT=0 to skip
# wasm-opt (npm's binaryen, run on every new module and cached by its hash), CLIP_PORT (--serve's
# port; default 8080).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")" && pwd)"
# Paths given on the command line are relative to where build.sh was called from.
CALLER="$PWD"
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$CALLER/$1" ;; esac; }
cd "$ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
CACHE="$(absolute "${CLIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clip-zero-shot}")"
ENDPOINT="${CLIP_HF_ENDPOINT:-https://huggingface.co}"
CATALOGUE="$(absolute "${CLIP_CATALOGUE:-$ROOT/models/catalogue.json}")"

SOURCES=() PRECISION="q8" DOWNLOAD_ONLY=0 MODULES_ONLY=0 REUSE_MODULES=0 WEB=1 SERVE=0 BUNDLE_DIR="$ROOT/models" OUT="$ROOT/www/dist" CLASSIFIERS="imagenet,imagenet-7"
while [ $# -gt 0 ]; do
  case "$1" in
    --from) SOURCES+=("from:$(absolute "${2:?--from needs a directory}")"); shift 2 ;;
    --model) SOURCES+=("model:${2:?--model needs a name}"); shift 2 ;;
    --precision) PRECISION="${2:?--precision needs f32, f16, q8 or q4}"; shift 2 ;;
    --download-only) DOWNLOAD_ONLY=1; shift ;;
    --no-web) WEB=0; shift ;;
    --modules-only) MODULES_ONLY=1; shift ;;
    --reuse-modules) REUSE_MODULES=1; shift ;;
    --bundle-dir) BUNDLE_DIR="$(absolute "${2:?--bundle-dir needs a directory}")"; shift 2 ;;
    --out) OUT="$(absolute "${2:?--out needs a directory}")"; shift 2 ;;
    --classifiers) CLASSIFIERS="${2:?--classifiers needs a list of presets, or none}"; shift 2 ;;
    --serve) SERVE=1; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1 (see ./build.sh --help)" >&2; exit 2 ;;
  esac
done

# Progress lines carry the time since the start, so a slow first build shows where it went.
say() { echo "build.sh ($((SECONDS / 60))m$((SECONDS % 60))s): $*" >&2; }
die() { echo "build.sh: $*" >&2; exit 1; }

# Refuse impossible combinations now, before anything slow.
PORT="${CLIP_PORT:-8080}"
if [ "$MODULES_ONLY" = 1 ]; then
  [ ${#SOURCES[@]} = 0 ] && [ "$WEB" = 1 ] && [ "$SERVE" = 0 ] && [ "$DOWNLOAD_ONLY" = 0 ] \
    || die "--modules-only builds the wasm modules alone; drop --model, --from, --no-web, --serve and --download-only"
fi
if [ "$REUSE_MODULES" = 1 ]; then
  [ "$MODULES_ONLY" = 0 ] && [ "$WEB" = 1 ] || die "--reuse-modules builds a page with modules built before; drop --modules-only and --no-web"
  for dir in www/pkg www/pkg-cpu; do
    [ -f "$dir/clip_bg.wasm" ] || die "--reuse-modules: there is no module in $dir yet; run ./build.sh --modules-only first"
  done
  [ "${CLIP_REQUIRE_THREADS:-0}" = 0 ] || [ -f www/pkg-threads/clip_bg.wasm ] \
    || die "--reuse-modules: there is no threaded module in www/pkg-threads; run ./build.sh --modules-only first"
fi
if [ "$SERVE" = 1 ]; then
  [ "$WEB" = 1 ] || die "--serve serves the page, which --no-web does not build; drop one of them"
  [ "$DOWNLOAD_ONLY" = 0 ] || die "--serve serves the page, which --download-only does not build; drop one of them"
  [[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -le 65535 ] || die "CLIP_PORT must be a port number (0 to 65535), not \"$PORT\""
fi

# --- catalogue --------------------------------------------------------------------------------
# Prints "repo revision" then one "file revision sha256 bytes" line per file, after checking that
# every file is pinned (a 40-hex commit, a sha256 and a size): nothing unpinned is downloaded.
catalogue_entry() {
  node -e '
    const [file, name] = process.argv.slice(1);
    const fail = (why) => { console.error(`build.sh: ${why}`); process.exit(1); };
    let cat;
    try { cat = JSON.parse(require("fs").readFileSync(file, "utf8")); } catch (e) { fail(`cannot read the catalogue ${file} (${e.message})`); }
    const models = Array.isArray(cat.models) ? cat.models : [];
    const m = models.find((m) => m.name === name);
    if (!m) fail(`${name} is not in ${file} (known: ${models.map((m) => m.name).join(", ")})`);
    const commit = /^[0-9a-f]{40}$/;
    if (!/^[\w.-]+\/[\w.-]+$/.test(m.repo ?? "") || !commit.test(m.revision ?? "")) fail(`${name} in ${file} needs a repo and a 40-hex commit as its revision`);
    console.log(m.repo, m.revision);
    for (const f of m.files ?? []) {
      if (!/^[\w.-]+$/.test(f.file ?? "") || f.file.startsWith(".") || !commit.test(f.revision ?? "") || !/^[0-9a-f]{64}$/.test(f.sha256 ?? "") || !(Number.isSafeInteger(f.bytes) && f.bytes > 0))
        fail(`${name}: ${f.file ?? "a file"} in ${file} is not pinned (it needs a file name, a 40-hex commit, a sha256 and a size in bytes)`);
      console.log(f.file, f.revision, f.sha256, f.bytes);
    }
  ' "$CATALOGUE" "$1"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }
megabytes() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# Download one checkpoint into the cache, resuming partial files, checking each file's size and
# then its sha256. Prints the directory.
download() {
  command -v curl >/dev/null || die "curl is needed to download models (apt-get install curl), or use --from DIR"
  local entry repo revision dest file file_rev sha bytes total=0 missing=0 count=0
  entry="$(catalogue_entry "$1")" || exit 1
  read -r repo revision <<<"$(head -n1 <<<"$entry")"
  dest="$CACHE/hf/$repo/$revision"
  mkdir -p "$dest"
  while read -r file file_rev sha bytes; do
    total=$((total + bytes))
    if ! { [ -f "$dest/$file" ] && [ "$(size_of "$dest/$file")" = "$bytes" ]; }; then
      missing=$((missing + bytes)); count=$((count + 1))
    fi
  done < <(tail -n +2 <<<"$entry")
  say "$repo @ ${revision:0:8}: $count of $(($(wc -l <<<"$entry") - 1)) files to download, $(megabytes "$missing") (model $(megabytes "$total"))"
  while read -r file file_rev sha bytes; do
    local target="$dest/$file" part="$dest/$file.part"
    if [ -f "$target" ] && [ "$(size_of "$target")" = "$bytes" ] && [ "$(sha256_of "$target")" = "$sha" ]; then
      say "$repo/$file: cached"
      continue
    fi
    rm -f "$target"
    # A partial file longer than the real one cannot be resumed.
    if [ -f "$part" ] && [ "$(size_of "$part")" -gt "$bytes" ]; then rm -f "$part"; fi
    local url="$ENDPOINT/$repo/resolve/$file_rev/$file" tries=0
    say "$repo/$file @ ${file_rev:0:8}: downloading $(megabytes "$bytes")"
    until { [ -f "$part" ] && [ "$(size_of "$part")" = "$bytes" ]; } \
      || curl --fail --location --silent --show-error --progress-bar --continue-at - --output "$part" "$url" </dev/null 2>/tmp/clip-curl.$$; do
      tries=$((tries + 1))
      if [ "$tries" -ge 4 ]; then
        local why; why="$(grep -v '^[#[:space:]]*$' /tmp/clip-curl.$$ | tail -n1 | sed 's/^curl: ([0-9]*) //')"
        rm -f /tmp/clip-curl.$$
        die "could not download $repo/$file ($why); to build offline, convert a local copy: ./build.sh --from /path/to/$(basename "$repo")"
      fi
      say "$repo/$file: download failed or broke off, retrying and resuming any partial file (try $((tries + 1)))"
      sleep 1
    done
    rm -f /tmp/clip-curl.$$
    local got_bytes got_sha
    got_bytes="$(size_of "$part")"
    if [ "$got_bytes" != "$bytes" ]; then
      rm -f "$part"
      die "$repo/$file is $got_bytes bytes, but the catalogue pins $bytes; the download was deleted, run ./build.sh again or use --from DIR"
    fi
    got_sha="$(sha256_of "$part")"
    if [ "$got_sha" != "$sha" ]; then
      rm -f "$part"
      die "$repo/$file failed its checksum (sha256 $got_sha, expected $sha); the download was deleted, run ./build.sh again or use --from DIR"
    fi
    mv "$part" "$target"
  done < <(tail -n +2 <<<"$entry")
  printf '{"repo": "%s", "revision": "%s"}\n' "$repo" "$revision" >"$dest/source.json"
  echo "$dest"
}

# --- the checkpoints ----------------------------------------------------------------------------
[ ${#SOURCES[@]} -gt 0 ] || [ "$MODULES_ONLY" = 1 ] || SOURCES=("model:clip-vit-base-patch32")
SOURCE_DIRS=() NAMES=()
for source in "${SOURCES[@]+"${SOURCES[@]}"}"; do
  case "$source" in
    from:*)
      dir="${source#from:}"
      [ -d "$dir" ] || die "$dir is not a directory"
      SOURCE_DIRS+=("$(cd "$dir" && pwd)")
      NAMES+=("$(basename "$dir")") ;;
    model:*)
      SOURCE_DIRS+=("$(download "${source#model:}")")
      NAMES+=("${source#model:}") ;;
  esac
done
if [ "$DOWNLOAD_ONLY" = 1 ]; then printf '%s\n' "${SOURCE_DIRS[@]}"; exit 0; fi
twice="$(printf '%s\n' "${NAMES[@]+"${NAMES[@]}"}" | sort | uniq -d | head -n1)"
[ -z "$twice" ] || die "two checkpoints would both make the bundle $twice-$PRECISION; give each a different name"

# --- jobs beside the main line ------------------------------------------------------------------
# On 2 cores one cargo build leaves a core idle for long stretches (one big crate at a time,
# linking), so what needs neither the CLI nor the bundle (the page's tools, the threaded module,
# wasm-opt) runs in the background beside it. `await NAME` waits for a job and fails with it; a
# failure anywhere stops the jobs still running.
JOBS=()
declare -A AWAITED=()
background() {
  local name="$1"
  shift
  "$@" &
  JOBS+=("$name:$!")
}
await() {
  local job
  for job in "${JOBS[@]}"; do
    if [ "${job%%:*}" = "$1" ] && [ -z "${AWAITED[$1]:-}" ]; then
      AWAITED[$1]=1
      wait "${job#*:}" || die "$1 failed (its messages are above)"
    fi
  done
}
stop_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do stop_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
stop_jobs() {
  local job
  for job in "${JOBS[@]}"; do
    [ -n "${AWAITED[${job%%:*}]:-}" ] || stop_tree "${job#*:}"
  done
}
trap stop_jobs EXIT

# The page's tools: wasm-bindgen (the version in Cargo.lock) and the npm packages.
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
page_tools() {
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
    say "installing wasm-bindgen-cli $WB_VERSION (must match Cargo.lock)"
    # --locked first; its lockfile can name a release the registry no longer serves. Its own
    # target directory, so it does not wait for the build directory's lock. --force: cargo
    # otherwise skips a version it has on record even when the binary itself is gone.
    local dir="$CARGO_TARGET_DIR/wasm-bindgen-cli"
    CARGO_TARGET_DIR="$dir" cargo install --quiet --force --locked wasm-bindgen-cli --version "$WB_VERSION" 2>/dev/null \
      || CARGO_TARGET_DIR="$dir" cargo install --quiet --force wasm-bindgen-cli --version "$WB_VERSION"
  fi
  # npm ci empties node_modules first, so it runs only when the lockfile changed since the last
  # install (a build beside a running browser test must not pull playwright from under it).
  local lock stamp=www/node_modules/.clip-package-lock.sha256
  lock="$(sha256sum www/package-lock.json | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$lock" ]; then
    (cd www && npm ci --silent --no-audit --no-fund)
    echo "$lock" >"$stamp"
  fi
}

# The threaded CPU module: std rebuilt with atomics (nightly's -Z build-std), shared memory up to
# 4 GiB, its own target directory (other flags, other toolchain), so it compiles beside the rest.
# Needs a nightly toolchain with rust-src; without one it is skipped (the page then runs the CPU
# path on one thread), unless CLIP_REQUIRE_THREADS=1 (CI) makes that an error.
THREADS_WASM="$CARGO_TARGET_DIR/wasm-threads/wasm32-unknown-unknown/wasm-release/clip.wasm"
have_threads_toolchain() {
  rustup run nightly rustc --version >/dev/null 2>&1 \
    && { rustup component list --toolchain nightly --installed | grep -q '^rust-src' || rustup component add rust-src --toolchain nightly; }
}
threads_build() {
  # The linker flags make the memory shared and imported, and export the TLS symbols wasm-bindgen
  # initialises each thread with (this nightly's rustc does not add them for +atomics itself).
  local link="--shared-memory --import-memory --max-memory=4294967296 --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base"
  RUSTFLAGS="-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals --cfg getrandom_backend=\"wasm_js\" $(printf -- '-C link-arg=%s ' $link)" \
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR/wasm-threads" \
    rustup run nightly cargo build -Z build-std=panic_abort,std --profile wasm-release --quiet -p clip --lib \
    --target wasm32-unknown-unknown --no-default-features --features threads
}

THREADS=0
if [ "$WEB" = 1 ]; then
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
  [ "$REUSE_MODULES" = 1 ] || say "building the wasm modules (WebGPU, CPU, CPU on threads; simd128; slow the first time), the threaded one beside the rest"
  background "installing the page's tools" page_tools
  if [ "$REUSE_MODULES" = 1 ]; then
    say "using the wasm modules built before (--reuse-modules)"
  elif command -v rustup >/dev/null && have_threads_toolchain; then
    THREADS=1
    background "the threaded CPU module's build" threads_build
  elif [ "${CLIP_REQUIRE_THREADS:-0}" = 1 ]; then
    die "the threaded module needs a nightly toolchain with rust-src (rustup toolchain install nightly --component rust-src)"
  else
    say "skipping the threaded CPU module: no nightly toolchain with rust-src (rustup toolchain install nightly --component rust-src)"
  fi
fi

# --- the model bundle ---------------------------------------------------------------------------
# Converting needs no GPU, so build.sh builds the CLI without wgpu (215 crates, not 325);
# CLIP_BIN names a clip binary to use instead (the tests pass the one they built). The CLI's
# build, the conversion and the classifiers (minutes of text tower on a full-size model) run
# beside the wasm modules' builds: neither needs the other, and each leaves a core idle at times.
mkdir -p "$BUNDLE_DIR"
BUNDLES=()
for name in "${NAMES[@]+"${NAMES[@]}"}"; do BUNDLES+=("$(cd "$BUNDLE_DIR" && pwd)/$name-$PRECISION"); done
make_bundles() {
  local clip i name names
  if [ -n "${CLIP_BIN:-}" ]; then
    clip="$(absolute "$CLIP_BIN")"
    [ -x "$clip" ] || die "CLIP_BIN=$CLIP_BIN is not an executable clip binary"
  else
    say "building the native clip CLI (CPU only: enough to convert; cargo build --release gives the one with wgpu)"
    cargo build --release --quiet -p clip --bin clip --no-default-features --features cli
    clip="$CARGO_TARGET_DIR/release/clip"
  fi
  local classifier_args=()
  if [ "$CLASSIFIERS" != none ]; then
    IFS=',' read -ra names <<<"$CLASSIFIERS"
    for name in "${names[@]}"; do classifier_args+=(--classifier "$name"); done
    say "precomputing the $CLASSIFIERS zero-shot classifiers: ImageNet's 80,000 prompts take about 5 minutes for ViT-B/32 on 2 cores (--classifiers none skips them)"
  fi
  for i in "${!SOURCE_DIRS[@]}"; do
    say "converting ${SOURCE_DIRS[$i]} to ${BUNDLES[$i]} ($PRECISION)"
    rm -rf "${BUNDLES[$i]}"
    "$clip" convert --from "${SOURCE_DIRS[$i]}" --out "${BUNDLES[$i]}" --precision "$PRECISION" "${classifier_args[@]}" >/dev/null
  done
}
if [ "$MODULES_ONLY" = 0 ]; then
  if [ "$WEB" = 1 ]; then background "converting the model" make_bundles; else make_bundles; fi
fi

# --- wasm modules -------------------------------------------------------------------------------
# wasm_module FEATURES DIR [WASM_OPT_FLAGS]: cargo build (profile wasm-release: release, with
# cubecl's GPU kernel compiler built for size), then bindgen_and_optimise.
# Its own target directory, so it never waits for a native build's lock (tests/run.sh compiles
# them side by side).
wasm_module() {
  local features="$1" dir="$2"
  shift 2
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR/wasm" \
    cargo build --profile wasm-release --quiet -p clip --lib --target wasm32-unknown-unknown --no-default-features $features
  bindgen_and_optimise "$CARGO_TARGET_DIR/wasm/wasm32-unknown-unknown/wasm-release/clip.wasm" "$dir" "$@"
}
# bindgen_and_optimise WASM DIR [WASM_OPT_FLAGS]: wasm-bindgen into DIR now, then wasm-opt (-O3
# unless the flags name another level) from npm's binaryen (pinned in www/package.json; Debian's 108 breaks wasm-bindgen's reference
# types) in the background: it runs on one core for minutes (5 of them for the WebGPU module,
# cold) while the next module's cargo build uses the other. Its result depends only on its
# input and flags, so it is cached by their sha256 next to the cargo build. CLIP_WASM_OPT=0 skips it.
MODULES=()
bindgen_and_optimise() {
  local input="$1" dir="$2"
  shift 2
  await "installing the page's tools"
  rm -rf "$dir"
  wasm-bindgen --target web --out-dir "$dir" --out-name clip "$input"
  MODULES+=("$dir")
  [ "${CLIP_WASM_OPT:-1}" = 0 ] || background "wasm-opt on $dir" optimise "$dir" "$@"
}
optimise() {
  local dir="$1" sha cached level=-O3
  shift
  case "${1:-}" in -O*) level="$1"; shift ;; esac
  sha="$(sha256sum "$dir/clip_bg.wasm" | cut -d' ' -f1)"
  # -O3 alone keeps the cache key it always had.
  [ "$level $*" = "-O3 " ] || sha="$(printf '%s %s' "$sha" "$level $*" | sha256sum | cut -d' ' -f1)"
  cached="$CARGO_TARGET_DIR/wasm-opt-cache/$sha.wasm"
  if [ ! -f "$cached" ]; then
    say "optimising $dir/clip_bg.wasm with wasm-opt $level ($(www/node_modules/.bin/wasm-opt --version | head -n1); a few minutes, cached)"
    mkdir -p "$(dirname "$cached")"
    www/node_modules/.bin/wasm-opt "$level" --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-reference-types "$@" \
      "$dir/clip_bg.wasm" -o "$cached.$BASHPID.tmp"
    mv "$cached.$BASHPID.tmp" "$cached"
  fi
  cp "$cached" "$dir/clip_bg.wasm"
}
# Three modules: WebGPU alone; the CPU path alone, for browsers the page finds without a usable
# GPU adapter (and for its fallback when the GPU fails: the worker then starts the CPU module);
# and the CPU path on threads, which the page uses instead where it is cross-origin isolated.
# wasm-opt goes on in the background while the bundles are converted; finish_modules waits.
finish_modules() {
  local dir
  for dir in "${MODULES[@]}"; do
    await "wasm-opt on $dir"
    say "wasm module $dir: $(stat -c %s "$dir/clip_bg.wasm" | awk '{printf "%.1f MB", $1/1e6}'), $(gzip -9 -c "$dir/clip_bg.wasm" | wc -c | awk '{printf "%.1f MB", $1/1e6}') gzipped"
  done
}
# (--reuse-modules: an earlier --modules-only built, optimised and measured them.)
if [ "$WEB" = 1 ] && [ "$REUSE_MODULES" = 0 ]; then
  # -Oz for the WebGPU module: with burn's fusion it is 4.02 MB gzipped after -O3 and 3.97 MB
  # after -Oz; its CPU side only launches GPU work. The crate's own code is built for size there
  # too ("s"; the CPU modules keep 3): 58 kB less gzipped, more than our 8-bit Linear kernel added.
  wasm_module "--features wgpu --config profile.wasm-release.package.clip.opt-level=\"s\"" www/pkg -Oz
  wasm_module "--features cpu" www/pkg-cpu
  if [ "$THREADS" = 1 ]; then
    await "the threaded CPU module's build"
    bindgen_and_optimise "$THREADS_WASM" www/pkg-threads --enable-threads
  else
    rm -rf www/pkg-threads
  fi
fi
[ "$MODULES_ONLY" = 0 ] || { finish_modules; say "done: the wasm modules are in www/pkg, www/pkg-cpu and www/pkg-threads"; exit 0; }

[ "$WEB" = 1 ] || { say "bundles ready: ${BUNDLES[*]}"; exit 0; }
await "converting the model"
finish_modules

# --- the page -----------------------------------------------------------------------------------
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
say "building the page"
MODEL_ARGS=()
for bundle in "${BUNDLES[@]}"; do MODEL_ARGS+=(--model "$bundle"); done
(cd www && npm run --silent build -- --out "$OUT" "${MODEL_ARGS[@]}")
if [ "$SERVE" = 1 ]; then
  say "done: serving $OUT (Ctrl-C stops it)"
  exec node "$ROOT/www/serve.mjs" "$OUT" "$PORT"
fi
say "done: serve it with  node www/serve.mjs $OUT 8080  and open http://127.0.0.1:8080/  (or ./build.sh --serve next time)"
