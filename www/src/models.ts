// The models this site offers (models/index.json, written by www/build.mjs): which one runs
// (?model=NAME in the address, else the list's first), the masthead's picker that switches the
// engine to another, and the check that says, before anything is downloaded, when a model is
// too big for this browser or would be too slow here to be useful.

import { type App, messageOf } from "./app";
import type { Engine } from "./engine";
import type { SiteModel } from "./protocol";
import { byId, h, megabytes, milliseconds } from "./ui/dom";

/** An image slower than this is too slow for the page's live edits to be useful. */
const TOO_SLOW_MS = 5000;
/** The wasm heap holds about 1.3× the bundle after load; past 2 GB browsers refuse or crash. */
const HEAP_PER_BUNDLE_BYTE = 1.3;
const HEAP_LIMIT = 2e9;

/** Read the list and pick the model the address names. A site without a list (bundles put
 * under models/ by hand, as bench/compare.sh does) runs models/NAME/ for ?model=NAME, else
 * models/default/. */
export async function readModels(app: App): Promise<void> {
  let models: SiteModel[] = [];
  try {
    const response = await fetch(new URL("models/index.json", location.href), { cache: "no-cache" });
    if (response.ok) models = parseList(await response.json());
  } catch {
    // no list: the single bundle below
  }
  const asked = app.params.get("model");
  if (models.length === 0) {
    const name = asked !== null && /^[\w.-]+$/.test(asked) ? asked : "default";
    models = [{ name, repo: null, precision: null, bundleId: "", bytes: 0, config: null }];
  }
  app.models = models;
  const known = app.models.find((m) => m.name === asked);
  app.modelName = known?.name ?? app.models[0]!.name;
  if (asked !== null && !known) {
    app.error("model-choice", `This site has no model named “${asked}”, so it runs ${app.modelName} (it offers ${app.models.map((m) => m.name).join(", ")})`);
  }
}

function parseList(json: unknown): SiteModel[] {
  const list = (json as { models?: unknown })?.models;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (m): m is SiteModel =>
      typeof m?.name === "string" && /^[\w.-]+$/.test(m.name) && typeof m.bytes === "number" && typeof m.bundleId === "string",
  );
}

/** One line for a model: its source, precision and download size. */
export function describe(model: SiteModel): string {
  const parts = [model.repo, model.precision, model.bytes > 0 ? megabytes(model.bytes) : null].filter((p) => p !== null);
  return parts.length ? `${model.name} (${parts.join(", ")})` : model.name;
}

/**
 * Why `model` should not be loaded here without asking, in one sentence, or null: a bundle
 * whose heap would not fit the browser, or an image expected to take longer than TOO_SLOW_MS
 * (Rust scales the time the current model took here by the two models' multiply-adds).
 */
export async function concernAbout(app: App, model: SiteModel): Promise<string | null> {
  const memoryGb = (navigator as { deviceMemory?: number }).deviceMemory;
  const limit = Math.min(HEAP_LIMIT, memoryGb ? (memoryGb * 1e9) / 4 : HEAP_LIMIT);
  if (model.bytes * HEAP_PER_BUNDLE_BYTE > limit) {
    return `${model.name} is ${megabytes(model.bytes)} to download and needs about ${megabytes(model.bytes * HEAP_PER_BUNDLE_BYTE)} of memory once loaded, more than this browser can likely give one page.`;
  }
  const current = app.models.findIndex((m) => m.name === app.modelName);
  const target = app.models.indexOf(model);
  const measured = app.imageMs;
  if (measured === null || current < 0 || target < 0 || app.models.some((m) => m.config === null)) return null;
  try {
    const { estimates } = await app.call("modelCosts", { configs: app.models.map((m) => m.config), measured: [current, measured] });
    const ms = estimates[target]?.ms_per_image ?? null;
    if (ms !== null && ms > TOO_SLOW_MS) {
      return `On this device an image would take about ${milliseconds(ms)} with ${model.name} (${app.modelName} took ${milliseconds(measured)}), too slow for live edits.`;
    }
  } catch (error) {
    app.error("model-choice", `The models' costs could not be estimated (${messageOf(error)})`);
  }
  return null;
}

/** The masthead's picker: hidden when the site offers one model. */
export function mountModelPicker(app: App, engine: Engine): void {
  const box = byId("model-picker");
  if (app.models.length < 2) return;
  const select = h("select", { id: "model-select", "data-testid": "model-select", "aria-label": "Model" });
  for (const model of app.models) select.append(h("option", { value: model.name }, describe(model)));
  select.value = app.modelName;
  const note = h("p", { class: "model-note", "data-testid": "model-note", role: "status" });
  box.replaceChildren(h("label", {}, "Model ", select), note);
  box.hidden = false;

  const switchTo = (model: SiteModel) => {
    note.replaceChildren();
    const url = new URL(location.href);
    url.searchParams.set("model", model.name);
    history.replaceState(null, "", url.href);
    app.error("model-choice", null);
    engine.switchModel(model.name);
  };
  select.addEventListener("change", async () => {
    const model = app.models.find((m) => m.name === select.value);
    if (!model || model.name === app.modelName) {
      note.replaceChildren();
      return;
    }
    const concern = await concernAbout(app, model);
    if (select.value !== model.name) return; // changed again meanwhile
    if (concern === null) {
      switchTo(model);
      return;
    }
    const anyway = h("button", { type: "button", class: "button secondary", "data-testid": "model-anyway" }, "Download it anyway");
    const keep = h("button", { type: "button", class: "link" }, `keep ${app.modelName}`);
    anyway.addEventListener("click", () => switchTo(model));
    keep.addEventListener("click", () => {
      select.value = app.modelName;
      note.replaceChildren();
    });
    note.replaceChildren(concern, " ", anyway, " or ", keep);
  });
}
