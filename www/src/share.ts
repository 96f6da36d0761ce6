// Share and embed: the settings live in the address's fragment, checked and encoded by Rust
// (crate/src/share.rs), written by every part that registered with `app.share`; ?embed=1 is the
// compact page for a blog's iframe. Images are never in a link.

import { type App, DEBOUNCE_MS, messageOf } from "./app";
import { CrashError } from "./client";
import type { PageState } from "./protocol";
import { byId, sentence } from "./ui/dom";

/** Mount the share panel; returns what reads the address once the engine's worker can answer
 * (Rust parses the fragment there). */
export function mountShare(app: App): () => void {
  if (app.params.get("embed") === "1") enterEmbedMode();
  const status = byId("share-status");
  const code = byId<HTMLTextAreaElement>("embed-code");
  let writable = false;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  // Why the settings do not fit in a link, while they do not: a note in this panel, not an
  // error banner (the visitor did nothing wrong), and the copy buttons say it instead of
  // handing out the address's older settings.
  let unshareable: string | null = null;
  const setUnshareable = (why: string | null) => {
    if (why === unshareable) return;
    unshareable = why;
    status.textContent = why ?? "";
  };

  /** Keep the address bar in step with the settings (debounced; history is not spammed). */
  app.on("settings", () => {
    if (!writable) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void writeLink(app, setUnshareable), DEBOUNCE_MS * 2);
  });

  const restore = async (onLoad: boolean) => {
    await restoreLink(app, onLoad);
    writable = true;
  };
  // A link pasted into this same tab changes only the fragment: no reload, so apply it here.
  // (replaceState, which keeps the address in step, fires no hashchange.)
  window.addEventListener("hashchange", () => void restore(false));

  const copy = async (text: string, what: string) => {
    if (unshareable) {
      status.textContent = unshareable;
      return;
    }
    code.value = text; // shown either way, to select by hand where copying is refused
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = `The ${what} is on your clipboard.`;
    } catch {
      status.textContent = `Your browser did not allow copying: select the ${what} below and copy it.`;
      code.select();
    }
  };
  byId("share-link").addEventListener("click", () => void copy(location.href, "link"));
  byId("share-embed").addEventListener("click", () => void copy(embedSnippet(), "embed code"));
  return () => void restore(true);
}

function enterEmbedMode(): void {
  document.body.classList.add("embed");
  byId("embed-bar").hidden = false;
  // The masthead is hidden: its one-line engine and model status moves into the bar.
  const engine = document.querySelector(".engine");
  if (engine) byId("embed-bar").append(engine);
  const full = new URL(location.href);
  full.searchParams.delete("embed");
  byId<HTMLAnchorElement>("embed-open").href = full.href;
}

/** Apply the address's fragment, if any: a broken or hostile one gives one sentence and changes nothing. */
async function restoreLink(app: App, onLoad: boolean): Promise<void> {
  const fragment = location.hash.slice(1);
  if (!fragment) return;
  let state: PageState;
  try {
    state = await app.call("parseState", { fragment });
  } catch (error) {
    const instead = onLoad ? "The page shows its defaults instead" : "The page keeps its current settings";
    if (!(error instanceof CrashError)) app.error("link", `${sentence(messageOf(error))} ${instead}`);
    return;
  }
  app.error("link", null);
  for (const part of app.shareables) part.restore(state);
  app.textChanged();
}

async function writeLink(app: App, setUnshareable: (why: string | null) => void): Promise<void> {
  const state: PageState = {};
  for (const part of app.shareables) part.save(state);
  try {
    const { fragment } = await app.call("encodeState", { state });
    const url = new URL(location.href);
    url.hash = fragment;
    history.replaceState(null, "", url.href);
    document.body.dataset.linkState = fragment;
    setUnshareable(null);
  } catch (error) {
    if (error instanceof CrashError) return;
    // The check reads the link back, so its reason comes worded for a link being read.
    const why = messageOf(error).replace(/^the link's settings cannot be used: /, "");
    setUnshareable(sentence(`These settings cannot be shared as a link: ${why}; shorten them to share`));
  }
}

function embedSnippet(): string {
  const url = new URL(location.href);
  url.searchParams.set("embed", "1");
  url.searchParams.delete("debug");
  const src = url.href.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  return `<iframe src="${src}" width="640" height="480" style="border:0;max-width:100%" loading="lazy" allow="camera" title="CLIP zero-shot classification, live"></iframe>`;
}
