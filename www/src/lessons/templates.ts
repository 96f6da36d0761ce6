// Lesson: the paper's templates. Any of the CLIP paper's 28 dataset presets (labels and
// templates, from Rust), each template's own probabilities in the cards' heat maps, and ImageNet's
// 1000 classes × 80 templates through the classifier the bundle ships precomputed.

import { type App, messageOf } from "../app";
import { CrashError } from "../client";
import type { PageState, Preset } from "../protocol";
import { h } from "../ui/dom";
import type { LessonPath } from "./path";

/** Beyond this many prompts a preset's labels are not loaded into the editors: encoding them live would take minutes. */
const LIVE_PROMPTS = 2000;

/** A preset's label as the label editor takes it: several names joined by " | ". */
export function labelText(label: string | string[]): string {
  return Array.isArray(label) ? label.join(" | ") : label;
}

export function mountTemplates(app: App, path: LessonPath): void {
  const select = h("select", { id: "preset-select", "data-testid": "preset-select" }, h("option", { value: "" }, "choose a dataset…"));
  const note = h("p", { id: "preset-note", class: "hint", "data-testid": "preset-note" });
  const topToggle = h("input", { id: "preset-top-toggle", "data-keep": "", type: "checkbox", "data-testid": "preset-top-toggle", checked: "" });
  const topSelect = h("select", { id: "preset-top-select", "data-testid": "preset-top-select" });
  const topLine = h(
    "label",
    { id: "preset-top-line", class: "preset-top-line", hidden: "" },
    topToggle,
    " On each image, ImageNet's top 5 of 1000 classes with ",
    topSelect,
  );
  /** A link's preset, applied once the presets are known. */
  let linked: { name: string; labels: boolean; templates: boolean } | null = null;
  const selected = () => app.presets.find((p) => p.name === select.value);

  const showTop = async () => {
    const preset = topSelect.value;
    const ready = app.items.filter((i) => i.embedded);
    if (!app.ready || !topToggle.checked || !preset || !app.classifiers.includes(preset)) {
      for (const item of app.items) item.card.setTop("", null);
      return;
    }
    if (ready.length === 0) return;
    try {
      const result = await app.call("presetTop", { preset, imageIds: ready.map((i) => i.id), k: 5 });
      const title = `ImageNet top 5 (${result.classes} classes × ${result.templates} templates, precomputed)`;
      for (const item of ready) if (app.items.includes(item)) item.card.setTop(title, result.results[item.id] ?? null);
    } catch (error) {
      if (!(error instanceof CrashError)) app.error("preset-top", messageOf(error));
    }
  };

  const load = (preset: Preset) => {
    const prompts = preset.labels.reduce((n, l) => n + (Array.isArray(l) ? l.length : 1), 0) * preset.templates.length;
    app.templates.set(preset.templates);
    const source = `Source: ${preset.source}.`;
    if (prompts <= LIVE_PROMPTS) {
      app.labels.set(preset.labels.map(labelText));
      note.textContent = `${preset.title}: its ${preset.labels.length} classes and ${preset.templates.length} templates are loaded. ${source}`;
      return;
    }
    const precomputed = app.classifiers.includes(preset.name) ? " Its classifier comes precomputed with the model: every image shows its top 5 below." : "";
    note.textContent =
      `${preset.title} has ${preset.labels.length} classes × ${preset.templates.length} templates = ${prompts} prompts, too many to encode live here, ` +
      `so only its templates are loaded, with your labels.${precomputed} ${source}`;
    if (app.classifiers.includes(preset.name)) {
      topSelect.value = preset.name;
      topToggle.checked = true;
      void showTop();
    }
  };

  const applyLinked = () => {
    if (!linked || app.presets.length === 0) return;
    const { name, labels, templates } = linked;
    linked = null;
    const preset = app.presets.find((p) => p.name === name);
    if (!preset) return;
    select.value = preset.name;
    if (labels && templates) load(preset);
    else if (templates) app.templates.set(preset.templates);
    else if (labels) app.labels.set(preset.labels.map(labelText));
  };

  const showClassifiers = () => {
    topSelect.replaceChildren(
      ...app.classifiers.map((name) => {
        const preset = app.presets.find((p) => p.name === name);
        return h("option", { value: name }, preset ? `${preset.templates.length} templates` : name);
      }),
    );
    topLine.hidden = app.classifiers.length === 0;
  };

  app.on("presets", (presets) => {
    select.replaceChildren(
      h("option", { value: "" }, "choose a dataset…"),
      ...presets.map((p) => h("option", { value: p.name }, `${p.title}: ${p.labels.length} classes × ${p.templates.length} template${p.templates.length === 1 ? "" : "s"}`)),
    );
    showClassifiers();
    applyLinked();
  });
  app.on("ready", () => {
    showClassifiers();
    applyLinked();
  });
  app.on("scored", () => void showTop());
  select.addEventListener("change", () => {
    const preset = selected();
    if (preset) load(preset);
    app.settingsChanged();
  });
  topToggle.addEventListener("change", () => void showTop());
  topSelect.addEventListener("change", () => void showTop());

  // In a link the preset stands for its labels and templates: the link stores only what differs.
  app.share({
    save(state: PageState) {
      const preset = selected();
      if (!preset) return;
      state.preset = preset.name;
      if (JSON.stringify(state.labels) === JSON.stringify(preset.labels.map(labelText))) delete state.labels;
      const templates = state.templates ?? [];
      if (templates.every((t) => t.on) && JSON.stringify(templates.map((t) => t.text)) === JSON.stringify(preset.templates)) delete state.templates;
    },
    restore(state: PageState, whole = false) {
      if (!state.preset) {
        if (whole) select.value = "";
        return;
      }
      linked = { name: state.preset, labels: !state.labels, templates: !state.templates };
      applyLinked();
    },
  });

  path.add({
    key: "templates",
    title: "The paper's templates, and ensembles of them",
    tryThis: "choose a dataset below to load the paper's own labels and templates for it, then open “per template” on a card.",
    notice: "each template gives its own answer (the heat map); the ensemble averages the sentence vectors of all of them into one per label, and is usually steadier than any one template.",
    body: [
      h("label", { class: "preset-pick" }, "The CLIP paper's prompts: ", select),
      note,
      topLine,
    ],
  });
}
