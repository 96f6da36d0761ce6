// Serves the kernels' wasm to a blank page in headless Chromium and times them there (see run.sh).
//   node bench/kernels/run.mjs KERNELS.wasm [--chromium PATH]
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [wasmPath, ...rest] = process.argv.slice(2);
const executablePath = rest[0] === "--chromium" ? rest[1] : "/usr/bin/chromium";
if (!wasmPath || !existsSync(wasmPath) || (rest.length && !(rest[0] === "--chromium" && rest[1]))) {
  console.error("usage: node bench/kernels/run.mjs KERNELS.wasm [--chromium PATH] (bench/kernels/run.sh builds the wasm and calls this)");
  process.exit(2);
}
if (!existsSync(executablePath)) {
  console.error(`bench/kernels: no browser at ${executablePath}; pass --chromium PATH`);
  process.exit(2);
}
const wasm = readFileSync(wasmPath);
const server = createServer((request, response) => {
  if (request.url === "/kernels.wasm") {
    response.writeHead(200, { "content-type": "application/wasm" });
    response.end(wasm);
  } else {
    response.writeHead(200, { "content-type": "text/html" });
    response.end("<!doctype html><title>kernels</title>");
  }
}).listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const result = await page.evaluate(async () => {
    const bytes = await (await fetch("/kernels.wasm")).arrayBuffer();
    // Without relaxed SIMD the whole module fails validation: say so instead of timing.
    if (!WebAssembly.validate(bytes)) return { relaxed: false, rows: [] };
    const { instance } = await WebAssembly.instantiate(bytes);
    const { run_i16, run_u7, sum } = instance.exports;
    const rows = [];
    for (const k of [768, 3072]) {
      const iterations = Math.round((20000 * 768) / k);
      for (const height of [2, 3, 4, 5, 6]) {
        for (const [kernel, run] of [["dot_i16x8 (i16 activations)", run_i16], ["relaxed_dot_i8x16_i7x16_add (7-bit activations)", run_u7]]) {
          let best = 0;
          for (let round = 0; round < 7; round++) {
            const start = performance.now();
            run(height, k, iterations);
            const ms = performance.now() - start;
            best = Math.max(best, (height * 8 * k * iterations) / ms / 1e6);
          }
          rows.push({ k, height, kernel, gmacs: best });
        }
      }
    }
    sum();
    return { relaxed: true, rows, agent: navigator.userAgent };
  });
  if (!result.relaxed) {
    console.log("this browser has no relaxed SIMD: the kernels module does not validate");
  } else {
    console.log(result.agent);
    console.log("| k | rows | kernel | G multiply-adds/s (best of 7) |\n|---|---|---|---|");
    for (const r of result.rows) console.log(`| ${r.k} | ${r.height} | ${r.kernel} | ${r.gmacs.toFixed(1)} |`);
  }
} finally {
  await browser.close();
  server.close();
}
