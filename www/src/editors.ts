// The core loop's controls: the label and template editors, the template sets to start from,
// and how many prompts the text tower gets from them.

import type { App } from "./app";
import type { PageState } from "./protocol";
import { byId, h } from "./ui/dom";

const DEFAULT_LABELS = ["cat", "astronaut", "cup of coffee", "rocket"];
const BARE = "{}";
const PHOTO = "a photo of a {}.";

/** Template sets to start from; the ensemble is the paper's preset, so its templates come from Rust. */
const STARTS: { name: string; templates: string[] | { preset: string } }[] = [
  { name: "bare label", templates: [BARE] },
  { name: "a photo of a {}.", templates: [PHOTO] },
  // The subset of the 80 ImageNet templates that the CLIP authors' notebook found to work best together.
  { name: "CLIP's 7-template ensemble", templates: { preset: "imagenet-7" } },
];

export function mountEditors(app: App): void {
  byId("labels").append(app.labels.element);
  byId("templates").append(app.templates.element);
  mountStarts(app);
  const count = byId("prompt-count");
  const showCount = () => {
    const l = app.labelValues().length;
    const t = app.templateValues().length;
    count.textContent = `${l} label${l === 1 ? "" : "s"} × ${t} template${t === 1 ? "" : "s"} = ${l * t} prompt${l * t === 1 ? "" : "s"} for the text tower.`;
  };
  app.on("settings", showCount);
  app.share({
    save(state: PageState) {
      state.labels = app.labels.entries().map((e) => e.value);
      state.templates = app.templates.entries().map((e) => ({ text: e.value, on: e.on }));
    },
    restore(state: PageState) {
      if (state.labels) app.labels.set(state.labels);
      if (state.templates) {
        app.templates.set(state.templates.map((t) => t.text));
        for (const t of state.templates) if (!t.on) app.templates.setOn(t.text, false);
      }
    },
  });
  app.labels.set(DEFAULT_LABELS);
  app.templates.set([PHOTO]);
}

function mountStarts(app: App): void {
  const box = byId("presets");
  for (const start of STARTS) {
    const templates = () => {
      const t = start.templates;
      return Array.isArray(t) ? t : (app.presets.find((p) => p.name === t.preset)?.templates ?? []);
    };
    const button = h("button", { type: "button", class: "chip" }, start.name);
    const describe = () => (button.title = templates().join("\n"));
    describe();
    app.on("presets", describe);
    button.addEventListener("click", () => {
      const list = templates();
      if (list.length > 0) app.templates.set(list);
    });
    box.append(button);
  }
}
