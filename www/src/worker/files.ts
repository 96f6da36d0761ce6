// The bundle's files: streamed downloads with progress, the Cache API (keyed by the bundle id),
// and WebCrypto digests. Nothing here trusts a file: the engine verifies each one against the
// manifest, and only verified files are stored.

import { messageOf, progress } from "./events";
import { wasm } from "./modules";

const CACHE_PREFIX = "clip-bundle-";

/** The manifest's fields the worker reads itself (Rust parses and checks the whole). */
export interface ManifestHead {
  bundle_id: string;
  precision?: string;
  source?: { repo?: string | null };
  files: Record<string, { bytes: number; sha256: string }>;
  classifiers?: { preset: string; file: string }[];
}

export interface Fetched {
  bytes: Uint8Array<ArrayBuffer>;
  fromCache: boolean;
}

export async function openCache(bundleId: string): Promise<Cache | null> {
  try {
    return typeof caches === "undefined" ? null : await caches.open(CACHE_PREFIX + bundleId);
  } catch {
    return null; // e.g. an insecure context or storage disabled: download every time
  }
}

/** Drop the caches of bundles the site no longer offers (an older deploy's models). */
export async function dropOtherCaches(keep: string[]): Promise<void> {
  try {
    if (typeof caches === "undefined") return;
    for (const key of await caches.keys()) {
      if (key.startsWith(CACHE_PREFIX) && !keep.some((id) => key === CACHE_PREFIX + id)) await caches.delete(key);
    }
  } catch {
    // best effort
  }
}

/** One tower or tokenizer file, from the cache when it is there, else downloaded. Not verified
 * here: loadBundle verifies each file as it loads it. */
export async function fetchFile(manifest: ManifestHead, name: string, url: URL, cache: Cache | null): Promise<Fetched> {
  const total = manifest.files[name]!.bytes;
  if (cache) {
    try {
      const hit = await cache.match(url);
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        progress(name, bytes.byteLength, total, "verify");
        return { bytes, fromCache: true };
      }
    } catch {
      // a cache failure only costs a download
    }
  }
  const bytes = await download(name, url, total);
  progress(name, bytes.byteLength, total, "verify");
  return { bytes, fromCache: false };
}

export async function store(cache: Cache | null, url: URL, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  if (!cache) return;
  try {
    await cache.put(url, new Response(bytes, { headers: { "content-type": "application/octet-stream" } }));
  } catch {
    // quota exceeded and the like: the next visit downloads again
  }
}

export async function forget(cache: Cache | null, urls: URL[]): Promise<void> {
  if (!cache) return;
  try {
    await Promise.all(urls.map((url) => cache.delete(url)));
  } catch {
    // best effort: the files are downloaded again either way
  }
}

/** One classifier file: from the cache when it is there and still verifies, else downloaded, verified, cached. */
export async function fetchVerified(manifestText: string, manifest: ManifestHead, name: string, url: URL, cache: Cache | null): Promise<Fetched> {
  let file = await fetchFile(manifest, name, url, cache);
  if (file.fromCache) {
    try {
      wasm.Engine.verifyFile(manifestText, name, file.bytes);
    } catch {
      await forget(cache, [url]); // stale or damaged: fetch it again
      file = await fetchFile(manifest, name, url, null);
    }
  }
  if (!file.fromCache) {
    try {
      wasm.Engine.verifyFile(manifestText, name, file.bytes);
    } catch (error) {
      throw new Error(`The model could not be loaded: ${messageOf(error)}`);
    }
    await store(cache, url, file.bytes);
  }
  const total = file.bytes.byteLength;
  progress(name, total, total, file.fromCache ? "cache" : "done");
  return file;
}

/**
 * Each file's sha256 (hex, as JSON for `loadBundle`) from WebCrypto: the browser's native SHA-256
 * takes a fraction of the 0.5 s that hashing ViT-B/32's 158 MB takes in wasm. Undefined where
 * WebCrypto is missing (an insecure context) or fails: `loadBundle` then hashes in wasm.
 */
export async function sha256Of(files: Map<string, Uint8Array>): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  try {
    const entries = await Promise.all(
      [...files].map(async ([name, bytes]) => {
        const digest = new Uint8Array(await subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
        return [name, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")] as const;
      }),
    );
    return JSON.stringify(Object.fromEntries(entries));
  } catch {
    return undefined;
  }
}

async function download(name: string, url: URL, expected: number): Promise<Uint8Array<ArrayBuffer>> {
  let response: globalThis.Response;
  try {
    response = await fetch(url, { cache: "no-cache" });
  } catch (error) {
    throw new Error(`The model file ${name} could not be downloaded (${messageOf(error)}).`);
  }
  if (!response.ok) throw new Error(`The model file ${name} could not be downloaded (HTTP ${response.status}).`);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  let buffer = new Uint8Array(Math.max(expected, 1));
  let loaded = 0;
  let lastReport = 0;
  progress(name, 0, expected, "download");
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > buffer.byteLength) {
      // more than the manifest says: keep it all, verification will name the mismatch
      const grown = new Uint8Array(Math.max(buffer.byteLength * 2, loaded + value.byteLength));
      grown.set(buffer.subarray(0, loaded));
      buffer = grown;
    }
    buffer.set(value, loaded);
    loaded += value.byteLength;
    const now = performance.now();
    if (now - lastReport > 80) {
      lastReport = now;
      progress(name, loaded, expected, "download");
    }
  }
  progress(name, loaded, expected, "download");
  return loaded === buffer.byteLength ? buffer : buffer.slice(0, loaded);
}
