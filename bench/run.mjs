#!/usr/bin/env node
// The driver: serves SITE with bench/server.mjs, runs each configuration in a fresh headless
// Chromium per contender and run (alternating ours, theirs), prints the table and a final
// `{"ratios": ...}` JSON line. compare.sh builds SITE and calls this; see README.md.
// On WebGPU it also prints what each contender asked of the GPU per request (gpu-counts.js), and
// when SITE has pkg-before/ (compare.sh --before-pkg) a third contender, "before": ours with
// that WebGPU module, so a change is measured against its baseline in the same run.
//   node bench/run.mjs SITE [--runs N] [--images N] [--prompts N] [--no-webgpu] [--webgpu-runs N]
//        [--no-threads] [--webgpu-dtype fp32|q8] [--chromium PATH] [--chromium-args "ARGS"] [--timeout-s S] [--json FILE]
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opts = { runs: 3, images: 5, prompts: 5, webgpu: true, threads: true, webgpuRuns: 1, webgpuDtype: "fp32", chromium: "/usr/bin/chromium", chromiumArgs: [], timeoutS: 900, json: null };
let site = null;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const next = () => argv[++i];
  if (a === "--runs") opts.runs = Number(next());
  else if (a === "--images") opts.images = Math.max(5, Number(next()));
  else if (a === "--prompts") opts.prompts = Number(next());
  else if (a === "--no-webgpu") opts.webgpu = false;
  else if (a === "--no-threads") opts.threads = false;
  else if (a === "--webgpu-runs") opts.webgpuRuns = Number(next());
  else if (a === "--webgpu-dtype") opts.webgpuDtype = next();
  else if (a === "--chromium") opts.chromium = next();
  else if (a === "--chromium-args") opts.chromiumArgs.push(...next().split(/\s+/).filter(Boolean));
  else if (a === "--timeout-s") opts.timeoutS = Number(next());
  else if (a === "--json") opts.json = next();
  else if (!site) site = a;
  else throw new Error(`unknown argument ${a}`);
}
if (!site) throw new Error("usage: node bench/run.mjs SITE [options]");

const BASE_ARGS = ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-unsafe-webgpu"];
const say = (...a) => console.error("run:", ...a);

function startServer() {
  const child = spawn(process.execPath, [join(here, "server.mjs"), site, "0"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/at (http:\/\/\S+)/);
      if (m) resolve({ child, url: m[1] });
    });
    child.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
}

async function runOne(url, who, cfg) {
  const dir = mkdtempSync(join(tmpdir(), "clip-bench-profile-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: opts.chromium,
    headless: true,
    args: [...BASE_ARGS, ...opts.chromiumArgs],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (e) => say(`${who} page error: ${e.message}`));
    page.on("response", (r) => {
      if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) say(`${who} HTTP ${r.status()} ${r.url()}`);
    });
    page.on("console", (m) => {
      if (m.text().startsWith("Failed to load resource")) return;
      if (m.type() === "error" || m.type() === "warning") say(`${who} console.${m.type()}: ${m.text().slice(0, 300)}`);
    });
    const q = new URLSearchParams({ who, threads: String(cfg.threads), gpu: cfg.gpu ? "1" : "0", images: String(cfg.images), prompts: String(cfg.prompts), dtype: who === "theirs" ? cfg.dtype : "q8" });
    await page.goto(`${url}?${q}`);
    await page.waitForFunction(() => window.__bench, null, { timeout: opts.timeoutS * 1000, polling: 250 });
    const bench = await page.evaluate(() => window.__bench);
    if (!bench.ok) throw new Error(`${who}: ${bench.error}`);
    return bench.result;
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const MEASURES = [
  ["load_ms", "load to ready (ms)"],
  ["first_image_ms", "first image (ms)"],
  ["steady_image_ms", "steady image, median (ms)"],
  ["prompts_1_ms", "1 prompt, median (ms)"],
  ["prompts_10_ms", "10 prompts, median (ms)"],
  ["heap_bytes", "wasm heap after load (bytes)"],
];
const median = (xs) => {
  const s = xs.filter((x) => typeof x === "number").sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};
const cosine = (a, b) => {
  if (!a || !b || a.length !== b.length) return null;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) (ab += a[i] * b[i]), (aa += a[i] * a[i]), (bb += b[i] * b[i]);
  return ab / Math.sqrt(aa * bb);
};

