#!/usr/bin/env node
// A tiny static file server for the built page, with no dependencies:
//   node www/serve.mjs [dir=www/dist] [port=8080] [--no-isolation]
// Binds 127.0.0.1 (a secure context, so WebGPU and the Cache API work) and prints the URL. Sends
// the page's CSP and the cross-origin isolation headers (www/http-policy.mjs) that let the CPU
// path run on several threads; --no-isolation leaves those out, as GitHub Pages and most static
// hosts do (the page then isolates itself through its service worker, isolation-worker.js).
// Port 0 picks a free port; the printed URL tells which.

import { createServer } from "node:http";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import { extname, join, normalize, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { CSP, ISOLATION, TYPES } from "./http-policy.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const positional = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const root = resolve(positional[0] ?? join(here, "dist"));
const port = Number(positional[1] ?? 8080);
const isolation = process.argv.includes("--no-isolation") ? {} : ISOLATION;

/** Text and code compress well (the 21 MB wasm module: 3.3 MB precompressed brotli, 5.3 MB gzip); images and quantized weights do not. */
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".json", ".map", ".wasm", ".svg", ".txt", ".webmanifest"]);
/** Compressed copies by file, encoding and mtime: each is made once, as a static host's would be. */
const compressed = new Map();

function pickEncoding(accept) {
  const offered = String(accept ?? "").split(",").map((s) => s.trim().split(";")[0]);
  if (offered.includes("br")) return "br";
  if (offered.includes("gzip")) return "gzip";
  return null;
}

function compressedCopy(file, stat, encoding) {
  const key = `${encoding}:${file}`;
  const hit = compressed.get(key);
  if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.body;
  // A precompressed sibling (www/build.mjs writes pkg/clip_bg.wasm.br at quality 11) when it is
  // not older than the file.
  if (encoding === "br") {
    try {
      const sibling = statSync(`${file}.br`);
      if (sibling.isFile() && sibling.mtimeMs >= stat.mtimeMs) return readFileSync(`${file}.br`);
    } catch {
      // none: compress here
    }
  }
  const raw = readFileSync(file);
  // Brotli's quality 5 is a fraction of quality 11's time for most of its gain on 34 MB of wasm.
  const body =
    encoding === "br"
      ? brotliCompressSync(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length } })
      : gzipSync(raw, { level: 6 });
  compressed.set(key, { mtimeMs: stat.mtimeMs, size: stat.size, body });
  return body;
}

function fail(res, status, text) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(text);
}

const server = createServer((req, res) => {
  if (req.method !== "GET" && req.method !== "HEAD") return fail(res, 405, "method not allowed\n");
  let path;
  try {
    path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
  } catch {
    return fail(res, 400, "bad request\n");
  }
  let file = normalize(join(root, path));
  if (file !== root && !file.startsWith(root + sep)) return fail(res, 403, "forbidden\n");
  let stat;
  try {
    stat = statSync(file);
    if (stat.isDirectory()) {
      if (!path.endsWith("/")) {
        // Built from the file's place under root, never from the raw path: "/%2F/examples"
        // decodes to "//examples", which a browser would read as another host.
        const inside = relative(root, file).split(sep).filter(Boolean).map(encodeURIComponent).join("/");
        res.writeHead(301, { location: `/${inside}${inside ? "/" : ""}` });
        return res.end();
      }
      file = join(file, "index.html");
      stat = statSync(file);
    }
  } catch {
    return fail(res, 404, "not found\n");
  }
  const headers = {
    "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": stat.size,
    "cache-control": "no-cache",
    "content-security-policy": CSP,
    ...isolation,
    "x-content-type-options": "nosniff",
  };
  const encoding = COMPRESSIBLE.has(extname(file).toLowerCase()) && !req.headers.range ? pickEncoding(req.headers["accept-encoding"]) : null;
  if (COMPRESSIBLE.has(extname(file).toLowerCase())) headers.vary = "accept-encoding";
  if (encoding) {
    let body;
    try {
      body = compressedCopy(file, stat, encoding);
    } catch {
      return fail(res, 500, "cannot read the file\n");
    }
    res.writeHead(200, { ...headers, "content-encoding": encoding, "content-length": body.length });
    return res.end(req.method === "HEAD" ? undefined : body);
  }
  res.writeHead(200, headers);
  if (req.method === "HEAD") return res.end();
  createReadStream(file)
    .on("error", () => res.destroy())
    .pipe(res);
});

server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  console.log(`serving ${root} at http://127.0.0.1:${address.port}/`);
});
