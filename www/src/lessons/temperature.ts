// Lesson: the softmax temperature. Probabilities are softmax(τ · cosine); CLIP learned τ. The
// slider is logarithmic, from 1 to 1000; the cosines never change.

import type { App } from "../app";
import type { PageState } from "../protocol";
import { h } from "../ui/dom";
import type { LessonPath } from "./path";

/** The slider's position (0–1000) → τ, rounded to two decimals. */
function sliderToScale(position: number): number {
  return Math.round(10 ** ((3 * position) / 1000) * 100) / 100;
}

export function mountTemperature(app: App, path: LessonPath): void {
  const slider = h("input", { id: "scale", "data-testid": "scale", type: "range", min: "0", max: "1000", step: "1" });
  const value = h("output", { id: "scale-value", "data-testid": "scale-value" });
  const reset = h("button", { id: "scale-reset", type: "button", class: "link" }, "back to the model's τ");

  const show = () => {
    const tau = app.tau ?? 100;
    slider.value = String(Math.round((Math.log10(Math.max(1, tau)) / 3) * 1000));
    value.textContent = `${tau.toFixed(tau >= 10 ? 0 : 2)}${app.scale === null ? " (the model's)" : ""}`;
    slider.dataset.scale = String(tau);
  };

  slider.addEventListener("input", () => {
    app.setScale(sliderToScale(Number(slider.value)));
    show();
  });
  slider.addEventListener("change", () => app.settingsChanged());
  reset.addEventListener("click", () => {
    app.setScale(null);
    show();
  });
  app.on("ready", show);
  app.share({
    save(state: PageState) {
      if (app.scale !== null) state.scale = app.scale;
    },
    restore(state: PageState, whole = false) {
      if (state.scale === undefined && !whole) return;
      app.scale = state.scale ?? null; // the link's restore classifies once for every part
      show();
    },
  });
  show();

  path.add({
    key: "softmax",
    title: "The softmax temperature",
    tryThis: "drag τ down towards 1, then up towards 1000, and watch the bars on every card.",
    notice: "the order of the labels never changes and neither do the cosines (the small numbers beside the bars); τ only decides how sure the answer looks. CLIP learned its τ in training.",
    body: [
      h("p", { class: "hint" }, "Probabilities are softmax(τ · cosine). Lower τ and the answer flattens, raise it and it sharpens."),
      h("label", { class: "scale-line" }, "τ ", slider, " ", value),
      reset,
    ],
  });
}