const { child: server, url } = await startServer();
say(`serving ${site} at ${url}`);
const configs = [
  { key: "cpu_1thread", title: "CPU (wasm), 1 thread each", threads: 1, gpu: false, runs: opts.runs, images: opts.images, prompts: opts.prompts, dtype: "q8" },
  { key: "cpu_2threads", title: "CPU (wasm), 2 threads each (ours: the threaded module)", threads: 2, gpu: false, runs: opts.runs, images: opts.images, prompts: opts.prompts, dtype: "q8", needsIsolation: true },
];
if (opts.webgpu) configs.push({ key: "webgpu", title: `WebGPU (ours q8 bundle; theirs dtype ${opts.webgpuDtype})`, threads: 1, gpu: true, runs: opts.webgpuRuns, images: 5, prompts: 2, dtype: opts.webgpuDtype });

// The WebGPU calls reported per request: the last steady image's and the last batch of 10
// prompts' (the most warmed: pipelines compiled, autotune settled).
const GPU_REQUESTS = [["image", "steady image"], ["prompts_10", "10 prompts"]];
const gpuPerRequest = (res) =>
  res?.gpu_calls ? Object.fromEntries(GPU_REQUESTS.map(([k]) => [k, res.gpu_calls[k]?.at(-1) ?? null])) : null;
const hasBefore = existsSync(join(site, "pkg-before", "clip_bg.wasm"));
const hasBeforeCpu = existsSync(join(site, "pkg-cpu-before", "clip_bg.wasm"));

const report = { configs: {}, ratios: {} };
let isolated = null;
const all = {};
try {
  for (const cfg of configs) {
    if (cfg.needsIsolation && !opts.threads) continue;
    if (cfg.needsIsolation && isolated === false) {
      say(`skipping ${cfg.key}: the page is not cross-origin isolated, so neither contender can run threads`);
      continue;
    }
    const contenders = (cfg.gpu && hasBefore) || (cfg.key === "cpu_1thread" && hasBeforeCpu) ? ["ours", "before", "theirs"] : ["ours", "theirs"];
    const results = Object.fromEntries(contenders.map((who) => [who, []]));
    const errors = {};
    for (let r = 0; r < cfg.runs; r++) {
      for (const who of contenders) {
        if (errors[who]) continue;
        say(`${cfg.key} run ${r + 1}/${cfg.runs}: ${who}`);
        try {
          const res = await runOne(url, who, cfg);
          isolated ??= res.crossOriginIsolated;
          results[who].push(res);
          say(`  ${who}: ${res.backend}; load ${res.load_ms.toFixed(0)} ms, first ${res.first_image_ms.toFixed(0)} ms, steady ${res.steady_image_ms.toFixed(0)} ms, 1p ${res.prompts_1_ms.toFixed(0)} ms, 10p ${res.prompts_10_ms.toFixed(0)} ms, heap ${res.heap_bytes}`);
        } catch (e) {
          errors[who] = String(e?.message ?? e).split("\n").slice(0, 6).join("\n");
          say(`  ${who} FAILED: ${errors[who]}`);
        }
      }
    }
    all[cfg.key] = results;
    const row = {};
    for (const [m] of MEASURES) {
      const ours = median(results.ours.map((x) => x[m]));
      const theirs = median(results.theirs.map((x) => x[m]));
      row[m] = { ours, theirs, ratio: ours != null && theirs ? ours / theirs : null };
      if (results.before) {
        const before = median(results.before.map((x) => x[m]));
        Object.assign(row[m], { before, ratio_before: before != null && theirs ? before / theirs : null });
      }
    }
    const o = results.ours[0], t = results.theirs[0];
    report.configs[cfg.key] = {
      title: cfg.title,
      gpu: cfg.gpu,
      runs: { ours: results.ours.length, theirs: results.theirs.length },
      backends: { ours: o?.backend ?? null, theirs: t?.backend ?? null },
      heap_how: { ours: o?.heap_how ?? null, theirs: t?.heap_how ?? null },
      cosine_ours_vs_theirs: { image: cosine(o?.image_embedding, t?.image_embedding), text: cosine(o?.text_embedding, t?.text_embedding) },
      errors,
      measures: row,
      raw: Object.fromEntries(contenders.map((who) => [who, results[who].map(({ image_embedding, text_embedding, ...rest }) => rest)])),
    };
    const round = (x) => (x == null || !Number.isFinite(x) ? null : Number(x.toFixed(3)));
    report.ratios[cfg.key] = Object.fromEntries(Object.entries(row).map(([m, v]) => [m, round(v.ratio)]));
    if (results.before) {
      report.configs[cfg.key].cosine_ours_vs_before = { image: cosine(o?.image_embedding, results.before[0]?.image_embedding), text: cosine(o?.text_embedding, results.before[0]?.text_embedding) };
      report.ratios[`${cfg.key}_before`] = Object.fromEntries(Object.entries(row).map(([m, v]) => [m, round(v.ratio_before)]));
    }
    if (cfg.gpu) {
      // Counts are the same in every run (same engine, same model): the first run's.
      const calls = Object.fromEntries(contenders.map((who) => [who, gpuPerRequest(results[who][0])]));
      report.configs[cfg.key].gpu_calls = calls;
      const ratioOf = (who) =>
        calls[who] && calls.theirs
          ? Object.fromEntries(GPU_REQUESTS.map(([k]) => [k, Object.fromEntries(Object.keys(calls.theirs[k] ?? {}).map((c) => [c, round(calls[who][k]?.[c] / calls.theirs[k][c])]))]))
          : null;
      report.ratios.webgpu_calls = ratioOf("ours");
      if (results.before) report.ratios.webgpu_calls_before = ratioOf("before");
    }
  }
} finally {
  server.kill();
}

