// The page's side of its service worker (service-worker.ts): register it, take a new deploy as
// the page starts (before anything is loaded, so nothing of the visitor's is lost), reload once
// under it where the host sends no isolation headers, and say when the page can work offline.
//
// Isolation: the threaded CPU module needs shared memory, which browsers give only to isolated
// pages (COOP + COEP headers: serve.mjs and _headers send them). Elsewhere the worker adds the
// headers and the page reloads once under it. A page in another site's iframe is left alone:
// its parent would have to be isolated too, so it runs on one thread whatever it does.

import type { FillReport, WorkerMessage } from "./service-worker";
import { byId } from "./ui/dom";

declare const THREADS_MODULE: boolean;

/** Set just before a reload, cleared once it has done its job: a second reload never follows. */
const RELOADED = "clip-isolation-reload";
const UPDATED = "clip-update-reload";
/** How long the worker may take to install or activate before the page goes on without it. */
const ACTIVATION_MS = 5_000;

const within = <T>(promise: Promise<T>, ms: number, otherwise: T): Promise<T> =>
  Promise.race([promise, new Promise<T>((resolve) => setTimeout(() => resolve(otherwise), ms))]);

/** Register the worker; true when the page is about to reload (start nothing), false to go on. */
export async function startServiceWorker(params: URLSearchParams): Promise<boolean> {
  showConnection();
  try {
    if (!window.isSecureContext || !("serviceWorker" in navigator)) return false;
    const container = navigator.serviceWorker;
    const registration = await container.register(new URL("./service-worker.js", import.meta.url));
    if (container.controller && (await newDeployReady(registration))) {
      if (sessionStorage.getItem(UPDATED) === null) {
        sessionStorage.setItem(UPDATED, "1");
        const taken = new Promise<boolean>((resolve) => container.addEventListener("controllerchange", () => resolve(true), { once: true }));
        registration.waiting?.postMessage({ type: "activate" } satisfies WorkerMessage);
        if (await within(taken, ACTIVATION_MS, false)) {
          location.reload();
          return true;
        }
      }
    } else {
      sessionStorage.removeItem(UPDATED);
    }
    if (self.crossOriginIsolated) {
      sessionStorage.removeItem(RELOADED);
      return false;
    }
    if (!THREADS_MODULE || params.get("threads") === "1" || window.top !== window) return false;
    // Already under it, yet not isolated: this browser does not honour the headers from a
    // service worker. And one reload has been tried already (a hard reload bypasses the worker;
    // the next one will not).
    if (container.controller || sessionStorage.getItem(RELOADED) !== null) return false;
    if (!(await within(container.ready.then(() => true), ACTIVATION_MS, false))) return false;
    sessionStorage.setItem(RELOADED, "1");
    location.reload();
    return true;
  } catch {
    // No service workers here (private windows, storage blocked, a failed registration): online
    // only, one thread.
    return false;
  }
}

/** Online, ask the host for a newer deploy; true when one is installed and waiting. */
async function newDeployReady(registration: ServiceWorkerRegistration): Promise<boolean> {
  if (navigator.onLine) await within(registration.update().catch(() => undefined), ACTIVATION_MS, undefined);
  const installing = registration.installing;
  if (installing && !registration.waiting) {
    await within(
      new Promise<void>((resolve) => installing.addEventListener("statechange", () => installing.state !== "installing" && resolve())),
      ACTIVATION_MS,
      undefined,
    );
  }
  return registration.waiting !== null;
}

/** Once the page has started: have the worker store every file of this deploy, and say so. */
let kept = false;
export async function keepOffline(): Promise<void> {
  if (kept) return; // "ready" comes again after each restart of the engine
  kept = true;
  const line = byId("offline-status");
  try {
    if (!("serviceWorker" in navigator)) return;
    const registration = await within(navigator.serviceWorker.ready, ACTIVATION_MS, null);
    const worker = registration?.active;
    if (!worker) return;
    const channel = new MessageChannel();
    const report = new Promise<FillReport>((resolve) => (channel.port1.onmessage = (e) => resolve(e.data as FillReport)));
    worker.postMessage({ type: "fill" } satisfies WorkerMessage, [channel.port2]);
    const { error, bytes } = await report;
    document.body.dataset.offline = error ? "failed" : "ready";
    line.textContent = error
      ? "This page could not be saved for offline use; it works while you are online."
      : `Saved on this device for offline use (${(bytes / 1e6).toFixed(1)} MB of page; the model is kept apart once it is loaded).`;
  } catch {
    // No worker, no offline copy: the page works online as before.
  }
}

/** Say in the masthead when the network is gone (the page then runs from the offline copy). */
function showConnection(): void {
  const line = byId("connection");
  const update = () => {
    line.hidden = navigator.onLine;
    document.body.dataset.online = String(navigator.onLine);
  };
  window.addEventListener("online", update);
  window.addEventListener("offline", update);
  update();
}
