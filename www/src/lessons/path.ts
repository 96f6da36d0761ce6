// The lessons as a numbered path in the paper's order, each a collapsible panel with one line
// of "try this" and one of "what to notice", so a teacher can walk a class through them.
// A lesson module builds its own body and adds it here; the number comes from its place.

import { byId, h } from "../ui/dom";

type Child = Node | string;

export interface Lesson {
  /** The panel's class (tests and styles find it by this): "wording", "labelset", ... */
  key: string;
  title: string;
  tryThis: Child | Child[];
  notice: Child | Child[];
  body: Child[];
}

export class LessonPath {
  private readonly list = byId<HTMLOListElement>("lesson-path");
  private count = 0;

  constructor() {
    const toggle = (open: boolean) => {
      for (const details of this.list.querySelectorAll("details")) details.open = open;
    };
    byId("lessons-open").addEventListener("click", () => toggle(true));
    byId("lessons-close").addEventListener("click", () => toggle(false));
  }

  /** Add the next lesson; returns its panel. */
  add(lesson: Lesson): HTMLElement {
    const number = ++this.count;
    const titleId = `lesson-${lesson.key}-title`;
    const list = (c: Child | Child[]) => (Array.isArray(c) ? c : [c]);
    const panel = h(
      "section",
      { class: `panel lesson ${lesson.key}`, "aria-labelledby": titleId, "data-lesson": lesson.key },
      h(
        "details",
        { open: "" },
        h("summary", {}, h("span", { class: "step", "aria-hidden": "true" }, String(number)), h("h2", { id: titleId }, lesson.title)),
        h("p", { class: "try" }, h("b", {}, "Try this: "), ...list(lesson.tryThis)),
        h("p", { class: "notice" }, h("b", {}, "What to notice: "), ...list(lesson.notice)),
        ...lesson.body,
      ),
    );
    this.list.append(h("li", {}, panel));
    return panel;
  }
}