const fmt = (v, m) => (v == null ? "n/a" : m === "heap_bytes" ? String(Math.round(v)) : v.toFixed(1));
for (const [key, c] of Object.entries(report.configs)) {
  console.log(`\n## ${key}: ${c.title}`);
  console.log(`runs: ours ${c.runs.ours}, theirs ${c.runs.theirs} (fresh browser each; medians across runs)`);
  console.log(`ours:   ${c.backends.ours}`);
  if (c.raw.before) console.log(`before: ours with the ${c.gpu ? "WebGPU module of --before-pkg" : "CPU module of --before-cpu-pkg"} (${c.raw.before.length} runs)`);
  console.log(`theirs: ${c.backends.theirs}`);
  for (const [who, e] of Object.entries(c.errors)) console.log(`${who} FAILED: ${e}`);
  const cs = c.cosine_ours_vs_theirs;
  console.log(`cosine ours vs theirs (same weights; image 0, one prompt): image ${cs.image?.toFixed(4) ?? "n/a"}, text ${cs.text?.toFixed(4) ?? "n/a"}`);
  const parts = c.raw.theirs.map((r) => r.steady_image_parts_ms).filter(Boolean);
  if (parts.length) {
    const p = Object.fromEntries(["decode", "preprocess", "model"].map((k) => [k, median(parts.map((x) => x[k]))]));
    console.log(`theirs' steady image split (median ms): decode ${p.decode.toFixed(1)}, preprocess ${p.preprocess.toFixed(1)}, vision model ${p.model.toFixed(1)}`);
  }
  const before = Boolean(c.raw.before);
  const ratio = (x) => (x == null || !Number.isFinite(x) ? "n/a" : x.toFixed(2));
  const w = before ? [30, 14, 14, 14, 11, 13] : [30, 14, 14, 11];
  const line = (cells) => "| " + cells.map((x, i) => String(x).padEnd(w[i])).join(" | ") + " |";
  console.log(line(before ? ["measure", "ours", "before", "theirs", "ours÷theirs", "before÷theirs"] : ["measure", "ours", "theirs", "ours÷theirs"]));
  console.log("|" + w.map((n) => "-".repeat(n + 2)).join("|") + "|");
  for (const [m, label] of MEASURES) {
    const v = c.measures[m];
    console.log(line(before
      ? [label, fmt(v.ours, m), fmt(v.before, m), fmt(v.theirs, m), ratio(v.ratio), ratio(v.ratio_before)]
      : [label, fmt(v.ours, m), fmt(v.theirs, m), ratio(v.ratio)]));
  }
  if (c.gpu_calls) {
    console.log(`\nWebGPU calls per request (the last steady one; counted in each contender's realm):`);
    const who = Object.keys(c.gpu_calls);
    const counters = Object.keys(c.gpu_calls.theirs?.image ?? c.gpu_calls.ours?.image ?? {});
    const cw = [22, 14, ...who.map(() => 9), 11, ...(before ? [13] : [])];
    const cline = (cells) => "| " + cells.map((x, i) => String(x).padEnd(cw[i])).join(" | ") + " |";
    console.log(cline(["call", "request", ...who, "ours÷theirs", ...(before ? ["before÷theirs"] : [])]));
    console.log("|" + cw.map((n) => "-".repeat(n + 2)).join("|") + "|");
    for (const counter of counters) {
      for (const [k, label] of GPU_REQUESTS) {
        const n = (x) => c.gpu_calls[x]?.[k]?.[counter];
        const r = (x) => (n(x) == null || !n("theirs") ? "n/a" : (n(x) / n("theirs")).toFixed(2));
        console.log(cline([counter, label, ...who.map((x) => n(x) ?? "n/a"), r("ours"), ...(before ? [r("before")] : [])]));
      }
    }
  }
}
// Code on the wire: each contender's scripts and wasm, raw, gzip -9 and brotli 11 (what a host
// serving precompressed files sends; `www/build.mjs` writes ours).
const wire = (files) => {
  const raw = files.map((f) => readFileSync(join(site, f)));
  const sum = (f) => raw.reduce((n, b) => n + f(b).length, 0);
  return {
    raw: sum((b) => b),
    gzip: sum((b) => gzipSync(b, { level: 9 })),
    brotli: sum((b) => brotliCompressSync(b, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: b.length } })),
  };
};
// Ours is one of three modules: the CPU path alone (what the page fetches without a usable GPU
// adapter), the CPU path on threads (the same, on a cross-origin isolated page) or WebGPU.
const threadedFiles = existsSync(join(site, "pkg-threads"))
  ? readdirSync(join(site, "pkg-threads"), { recursive: true }).filter((f) => /\.(js|wasm)$/.test(f)).map((f) => join("pkg-threads", f))
  : null;
