// node stamp.mjs DIR: write DIR/service-worker.js for the site in DIR, with the list of the
// site's files and their sha256 (SITE_FILES), so the worker keeps exactly this deploy offline.
// build.mjs runs it last; run it again after changing a built site's files by hand (an example
// set, a swapped model), or the page's visitors keep the copy they have.
//
// Listed: every file but source maps, precompressed copies, host config (_headers) and the model
// bundles (models/NAME/; models/index.json, the list, is listed), which the engine caches itself
// by bundle, manifest included
// (www/src/worker/load.ts, files.ts).

import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ISOLATION } from "./http-policy.mjs";

const root = dirname(fileURLToPath(import.meta.url));
const WORKER = "service-worker.js";

/** Path (relative, "/"-separated) → sha256 of each file the worker keeps. */
export function siteFiles(dist) {
  const files = {};
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const path = relative(dist, full).split(sep).join("/");
        if (kept(path)) files[path] = createHash("sha256").update(readFileSync(full)).digest("hex");
      }
    }
  };
  walk(dist);
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function kept(path) {
  if (path === WORKER || path === "_headers" || path.endsWith(".map") || path.endsWith(".br")) return false;
  // The list of models is this deploy's; the bundles are cached by the engine.
  return !path.startsWith("models/") || path === "models/index.json";
}

/** Bundle the service worker into `dist` for the files there now; returns what it lists. */
export async function stamp(dist, { minify = true } = {}) {
  const files = siteFiles(dist);
  const version = createHash("sha256").update(JSON.stringify(files)).digest("hex").slice(0, 16);
  await build({
    absWorkingDir: root,
    entryPoints: { "service-worker": "src/service-worker.ts" },
    outdir: dist,
    bundle: true,
    format: "esm",
    target: ["es2022"],
    platform: "browser",
    minify,
    legalComments: "none",
    define: { SITE_FILES: JSON.stringify(files), SITE_VERSION: JSON.stringify(version), ISOLATION_HEADERS: JSON.stringify(ISOLATION) },
    logLevel: "warning",
  });
  const bytes = Object.keys(files).reduce((sum, path) => sum + readFileSync(join(dist, path)).length, 0);
  return { version, files: Object.keys(files).length, bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = process.argv[2];
  if (!dist) {
    console.error("usage: node stamp.mjs DIR (a built site)");
    process.exit(2);
  }
  try {
    const { version, files, bytes } = await stamp(resolve(dist));
    console.log(`stamp: ${join(dist, WORKER)} keeps ${files} files (${(bytes / 1e6).toFixed(1)} MB), deploy ${version}`);
  } catch (error) {
    console.error(`stamp: ${error.message}`);
    process.exit(1);
  }
}
