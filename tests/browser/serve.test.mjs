// www/serve.mjs on its own: directory redirects stay on this host whatever the path says, and
// nothing outside the served directory is reachable.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants, gunzipSync } from "node:zlib";
import { mkdtemp, mkdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let server;
let port;
let root;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "clip-serve-"));
  await mkdir(join(root, "examples"));
  await writeFile(join(root, "examples", "index.html"), "examples");
  await writeFile(join(root, "index.html"), "home");
  server = spawn(process.execPath, [join(repo, "www", "serve.mjs"), root, "0"], { stdio: ["ignore", "pipe", "inherit"] });
  port = await new Promise((ok, fail) => {
    server.stdout.on("data", (chunk) => {
      const match = String(chunk).match(/127\.0\.0\.1:(\d+)/);
      if (match) ok(Number(match[1]));
    });
    server.on("exit", (code) => fail(new Error(`serve.mjs exited (${code})`)));
  });
});

after(async () => {
  server?.kill();
  if (root) await rm(root, { recursive: true, force: true });
});

/** A raw request line, exactly as given (no client-side normalisation). */
function get(path) {
  return new Promise((ok, fail) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      res.resume();
      res.on("end", () => ok({ status: res.statusCode, location: res.headers.location }));
    });
    req.on("error", fail);
    req.end();
  });
}

test("directory redirects never leave the host", async () => {
  for (const path of ["/examples", "/%2F/examples", "//examples", "/%2F%2Fevil.example/..", "/%5C%5Cevil.example/../examples"]) {
    const { status, location } = await get(path);
    if (status === 301) {
      assert.match(location, /^\/(?![/\\])/, `${path} redirects to ${location}`);
    } else {
      assert.ok([200, 403, 404].includes(status), `${path}: ${status}`);
    }
  }
  assert.deepEqual(await get("/examples"), { status: 301, location: "/examples/" });
});

test("nothing outside the served directory is reachable", async () => {
  for (const path of ["/../package.json", "/%2e%2e/%2e%2e/etc/passwd", "/examples/../../etc/passwd"]) {
    const { status } = await get(path);
    assert.ok(status === 403 || status === 404, `${path}: ${status}`);
  }
});

test("code is sent compressed when the client accepts it, byte-identical once decoded", async () => {
  const wasm = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7) % 13));
  await writeFile(join(root, "module.wasm"), wasm);
  await writeFile(join(root, "photo.jpg"), wasm);
  const fetchWith = (path, encoding) =>
    new Promise((ok, fail) => {
      const req = request({ host: "127.0.0.1", port, path, headers: encoding ? { "accept-encoding": encoding } : {} }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => ok({ headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on("error", fail);
      req.end();
    });
  const br = await fetchWith("/module.wasm", "gzip, deflate, br");
  assert.equal(br.headers["content-encoding"], "br");
  assert.equal(Number(br.headers["content-length"]), br.body.length);
  assert.ok(br.body.length < wasm.length / 10, `brotli: ${br.body.length} bytes`);
  assert.deepEqual(brotliDecompressSync(br.body), wasm);
  const gz = await fetchWith("/module.wasm", "gzip");
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.deepEqual(gunzipSync(gz.body), wasm);
  const plain = await fetchWith("/module.wasm", null);
  assert.equal(plain.headers["content-encoding"], undefined);
  assert.deepEqual(plain.body, wasm);
  const image = await fetchWith("/photo.jpg", "br");
  assert.equal(image.headers["content-encoding"], undefined, "images are sent as they are");
  // Every file carries cross-origin isolation (the threaded CPU module's shared memory needs the
  // page and its worker scripts isolated) and may be embedded by other sites.
  for (const { headers } of [br, plain, image]) {
    assert.equal(headers["cross-origin-opener-policy"], "same-origin");
    assert.equal(headers["cross-origin-embedder-policy"], "require-corp");
    assert.equal(headers["cross-origin-resource-policy"], "cross-origin");
  }

  // A precompressed sibling (what www/build.mjs writes for the wasm module) is sent as it is...
  const precompressed = brotliCompressSync(wasm, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } });
  await writeFile(join(root, "built.wasm"), wasm);
  await writeFile(join(root, "built.wasm.br"), precompressed);
  const sibling = await fetchWith("/built.wasm", "br");
  assert.equal(sibling.headers["content-encoding"], "br");
  assert.deepEqual(sibling.body, precompressed);
  assert.deepEqual(brotliDecompressSync(sibling.body), wasm);
  // ...unless it is older than the file: a module rebuilt without it is compressed afresh.
  const newer = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 5) % 11));
  await writeFile(join(root, "stale.wasm.br"), precompressed);
  await writeFile(join(root, "stale.wasm"), newer);
  await utimes(join(root, "stale.wasm.br"), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  const stale = await fetchWith("/stale.wasm", "br");
  assert.deepEqual(brotliDecompressSync(stale.body), newer);
});

test("the _headers file static hosts read sends the same isolation headers as serve.mjs", async () => {
  const { ISOLATION } = await import(join(repo, "www", "http-policy.mjs"));
  const text = await readFile(join(repo, "www", "public", "_headers"), "utf8");
  const lines = text.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  assert.equal(lines[0], "/*", "one rule, for every path");
  const headers = Object.fromEntries(lines.slice(1).map((l) => l.trim().split(/:\s*/)).map(([k, v]) => [k.toLowerCase(), v]));
  assert.deepEqual(headers, ISOLATION);
});
