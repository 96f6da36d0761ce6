#!/usr/bin/env bash
# Build everything from a fresh machine: the native `clip` CLI, a model bundle, the wasm module
# and the page (www/dist/).
#
#   ./build.sh                      download openai/clip-vit-base-patch32 (pinned in
#                                   models/catalogue.json), convert it to q8, build the page
#   ./build.sh --from DIR           convert a local Hugging Face checkpoint instead (offline)
#   ./build.sh --model NAME         another checkpoint from models/catalogue.json
#   ./build.sh --precision P        f32, f16, q8 (default) or q4
#   ./build.sh --download-only      only fetch the checkpoint into the cache, print its directory
#   ./build.sh --no-web             stop after the bundle (no wasm, no page)
#
# Environment: CARGO_TARGET_DIR (build cache), CLIP_CACHE_DIR (downloads; default
# ~/.cache/clip-zero-shot), CLIP_HF_ENDPOINT (default https://huggingface.co),
# CLIP_CATALOGUE (default models/catalogue.json), CLIP_WASM_OPT=0 to skip wasm-opt.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")" && pwd)"
cd "$ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
CACHE="${CLIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clip-zero-shot}"
ENDPOINT="${CLIP_HF_ENDPOINT:-https://huggingface.co}"
CATALOGUE="${CLIP_CATALOGUE:-$ROOT/models/catalogue.json}"

FROM="" MODEL="clip-vit-base-patch32" PRECISION="q8" DOWNLOAD_ONLY=0 WEB=1
while [ $# -gt 0 ]; do
  case "$1" in
    --from) FROM="${2:?--from needs a directory}"; shift 2 ;;
    --model) MODEL="${2:?--model needs a name}"; shift 2 ;;
    --precision) PRECISION="${2:?--precision needs f32, f16, q8 or q4}"; shift 2 ;;
    --download-only) DOWNLOAD_ONLY=1; shift ;;
    --no-web) WEB=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown option $1 (see ./build.sh --help)" >&2; exit 2 ;;
  esac
done

say() { echo "build.sh: $*" >&2; }
die() { echo "build.sh: $*" >&2; exit 1; }

# --- catalogue --------------------------------------------------------------------------------
# Prints "repo revision" then one "file sha256-or-null" line per file.
catalogue_entry() {
  node -e '
    const [file, name] = process.argv.slice(1);
    const cat = JSON.parse(require("fs").readFileSync(file, "utf8"));
    const m = cat.models.find((m) => m.name === name);
    if (!m) { console.error(`build.sh: ${name} is not in ${file} (known: ${cat.models.map((m) => m.name).join(", ")})`); process.exit(1); }
    console.log(m.repo, m.revision);
    for (const [f, sha] of Object.entries(m.files)) console.log(f, sha ?? "null");
  ' "$CATALOGUE" "$1"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Download one checkpoint into the cache, resuming partial files and checking sha256.
download() {
  command -v curl >/dev/null || die "curl is needed to download models (apt-get install curl), or use --from DIR"
  local entry repo revision dest
  entry="$(catalogue_entry "$1")" || exit 1
  read -r repo revision <<<"$(head -n1 <<<"$entry")"
  dest="$CACHE/hf/$repo/$revision"
  mkdir -p "$dest"
  while read -r file sha; do
    local target="$dest/$file" part="$dest/$file.part"
    if [ -f "$target" ] && { [ "$sha" = null ] || [ "$(sha256_of "$target")" = "$sha" ]; }; then
      say "$repo/$file: cached"
      continue
    fi
    local url="$ENDPOINT/$repo/resolve/$revision/$file" tries=0
    say "$repo/$file: downloading"
    until curl --fail --location --silent --show-error --progress-bar --continue-at - --output "$part" "$url" </dev/null 2>/tmp/clip-curl.$$; do
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
    if [ "$sha" != null ]; then
      local got; got="$(sha256_of "$part")"
      if [ "$got" != "$sha" ]; then
        rm -f "$part"
        die "$repo/$file failed its checksum (sha256 $got, expected $sha); the partial download was deleted, run ./build.sh again or use --from DIR"
      fi
    else
      say "$repo/$file: no pinned sha256 in the catalogue; downloaded file has sha256 $(sha256_of "$part")"
    fi
    mv "$part" "$target"
  done < <(tail -n +2 <<<"$entry")
  printf '{"repo": "%s", "revision": "%s"}\n' "$repo" "$revision" >"$dest/source.json"
  echo "$dest"
}

# --- the model bundle ---------------------------------------------------------------------------
if [ -n "$FROM" ]; then
  [ -d "$FROM" ] || die "$FROM is not a directory"
  SOURCE_DIR="$(cd "$FROM" && pwd)"
  NAME="$(basename "$SOURCE_DIR")"
else
  SOURCE_DIR="$(download "$MODEL")"
  NAME="$MODEL"
fi
[ "$DOWNLOAD_ONLY" = 1 ] && { echo "$SOURCE_DIR"; exit 0; }

say "building the native clip CLI"
cargo build --release --quiet -p clip --bin clip
CLIP="$CARGO_TARGET_DIR/release/clip"
BUNDLE="$ROOT/models/$NAME-$PRECISION"
say "converting $SOURCE_DIR to $BUNDLE ($PRECISION)"
"$CLIP" convert --from "$SOURCE_DIR" --out "$BUNDLE" --precision "$PRECISION" >/dev/null
[ "$WEB" = 1 ] || { say "bundle ready: $BUNDLE"; exit 0; }

# --- wasm module --------------------------------------------------------------------------------
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
say "building the wasm module (release, simd128; slow the first time)"
cargo build --release --quiet -p clip --lib --target wasm32-unknown-unknown --no-default-features --features wgpu
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
  say "installing wasm-bindgen-cli $WB_VERSION (must match Cargo.lock)"
  # --locked first; its lockfile can name a release the registry no longer serves.
  cargo install --quiet --locked wasm-bindgen-cli --version "$WB_VERSION" 2>/dev/null \
    || cargo install --quiet wasm-bindgen-cli --version "$WB_VERSION"
fi
rm -rf www/pkg
wasm-bindgen --target web --out-dir www/pkg --out-name clip "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/clip.wasm"
# binaryen before 116 rewrites wasm-bindgen's externref table as funcref and the module no longer
# starts (seen with Debian bookworm's 108), so older ones are skipped.
WASM_OPT_VERSION="$(wasm-opt --version 2>/dev/null | grep -o '[0-9]\+' | head -n1 || true)"
if [ "${CLIP_WASM_OPT:-1}" != 0 ] && [ -n "$WASM_OPT_VERSION" ] && [ "$WASM_OPT_VERSION" -lt 116 ]; then
  say "skipping wasm-opt $WASM_OPT_VERSION (it breaks wasm-bindgen's reference types; 116 or newer is used)"
elif [ "${CLIP_WASM_OPT:-1}" != 0 ] && [ -n "$WASM_OPT_VERSION" ]; then
  say "optimising with wasm-opt $WASM_OPT_VERSION"
  wasm-opt -O2 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types www/pkg/clip_bg.wasm -o www/pkg/clip_bg.wasm
fi

# --- the page -----------------------------------------------------------------------------------
rm -rf www/public/models/default
mkdir -p www/public/models
cp -r "$BUNDLE" www/public/models/default
say "building the page"
(cd www && npm ci --silent --no-audit --no-fund && npm run --silent build)
say "done: serve it with  node www/serve.mjs www/dist 8080  and open http://127.0.0.1:8080/"
