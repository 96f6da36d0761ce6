// npm run build [-- --out DIR] [-- --model BUNDLE_DIR]: bundle the page and the worker with
// esbuild into dist/ (or DIR), next to index.html, style.css, pkg/clip_bg.wasm, everything under
// public/ (examples/) and the model bundle as models/default/ (BUNDLE_DIR, else
// public/models/default/). Every URL the page uses is relative, so the output works from any
// static host path.

import { build } from "esbuild";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlib } from "node:zlib";

const root = dirname(fileURLToPath(import.meta.url));
const option = (name) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const dist = resolve(option("--out") ?? join(root, "dist"));
const model = option("--model");
const dev = process.argv.includes("--dev");
if (model !== undefined && !existsSync(join(model, "manifest.json"))) {
  console.error(`build: ${model} is not a model bundle (it has no manifest.json)`);
  process.exit(1);
}

const wasmJs = join(root, "pkg", "clip.js");
const wasmBin = join(root, "pkg", "clip_bg.wasm");
for (const file of [wasmJs, wasmBin]) {
  if (!existsSync(file)) {
    console.error(`build: ${file} is missing; build the wasm module first (./build.sh at the repository root)`);
    process.exit(1);
  }
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "pkg"), { recursive: true });

await build({
  absWorkingDir: root,
  entryPoints: { main: "src/main.ts", worker: "src/worker.ts" },
  outdir: dist,
  bundle: true,
  format: "esm",
  target: ["es2022"],
  platform: "browser",
  sourcemap: true,
  minify: !dev,
  legalComments: "none",
  // The wasm-bindgen glue; tsconfig maps the same name for the type checker.
  alias: { "clip-wasm": wasmJs },
  logLevel: "info",
});

cpSync(join(root, "index.html"), join(dist, "index.html"));
cpSync(join(root, "style.css"), join(dist, "style.css"));
cpSync(wasmBin, join(dist, "pkg", "clip_bg.wasm"));
// Brotli at quality 11 beside it (3.3 MB against 5.2 MB gzipped), for hosts that serve
// precompressed files (serve.mjs, nginx's brotli_static, ...). It takes about 40 s, so it is
// kept in pkg/ under the module's hash and redone only for a new module.
const wasmBytes = readFileSync(wasmBin);
const hash = createHash("sha256").update(wasmBytes).digest("hex").slice(0, 16);
const brCache = join(root, "pkg", `clip_bg.${hash}.wasm.br`);
if (!existsSync(brCache)) {
  for (const old of readdirSync(join(root, "pkg")).filter((f) => /^clip_bg\.[0-9a-f]{16}\.wasm\.br$/.test(f))) {
    rmSync(join(root, "pkg", old));
  }
  const params = { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: wasmBytes.length };
  writeFileSync(`${brCache}.tmp`, brotliCompressSync(wasmBytes, { params }));
  renameSync(`${brCache}.tmp`, brCache);
}
cpSync(brCache, join(dist, "pkg", "clip_bg.wasm.br"));
const pub = join(root, "public");
if (existsSync(pub)) cpSync(pub, dist, { recursive: true });
if (model !== undefined) {
  rmSync(join(dist, "models", "default"), { recursive: true, force: true });
  cpSync(model, join(dist, "models", "default"), { recursive: true });
}
if (!existsSync(join(dist, "models", "default", "manifest.json"))) {
  console.warn("build: no model bundle at public/models/default/ (the page will say it cannot fetch the model)");
}
console.log(`build: wrote ${dist}`);
