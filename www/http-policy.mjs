// What the page's servers send with every file: the content type by extension and the page's
// Content-Security-Policy. Shared by www/serve.mjs and the benchmark's bench/server.mjs.

export const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".bpk": "application/octet-stream",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".bmp": "image/bmp",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The page's Content-Security-Policy (index.html carries the same as a <meta> tag for static
 * hosts that set no headers): scripts and the wasm module only from this origin, no inline
 * script, no eval beyond compiling WebAssembly, and fetches (the model) only to this origin,
 * so an image a visitor drops can go nowhere. frame-ancestors lets blogs embed the page.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob: mediastream:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors *",
].join("; ");

/**
 * Cross-origin isolation: with these the browser gives the page (and its workers: every
 * response carries them) shared memory, which the threaded CPU module needs. The page loads
 * nothing from other origins, so require-corp costs it nothing; CORP cross-origin lets other
 * sites, isolated ones too, embed it. A page embedded in a blog is not isolated (its parent
 * would have to be), so there the CPU path runs on one thread.
 */
export const ISOLATION = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "cross-origin",
};
