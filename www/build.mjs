// npm run build [-- --out DIR] [-- --model BUNDLE_DIR ...]: bundle the page and the worker with
// esbuild into dist/ (or DIR), next to index.html, style.css, the wasm modules (pkg/clip_bg.wasm:
// WebGPU; pkg/clip_cpu_bg.wasm: the CPU path; pkg-threads/: the CPU path on several threads, when
// build.sh built it), everything under public/ (examples/) and each model bundle as
// models/NAME/ (NAME: the bundle directory's name), listed in models/index.json in the order
// given (the first is the page's default; bundles already under public/models/ follow). Every
// URL the page uses is relative, so the output works from any static host path.

import { build } from "esbuild";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlib } from "node:zlib";
import { stamp } from "./stamp.mjs";

const root = dirname(fileURLToPath(import.meta.url));
const option = (name) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const dist = resolve(option("--out") ?? join(root, "dist"));
const models = process.argv.flatMap((arg, i) => (arg === "--model" ? [resolve(process.argv[i + 1] ?? "")] : []));
const dev = process.argv.includes("--dev");
for (const model of models) {
  if (!existsSync(join(model, "manifest.json"))) {
    console.error(`build: ${model} is not a model bundle (it has no manifest.json)`);
    process.exit(1);
  }
  if (!/^[\w.-]+$/.test(basename(model))) {
    console.error(`build: ${basename(model)} cannot name a model in the page's address (letters, digits, "-", "_" and "." only)`);
    process.exit(1);
  }
}
const names = models.map((m) => basename(m));
const twice = names.find((name, i) => names.indexOf(name) !== i);
if (twice) {
  console.error(`build: two bundles are named ${twice}; give them different directory names`);
  process.exit(1);
}

// Each module's wasm-bindgen glue is bundled into the worker; the worker loads one module.
const modules = [
  { glue: join(root, "pkg", "clip.js"), wasm: join(root, "pkg", "clip_bg.wasm"), name: "clip_bg" },
  { glue: join(root, "pkg-cpu", "clip.js"), wasm: join(root, "pkg-cpu", "clip_bg.wasm"), name: "clip_cpu_bg" },
];
for (const file of modules.flatMap((m) => [m.glue, m.wasm])) {
  if (!existsSync(file)) {
    console.error(`build: ${file} is missing; build the wasm module first (./build.sh at the repository root)`);
    process.exit(1);
  }
}

// The threaded CPU module stays as wasm-bindgen wrote it (glue, snippets, module): its pool
// workers import the glue by its address, so it is copied, not bundled.
const threadsDir = join(root, "pkg-threads");
const threaded = existsSync(join(threadsDir, "clip.js")) && existsSync(join(threadsDir, "clip_bg.wasm"));
if (!threaded) console.warn("build: no pkg-threads/ (the threaded CPU module); the page will run the CPU path on one thread");

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "pkg"), { recursive: true });

await build({
  absWorkingDir: root,
  // The service worker (offline copy, isolation) is bundled last, by stamp.mjs, once every file
  // it lists is in place.
  entryPoints: { main: "src/main.ts", worker: "src/worker.ts" },
  outdir: dist,
  bundle: true,
  format: "esm",
  target: ["es2022"],
  platform: "browser",
  sourcemap: true,
  minify: !dev,
  legalComments: "none",
  // The wasm-bindgen glue; tsconfig maps the same names for the type checker.
  alias: { "clip-wasm": modules[0].glue, "clip-wasm-cpu": modules[1].glue },
  define: { THREADS_MODULE: String(threaded) },
  logLevel: "info",
});

for (const file of ["index.html", "style.css", "manifest.webmanifest", "icon.svg"]) cpSync(join(root, file), join(dist, file));
// Brotli at quality 11 beside each module (3.0 MB against 4.7 MB gzipped for the WebGPU one), for
// hosts that serve precompressed files (serve.mjs, nginx's brotli_static, ...). It takes about
// a minute for the three modules, so it is kept under the module's hash and redone only for a new
// module: in the build cache (build.sh's CARGO_TARGET_DIR, which outlives www/pkg: build.sh
// writes that afresh on every run), else beside the module.
const brotliCache = process.env.CARGO_TARGET_DIR ? join(process.env.CARGO_TARGET_DIR, "brotli-cache") : null;
function copyWithBrotli(wasm, destination) {
  cpSync(wasm, destination);
  const bytes = readFileSync(wasm);
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const cacheDir = brotliCache ?? dirname(wasm);
  mkdirSync(cacheDir, { recursive: true });
  const brCache = join(cacheDir, `clip_bg.${hash}.wasm.br`);
  if (!existsSync(brCache)) {
    // Beside the module, one is enough; the shared cache keeps every module's.
    if (!brotliCache) {
      for (const old of readdirSync(cacheDir).filter((f) => /^clip_bg\.[0-9a-f]{16}\.wasm\.br$/.test(f))) {
        rmSync(join(cacheDir, old));
      }
    }
    const params = { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length };
    writeFileSync(`${brCache}.${process.pid}.tmp`, brotliCompressSync(bytes, { params }));
    renameSync(`${brCache}.${process.pid}.tmp`, brCache);
  }
  cpSync(brCache, `${destination}.br`);
}
for (const { wasm, name } of modules) copyWithBrotli(wasm, join(dist, "pkg", `${name}.wasm`));
if (threaded) {
  const into = join(dist, "pkg-threads");
  cpSync(threadsDir, into, { recursive: true, filter: (from) => !/(\.d\.ts|\.wasm\.br|\.wasm)$/.test(from) });
  copyWithBrotli(join(threadsDir, "clip_bg.wasm"), join(into, "clip_bg.wasm"));
}
const pub = join(root, "public");
if (existsSync(pub)) cpSync(pub, dist, { recursive: true });
for (const model of models) cpSync(model, join(dist, "models", basename(model)), { recursive: true });
writeModelIndex(join(dist, "models"), names);

/** models/index.json: what the page lists before downloading anything (name, source, precision,
 * bytes, config for the cost estimate), the given bundles first, in order. */
function writeModelIndex(dir, first) {
  const present = existsSync(dir) ? readdirSync(dir).filter((name) => existsSync(join(dir, name, "manifest.json"))) : [];
  const order = [...first, ...present.filter((name) => !first.includes(name)).sort()];
  const list = order.map((name) => {
    const manifest = JSON.parse(readFileSync(join(dir, name, "manifest.json"), "utf8"));
    return {
      name,
      repo: manifest.source?.repo ?? null,
      precision: manifest.precision ?? null,
      bundleId: manifest.bundle_id,
      bytes: Object.values(manifest.files ?? {}).reduce((sum, file) => sum + (file.bytes ?? 0), 0),
      config: manifest.config,
    };
  });
  if (list.length === 0) {
    console.warn("build: no model bundle (--model DIR, or one under public/models/): the page will say it cannot fetch a model");
    return;
  }
  writeFileSync(join(dir, "index.json"), `${JSON.stringify({ models: list }, null, 1)}\n`);
  console.log(`build: models ${list.map((m) => `${m.name} (${(m.bytes / 1e6).toFixed(1)} MB)`).join(", ")}`);
}
const offline = await stamp(dist, { minify: !dev });
console.log(`build: wrote ${dist}; its service worker keeps ${offline.files} files (${(offline.bytes / 1e6).toFixed(1)} MB) offline`);
