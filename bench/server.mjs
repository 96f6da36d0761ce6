#!/usr/bin/env node
// The harness's static file server: node bench/server.mjs DIR [port=0]; prints "serving DIR at URL".
// The page's own content types, strict CSP and cross-origin isolation (www/http-policy.mjs, as
// www/serve.mjs sends them), so the page is cross-origin isolated (SharedArrayBuffer, so both
// contenders can run threads, and performance.measureUserAgentSpecificMemory); CORP same-origin
// here, as the harness embeds nothing. No compression: it runs on localhost, and both
// contenders' files are served the same way. Symlinks under DIR are followed.
import { createServer } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { CSP, TYPES } from "../www/http-policy.mjs";

const root = resolve(process.argv[2] ?? ".");
const port = Number(process.argv[3] ?? 0);

createServer((req, res) => {
  let path;
  try {
    path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  let file = normalize(join(root, path));
  if (file !== root && !file.startsWith(root + sep)) return void res.writeHead(403).end();
  let stat;
  try {
    stat = statSync(file);
    if (stat.isDirectory()) {
      file = join(file, "index.html");
      stat = statSync(file);
    }
  } catch {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  res.writeHead(200, {
    "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": stat.size,
    "cache-control": "no-store",
    "content-security-policy": CSP,
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cross-origin-resource-policy": "same-origin",
    "x-content-type-options": "nosniff",
  });
  if (req.method === "HEAD") return void res.end();
  createReadStream(file).on("error", () => res.destroy()).pipe(res);
}).listen(port, "127.0.0.1", function () {
  console.log(`serving ${root} at http://127.0.0.1:${this.address().port}/`);
});
