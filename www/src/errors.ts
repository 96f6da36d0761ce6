// The error banner: one sentence per source (the model, a link, the webcam, ...), shown until
// its cause is gone. Every user-facing failure of the page ends up here or on its own card.

import { byId, h } from "./ui/dom";

export class ErrorBanner {
  private readonly box = byId("errors");
  private readonly messages = new Map<string, string>();

  /** Show `message` for `source` (already one sentence), or clear it with null. */
  set(source: string, message: string | null): void {
    if (message === null) this.messages.delete(source);
    else this.messages.set(source, message);
    this.box.replaceChildren(...[...this.messages.values()].map((m) => h("p", {}, m)));
    this.box.hidden = this.messages.size === 0;
  }
}