report.code_bytes = {
  ours_cpu: wire(["pkg-cpu/clip.js", "pkg-cpu/clip_bg.wasm"]),
  ...(threadedFiles ? { ours_threads: wire(threadedFiles) } : {}),
  ours_webgpu: wire(["pkg/clip.js", "pkg/clip_bg.wasm"]),
  ...(hasBefore ? { before_webgpu: wire(["pkg-before/clip.js", "pkg-before/clip_bg.wasm"]) } : {}),
  theirs: wire(["tjs/transformers.js", "ort/ort-wasm-simd-threaded.asyncify.mjs", "ort/ort-wasm-simd-threaded.asyncify.wasm"]),
};
const modules = [["ours_cpu", "CPU module"], ["ours_threads", "threaded CPU module"], ["ours_webgpu", "WebGPU module"], ["before_webgpu", "WebGPU module before"]].filter(([k]) => report.code_bytes[k]);
console.log("\n## code on the wire (scripts + wasm, bytes)");
console.log(`| encoding | ${modules.map(([, name]) => `ours, ${name}`).join(" | ")} | theirs | ${modules.map(([, name]) => `${name} ÷ theirs`).join(" | ")} |`);
console.log(`|---|${modules.map(() => "---|").join("")}---|${modules.map(() => "---|").join("")}`);
for (const enc of ["raw", "gzip", "brotli"]) {
  const t = report.code_bytes.theirs[enc];
  const ours = modules.map(([k]) => report.code_bytes[k][enc]);
  console.log(`| ${enc} | ${ours.join(" | ")} | ${t} | ${ours.map((o) => (o / t).toFixed(2)).join(" | ")} |`);
}
const codeRatios = (ours) =>
  Object.fromEntries(["raw", "gzip", "brotli"].map((e) => [e, Number((report.code_bytes[ours][e] / report.code_bytes.theirs[e]).toFixed(3))]));
report.ratios.code_bytes_cpu = codeRatios("ours_cpu");
if (report.code_bytes.ours_threads) report.ratios.code_bytes_threads = codeRatios("ours_threads");
report.ratios.code_bytes_webgpu = codeRatios("ours_webgpu");
if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 2));
console.log(JSON.stringify({ ratios: report.ratios }));
