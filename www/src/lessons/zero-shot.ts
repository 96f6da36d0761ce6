// Lesson: how CLIP classifies without being trained on your classes. Zero-shot is one row of
// the matrix CLIP was trained on: the image's cosine to each label's sentence, times τ, softmaxed.

import type { App } from "../app";
import { h } from "../ui/dom";
import type { LessonPath } from "./path";

export function mountZeroShot(app: App, path: LessonPath): void {
  const dim = h("span", {}, "512");
  const tau = h("span", {}, "100");
  app.on("ready", (info) => {
    dim.textContent = String(info.model.embeddingDim);
    tau.textContent = info.model.logitScale.toFixed(info.model.logitScale >= 10 ? 0 : 2);
  });
  path.add({
    key: "zero-shot",
    title: "Zero-shot: how CLIP classifies without being trained on your classes",
    tryThis: "drop a photo of your own into the gallery, then type labels it has never been trained on.",
    notice: "the probabilities always add up to 100% over your labels: CLIP picks the best of what it is offered, never “none of these”.",
    body: [
      h(
        "ol",
        { class: "explain" },
        h("li", {}, "The ", h("b", {}, "image encoder"), " turns the photo into one vector (", dim, " numbers)."),
        h(
          "li",
          {},
          "Each label is put into a sentence by a ",
          h("b", {}, "prompt template"),
          ": ",
          h("code", {}, "a photo of a {}."),
          " → ",
          h("code", {}, "a photo of a cat."),
          " The ",
          h("b", {}, "text encoder"),
          " turns that sentence into a vector in the same space.",
        ),
        h(
          "li",
          {},
          "Each label's score is the ",
          h("b", {}, "cosine similarity"),
          " between the two vectors times CLIP's learned scale ",
          h("span", { class: "math" }, "τ = ", tau),
          "; a ",
          h("b", {}, "softmax"),
          " over your labels turns the scores into probabilities that sum to 100%.",
        ),
      ),
      h(
        "p",
        {},
        "So the classifier ",
        h("em", {}, "is"),
        " the text you type. The lessons below take it apart in the order of the CLIP paper: the wording, the templates, the temperature, the label set, search, and a classifier trained on examples instead of words.",
      ),
    ],
  });
}
