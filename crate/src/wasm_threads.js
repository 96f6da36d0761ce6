// The thread pool's JavaScript half (wasm_threads.rs). This file plays two parts: the threaded
// module's glue imports it (startWorkers, in the engine's worker), and each pool worker runs it
// as its own script: same file, same origin, so the page's Content-Security-Policy
// (worker-src 'self') allows it, where a blob: worker would need the policy widened.

const WORKER_NAME = "clip-pool-thread";

function nextMessage(target, type) {
  return new Promise((resolve, reject) => {
    target.addEventListener("message", function onMessage({ data }) {
      if (data?.type !== type) return;
      target.removeEventListener("message", onMessage);
      if (data.error) reject(new Error(data.error));
      else resolve(data);
    });
    target.addEventListener("error", (event) => reject(new Error(event.message || "a pool worker failed to start")), { once: true });
  });
}

if (typeof WorkerGlobalScope !== "undefined" && self.name === WORKER_NAME) {
  // The panic hook's report (console_error_panic_hook), kept for the failure report below.
  let panicked = null;
  const consoleError = console.error.bind(console);
  console.error = (...args) => {
    consoleError(...args);
    const text = args.map(String).join(" ");
    if (text.startsWith("panicked at")) panicked = text;
  };
  nextMessage(self, "clip-pool-init").then(async ({ glue, module, memory, pool, engine }) => {
    let wasm;
    try {
      wasm = await import(glue);
      await wasm.default({ module_or_path: module, memory });
    } catch (error) {
      postMessage({ type: "clip-pool-ready", error: String(error?.message ?? error) });
      return;
    }
    postMessage({ type: "clip-pool-ready" });
    try {
      wasm.runPoolThread(pool);
    } catch (error) {
      // A panic aborts this thread (the module is built with panic=abort), and the engine's
      // thread, blocked waiting for its work, would wait forever and cannot hear of it. The page
      // can: it listens on a channel named after the engine's worker, and restarts that worker.
      if (engine && typeof BroadcastChannel === "function") {
        const channel = new BroadcastChannel(engine);
        channel.postMessage({ type: "clip-pool-thread-failed", message: panicked ?? String(error?.message ?? error) });
        channel.close();
      }
    }
  });
}

/** Kept so the workers are never collected (Firefox collects unreferenced ones sharing memory). */
let workers = [];

export async function startWorkers(module, memory, glue, pool, count) {
  workers = await Promise.all(
    Array.from({ length: count }, async () => {
      const worker = new Worker(new URL(import.meta.url), { type: "module", name: WORKER_NAME });
      const ready = nextMessage(worker, "clip-pool-ready");
      worker.postMessage({ type: "clip-pool-init", glue, module, memory, pool, engine: self.name });
      await ready;
      return worker;
    }),
  );
}
