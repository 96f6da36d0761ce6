// Cross-origin isolation where the host does not send it. The threaded CPU module needs shared
// memory, which browsers give only to isolated pages (COOP + COEP headers: serve.mjs and
// _headers send them). Elsewhere the page registers isolation-worker.js, a service worker that
// adds the headers, and reloads once under it. A page in another site's iframe is left alone:
// its parent would have to be isolated too, so it runs on one thread whatever it does.

declare const THREADS_MODULE: boolean;

/** Set just before the one reload, cleared once isolated: a second reload never follows. */
const RELOADED = "clip-isolation-reload";
/** How long the service worker may take to activate before the page goes on without it. */
const ACTIVATION_MS = 5_000;

/** True when the page is about to reload isolated (start nothing); false to go on as it is. */
export async function reloadIsolated(params: URLSearchParams): Promise<boolean> {
  try {
    if (self.crossOriginIsolated) {
      sessionStorage.removeItem(RELOADED);
      return false;
    }
    if (!THREADS_MODULE || params.get("threads") === "1" || window.top !== window) return false;
    if (!window.isSecureContext || !("serviceWorker" in navigator)) return false;
    await navigator.serviceWorker.register(new URL("./isolation-worker.js", import.meta.url));
    // Already under it, yet not isolated: this browser does not honour the headers from a
    // service worker. And one reload has been tried already (a hard reload bypasses the worker;
    // the next one will not).
    if (navigator.serviceWorker.controller || sessionStorage.getItem(RELOADED) !== null) return false;
    const active = await Promise.race([
      navigator.serviceWorker.ready.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ACTIVATION_MS)),
    ]);
    if (!active) return false;
    sessionStorage.setItem(RELOADED, "1");
    location.reload();
    return true;
  } catch {
    // No service workers here (private windows, storage blocked, a failed registration): one thread.
    return false;
  }
}
