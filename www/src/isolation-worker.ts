// The page's service worker, for static hosts that send no cross-origin isolation headers
// (GitHub Pages and most others): it adds them (www/http-policy.mjs ISOLATION, defined in by
// build.mjs) to every same-origin response, so after one reload the page is isolated and its
// CPU path runs on threads. It caches nothing: each request goes to the network as it would
// without it. Registered by isolation.ts only where the page is not isolated already.

declare const ISOLATION_HEADERS: Record<string, string>;

interface IsolationFetchEvent extends Event {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface IsolationScope {
  readonly location: Location;
  skipWaiting(): Promise<void>;
  addEventListener(type: "install", listener: (event: Event) => void): void;
  addEventListener(type: "fetch", listener: (event: IsolationFetchEvent) => void): void;
}
const sw = self as unknown as IsolationScope;

// A new version replaces the old one at once: it holds no state worth a handover.
sw.addEventListener("install", () => void sw.skipWaiting());

sw.addEventListener("fetch", (event) => {
  const { request } = event;
  // Only this origin's responses: the page loads nothing from elsewhere, and a cross-origin
  // response's headers are not ours to change. ("only-if-cached" outside same-origin mode is a
  // request fetch() rejects.)
  if (new URL(request.url).origin !== sw.location.origin) return;
  if (request.cache === "only-if-cached" && request.mode !== "same-origin") return;
  event.respondWith(fetch(request).then(withIsolation));
});

function withIsolation(response: Response): Response {
  // Opaque (status 0) and redirect responses cannot be rebuilt; they go through as they are.
  if (response.status === 0 || response.type === "opaqueredirect") return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
