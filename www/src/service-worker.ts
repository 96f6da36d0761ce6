// The page's one service worker. It does two jobs for the one scope it has:
//  - offline: it keeps this deploy's files (SITE_FILES, path → sha256, stamped in by
//    www/stamp.mjs after the build) in one cache named for the deploy, and answers from there
//    first, so a second visit loads with the network off. The model is not among them: the
//    engine keeps its bundle in a cache of its own (worker/files.ts), and its requests, like any
//    other file's not listed, go to the network untouched.
//  - isolation: the page's documents and scripts get the cross-origin isolation headers
//    (www/http-policy.mjs ISOLATION), so on hosts that send none the page is isolated after one
//    reload and its CPU path runs on threads.
// Never a mix of deploys: a new deploy is a new worker (its SITE_FILES differ) with a new cache,
// filled and checked before it takes over; the page hands over to it only as it starts
// (offline.ts), and the old deploy's cache is dropped then. Every file is checked against its
// hash whenever it is served from the cache; a damaged one is fetched again.

declare const SITE_FILES: Record<string, string>;
declare const SITE_VERSION: string;
declare const ISOLATION_HEADERS: Record<string, string>;

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface ExtendableMessageEvent extends ExtendableEvent {
  readonly data: unknown;
  readonly ports: readonly MessagePort[];
}
interface WorkerScope {
  readonly location: Location;
  readonly registration: { readonly scope: string };
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate", listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", listener: (event: FetchEvent) => void): void;
  addEventListener(type: "message", listener: (event: ExtendableMessageEvent) => void): void;
}
const sw = self as unknown as WorkerScope;

const CACHE_PREFIX = "clip-site-";
const CACHE = CACHE_PREFIX + SITE_VERSION;
/** Stored at install, before the worker takes over: the page itself. The wasm modules and the
 * example images follow once the page has started (`fill`), so installing stays quick. */
const isShell = (path: string) => !path.endsWith(".wasm") && !path.startsWith("examples/");

/** What the page asks of the worker (offline.ts). */
export type WorkerMessage = { type: "activate" } | { type: "fill" };
/** The answer to `fill`: every file of this deploy is stored (or why not). */
export interface FillReport {
  version: string;
  files: number;
  bytes: number;
  error?: string;
}

sw.addEventListener("install", (event) => {
  event.waitUntil(store(Object.keys(SITE_FILES).filter(isShell)));
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key.startsWith(CACHE_PREFIX) && key !== CACHE) await caches.delete(key);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener("message", (event) => {
  const message = event.data as WorkerMessage;
  if (message?.type === "activate") event.waitUntil(sw.skipWaiting());
  if (message?.type === "fill") {
    const reply = event.ports[0];
    event.waitUntil(
      store(Object.keys(SITE_FILES)).then(
        (bytes) => reply?.postMessage({ version: SITE_VERSION, files: Object.keys(SITE_FILES).length, bytes } satisfies FillReport),
        (error: unknown) => reply?.postMessage({ version: SITE_VERSION, files: 0, bytes: 0, error: String(error) } satisfies FillReport),
      ),
    );
  }
});

sw.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  // Only this origin's responses: the page loads nothing from elsewhere, and a cross-origin
  // response's headers are not ours to change. ("only-if-cached" outside same-origin mode is a
  // request fetch() rejects.)
  if (url.origin !== sw.location.origin) return;
  if (request.cache === "only-if-cached" && request.mode !== "same-origin") return;
  const path = request.method === "GET" ? siteFile(url) : null;
  if (path !== null) event.respondWith(serve(path));
});

/** The deploy's file a URL names (the query ignored; a folder is its index.html), or null. */
function siteFile(url: URL): string | null {
  const scope = new URL(sw.registration.scope).pathname;
  if (!url.pathname.startsWith(scope)) return null;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname.slice(scope.length));
  } catch {
    return null;
  }
  if (path === "" || path.endsWith("/")) path += "index.html";
  return Object.hasOwn(SITE_FILES, path) ? path : null;
}

const keyOf = (path: string) => new URL(path, sw.registration.scope).href;

/** From the cache when it is there and intact; else from the network, checked, then stored. */
async function serve(path: string): Promise<Response> {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(keyOf(path));
  if (hit) {
    const bytes = await hit.arrayBuffer();
    if ((await sha256(bytes)) === SITE_FILES[path]) return withIsolation(new Response(bytes, { headers: hit.headers }));
    await cache.delete(keyOf(path)); // damaged: fetched again below
  }
  const response = await fetch(keyOf(path), { cache: "no-cache" });
  if (!response.ok) return withIsolation(response);
  const bytes = await response.arrayBuffer();
  // Another deploy's file (the host was updated since this worker was): shown, never stored. The
  // next visit installs the new deploy whole.
  if ((await sha256(bytes)) === SITE_FILES[path]) await put(cache, path, bytes, response.headers);
  return withIsolation(new Response(bytes, { headers: decoded(response.headers, bytes) }));
}

/** Store these files of the deploy (those not stored and intact already); the bytes stored. */
async function store(paths: string[]): Promise<number> {
  const cache = await caches.open(CACHE);
  let total = 0;
  await Promise.all(
    paths.map(async (path) => {
      const hit = await cache.match(keyOf(path));
      const held = hit ? await hit.arrayBuffer() : null;
      if (held && (await sha256(held)) === SITE_FILES[path]) {
        total += held.byteLength;
        return;
      }
      const response = await fetch(keyOf(path), { cache: "no-cache" });
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      const bytes = await response.arrayBuffer();
      if ((await sha256(bytes)) !== SITE_FILES[path]) throw new Error(`${path} is not the file this deploy lists (the site changed while it was stored)`);
      await put(cache, path, bytes, response.headers);
      total += bytes.byteLength;
    }),
  );
  return total;
}

function put(cache: Cache, path: string, bytes: ArrayBuffer, from: Headers): Promise<void> {
  return cache.put(keyOf(path), new Response(bytes, { headers: decoded(from, bytes) }));
}

/** The host's headers (type, CSP) for the decoded bytes: without the transfer's encoding. */
function decoded(from: Headers, bytes: ArrayBuffer): Headers {
  const headers = new Headers(from);
  for (const name of ["content-encoding", "transfer-encoding"]) headers.delete(name);
  headers.set("content-length", String(bytes.byteLength));
  return headers;
}

async function sha256(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function withIsolation(response: Response): Response {
  // Opaque (status 0) and redirect responses cannot be rebuilt; they go through as they are.
  if (response.status === 0 || response.type === "opaqueredirect") return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
