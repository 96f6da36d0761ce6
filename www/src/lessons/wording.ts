// Lesson: wording matters. One image, the bare label against "a photo of a {}.": CLIP learned
// from captions, and a caption-like sentence often beats the bare word.

import type { App, Item } from "../app";
import { CrashError, SupersededError } from "../client";
import type { ClassifyResult } from "../protocol";
import { BarList } from "../ui/bars";
import { h, percent } from "../ui/dom";
import type { LessonPath } from "./path";

const BARE = "{}";
const PHOTO = "a photo of a {}.";

export function mountWording(app: App, path: LessonPath): void {
  const bars = { bare: new BarList("bars compact"), photo: new BarList("bars compact") };
  const thumb = h("img", { id: "compare-thumb", alt: "", hidden: "" });
  const subject = h("p", { id: "compare-subject", class: "compare-subject" });
  const verdict = h("figcaption", { id: "compare-verdict", class: "compare-verdict" });
  let generation = 0;

  const clear = () => {
    bars.bare.clear();
    bars.photo.clear();
    verdict.textContent = "";
  };

  const classify = async () => {
    const item = app.subject;
    if (!app.ready || !item || !item.embedded) return;
    const asked = ++generation;
    const labels = app.labelValues();
    const ask = (channel: string, template: string) =>
      app.call("classify", { channel, generation: asked, imageIds: [item.id], labels, templates: [template], ...app.scaleParam() });
    let bare: ClassifyResult;
    let photo: ClassifyResult;
    try {
      [bare, photo] = await Promise.all([ask("compare-bare", BARE), ask("compare-photo", PHOTO)]);
    } catch (error) {
      if (error instanceof SupersededError || error instanceof CrashError || asked !== generation) return;
      clear(); // the labels are wrong (the gallery shows why): no numbers from before the edit stay up
      return;
    }
    if (asked !== generation || app.subject !== item) return;
    const b = bare.scores[item.id];
    const p = photo.scores[item.id];
    if (!b || !p) return;
    bars.bare.update(bare.labels, b.probs, b.cosine, app.tau);
    bars.photo.update(photo.labels, p.probs, p.cosine, app.tau);
    // The label whose probability moves most between the two wordings (display arithmetic only).
    let most = 0;
    bare.labels.forEach((_, i) => {
      if (Math.abs((p.probs[i] ?? 0) - (b.probs[i] ?? 0)) > Math.abs((p.probs[most] ?? 0) - (b.probs[most] ?? 0))) most = i;
    });
    const label = bare.labels[most];
    verdict.textContent =
      label === undefined ? "" : `Only the wording changed, yet “${label}” goes from ${percent(b.probs[most] ?? 0)} to ${percent(p.probs[most] ?? 0)}.`;
  };

  const show = (item: Item | null) => {
    if (!item) {
      subject.textContent = "Add an image to compare the two wordings on it.";
      thumb.hidden = true;
      clear();
      return;
    }
    thumb.src = item.url;
    thumb.alt = item.name;
    thumb.hidden = false;
    subject.textContent = `Image: ${item.name}`;
    void classify();
  };

  app.on("subject", show);
  app.on("text", () => void classify());
  app.on("embedded", (item) => {
    if (item === app.subject) void classify();
  });
  show(app.subject);

  path.add({
    key: "wording",
    title: "Wording matters",
    tryThis: "press “compare wording” on any card, or change the labels, and compare the two columns.",
    notice: "the image and its vector are the same on both sides; only the sentence around the label changed. CLIP learned from captions, so a caption-like sentence often beats the bare word.",
    body: [
      h(
        "figure",
        { class: "compare" },
        h("div", { class: "compare-head" }, thumb, subject),
        h(
          "div",
          { class: "compare-cols" },
          h("div", {}, h("h3", {}, "Bare label ", h("code", {}, BARE)), h("div", { id: "compare-bare" }, bars.bare.element)),
          h("div", {}, h("h3", {}, "Template ", h("code", {}, PHOTO)), h("div", { id: "compare-photo" }, bars.photo.element)),
        ),
        verdict,
      ),
    ],
  });
}
