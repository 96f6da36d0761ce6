// Where one contender's time goes: a CPU profile (Chrome DevTools protocol) of the bench page in
// headless Chromium, printed as self time per function, highest first.
//
//   node bench/profile.mjs SITE [ours|theirs] [image|prompts]
//
// SITE is the harness site bench/compare.sh builds (e.g. /tmp/clip-bench-b32/site). Wasm function
// names appear only when the module keeps its name section: profile a `wasm-bindgen` output that
// has not been through `wasm-opt` (CLIP_WASM_OPT=0 ./build.sh …). It found that burn-flex ran its
// scalar gemm in wasm, and the integer matmul's share against its activation folding.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const [site, who = "ours", what = "image"] = process.argv.slice(2);
if (!site || !["ours", "theirs"].includes(who) || !["image", "prompts"].includes(what)) {
  console.error("usage: node bench/profile.mjs SITE [ours|theirs] [image|prompts]");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const server = spawn(process.execPath, [join(here, "server.mjs"), site, "0"], { stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((resolve) => server.stdout.on("data", (d) => { const m = /http:\/\/\S+/.exec(String(d)); if (m) resolve(m[0].replace(/\/$/, "")); }));
const profileDir = mkdtempSync(join(tmpdir(), "clip-profile-"));
const context = await chromium.launchPersistentContext(profileDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  // Ours runs in a module worker (as the page does): profile every worker too, through a
  // non-flat session per worker (messages wrapped in Target.sendMessageToTarget).
  const workers = [];
  let nextId = 1;
  const pending = new Map();
  const toWorker = (sessionId, method, params = {}) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      cdp.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method, params }) });
    });
  cdp.on("Target.receivedMessageFromTarget", ({ message }) => {
    const m = JSON.parse(message);
    if (m.id && pending.has(m.id)) pending.get(m.id)(m.result), pending.delete(m.id);
  });
  cdp.on("Target.attachedToTarget", async ({ sessionId, targetInfo }) => {
    if (targetInfo.type !== "worker") return;
    workers.push(sessionId);
    await toWorker(sessionId, "Profiler.enable");
    await toWorker(sessionId, "Profiler.setSamplingInterval", { interval: 200 });
    await toWorker(sessionId, "Profiler.start");
    await toWorker(sessionId, "Runtime.runIfWaitingForDebugger");
  });
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: false });
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  const images = what === "image" ? "8" : "1";
  const prompts = what === "image" ? "1" : "8";
  const query = new URLSearchParams({ who, threads: "1", gpu: "0", images, prompts, dtype: "q8" });
  await page.goto(`${base}/?${query}`);
  await page.waitForFunction(() => window.__bench, null, { timeout: 600_000, polling: 250 });
  const profiles = [(await cdp.send("Profiler.stop")).profile];
  for (const sessionId of workers) profiles.push((await toWorker(sessionId, "Profiler.stop")).profile);
  const outcome = await page.evaluate(() => window.__bench);
  if (!outcome.ok) throw new Error(outcome.error);
  const bench = outcome.result;
  console.log(`${who}: load ${bench.load_ms?.toFixed(0)} ms, steady image ${bench.steady_image_ms?.toFixed(1)} ms, 10 prompts ${bench.prompts_10_ms?.toFixed(1)} ms (the whole run is profiled, load included; shares of the time not idle, page and workers together)`);
  // Self time per function, over the page and its workers; idle time left out (each realm idles
  // while the other works), so the shares are of the time spent running.
  const self = new Map();
  let total = 0;
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const frame = nodes.get(id).callFrame;
      const name = frame.functionName || `(${frame.url.split("/").pop()}:${frame.lineNumber})`;
      if (name === "(idle)") return;
      const dt = profile.timeDeltas[i] ?? 0;
      self.set(name, (self.get(name) ?? 0) + dt);
      total += dt;
    });
  }
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)} % ${(us / 1000).toFixed(0).padStart(7)} ms  ${name.slice(0, 150)}`);
  }
} finally {
  await context.close();
  server.kill();
  rmSync(profileDir, { recursive: true, force: true });
}
