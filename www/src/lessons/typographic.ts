// Lesson: CLIP reads. "Write on it" draws a word onto a copy of any card's image (in a canvas,
// in the browser) and the copy is classified beside the original: a typographic attack. The
// preset replays the classic case, an apple with "iPod" written on it.

import { type App, type Item, messageOf } from "../app";
import type { Gallery } from "../gallery";
import { bestIndex, h, percent } from "../ui/dom";
import type { LessonPath } from "./path";

const SIZES = { small: 0.1, medium: 0.16, large: 0.24 } as const;
const COLOURS = { black: "#111111", white: "#ffffff", red: "#d62828", blue: "#1d4ed8" } as const;
const PLACES = { top: 0.2, middle: 0.5, bottom: 0.8 } as const;
/** Longest word accepted: a label, not an essay. */
const MAX_TEXT = 40;

interface Attack {
  original: Item;
  written: Item;
  text: string;
}

export function mountTypographic(app: App, path: LessonPath, gallery: Gallery): void {
  const target = h("select", { id: "write-target", "data-testid": "write-target", "aria-label": "image to write on" });
  const word = h("input", { id: "write-text", "data-keep": "", "data-testid": "write-text", type: "text", maxlength: String(MAX_TEXT), placeholder: "a word, e.g. iPod", spellcheck: "false" });
  const size = h("select", { id: "write-size", "data-keep": "", "data-testid": "write-size" }, ...Object.keys(SIZES).map((s) => h("option", { value: s, selected: s === "medium" ? "" : undefined }, s)));
  const colour = h("select", { id: "write-colour", "data-keep": "", "data-testid": "write-colour" }, ...Object.keys(COLOURS).map((c) => h("option", { value: c }, c)));
  const place = h("select", { id: "write-place", "data-keep": "", "data-testid": "write-place" }, ...Object.keys(PLACES).map((p) => h("option", { value: p, selected: p === "middle" ? "" : undefined }, p)));
  const write = h("button", { type: "button", class: "button", "data-testid": "write-go" }, "Write it");
  const classic = h("button", { type: "button", class: "button secondary", "data-testid": "write-classic" }, "The classic: an apple labelled “iPod”");
  const message = h("p", { class: "muted small", "data-testid": "write-message", role: "status" });
  const list = h("ul", { class: "attacks", "data-testid": "attacks" });
  const attacks: Attack[] = [];
  let panel: HTMLElement | null = null;

  const refreshTargets = () => {
    const chosen = target.value;
    const usable = app.items.filter((i) => !i.failed);
    target.replaceChildren(...usable.map((i) => h("option", { value: i.id }, i.name)));
    if (usable.some((i) => i.id === chosen)) target.value = chosen;
  };

  const top = (item: Item) => {
    const z = item.zeroShot;
    if (!z) return "…";
    const i = bestIndex(z.probs);
    return `${z.labels[i]} ${percent(z.probs[i] ?? 0)}`;
  };

  const drawList = () => {
    list.replaceChildren(
      ...attacks
        .filter((a) => app.items.includes(a.original) && app.items.includes(a.written))
        .map((a) =>
          h(
            "li",
            { "data-original": a.original.name, "data-written": a.written.name, "data-top-original": topLabel(a.original), "data-top-written": topLabel(a.written) },
            h("img", { src: a.original.url, alt: a.original.name }),
            h("span", {}, `${top(a.original)}`),
            h("span", { class: "arrow", "aria-hidden": "true" }, " → "),
            h("img", { src: a.written.url, alt: a.written.name }),
            h("span", {}, h("strong", {}, `with “${a.text}”: `), top(a.written)),
          ),
        ),
    );
  };

  const attack = async (original: Item, text: string): Promise<void> => {
    const trimmed = text.trim();
    if (trimmed === "") return fail("Type a word to write on the image.");
    if (trimmed.length > MAX_TEXT) return fail(`Keep it to ${MAX_TEXT} characters: a word or two.`);
    let blob: Blob;
    try {
      blob = await written(original.blob, trimmed, SIZES[size.value as keyof typeof SIZES], COLOURS[colour.value as keyof typeof COLOURS], PLACES[place.value as keyof typeof PLACES]);
    } catch (error) {
      return fail(messageOf(error));
    }
    message.textContent = `Wrote “${trimmed}” on ${original.name}; the copy is in the gallery.`;
    const base = original.name.replace(/\.[a-z0-9]+$/i, "");
    const copy = gallery.add(`${base} + ${trimmed}.png`, blob, false, original.card.trueLabel, original.card.domain);
    copy.derivedFrom = { item: original, text: trimmed };
    attacks.push({ original, written: copy, text: trimmed });
    drawList();
  };

  const fail = (text: string) => {
    message.textContent = text;
    message.classList.add("error");
  };

  write.addEventListener("click", () => {
    message.classList.remove("error");
    const original = app.items.find((i) => i.id === target.value);
    if (!original) return fail("Pick an image to write on (add one first).");
    void attack(original, word.value);
  });
  classic.addEventListener("click", async () => {
    message.classList.remove("error");
    // The labelled set's first apple, and labels that include what will be written on it.
    app.labels.set(["apple", "iPod", "pizza", "toaster", "library"]);
    let apple = app.items.find((i) => i.name === "apple-1.png" && !i.failed);
    if (!apple) {
      try {
        const response = await fetch(new URL("examples/labelled/apple-1.png", location.href));
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        apple = gallery.add("apple-1.png", await response.blob(), true, "apple", "drawing");
      } catch (error) {
        return fail(`The example apple could not be loaded (${messageOf(error)}).`);
      }
    }
    word.value = "iPod";
    size.value = "large";
    colour.value = "black";
    place.value = "middle";
    refreshTargets();
    target.value = apple.id;
    await attack(apple, "iPod");
  });

  app.on("write", (item) => {
    refreshTargets();
    target.value = item.id;
    const details = panel?.querySelector("details");
    if (details) details.open = true;
    panel?.scrollIntoView({ behavior: "smooth", block: "start" });
    word.focus();
  });
  app.on("embedded", refreshTargets);
  app.on("removed", () => {
    refreshTargets();
    drawList();
  });
  app.on("scored", drawList);

  panel = path.add({
    key: "typographic",
    title: "CLIP reads: typographic attacks",
    tryThis: "press the classic, or “write on it” on any card: type a word (a label, or another class's name), choose size, colour and place.",
    notice: [
      "a word on the object can outweigh the object. CLIP learned from captions of images found on the web, where the text in a picture often ",
      h("em", {}, "is"),
      " its caption, so reading pays in training; OpenAI's multimodal-neurons study found the same neurons fire for a thing, its picture and its written name.",
    ],
    body: [
      h("p", { class: "probe-controls" }, classic),
      h(
        "p",
        { class: "write-controls" },
        h("label", {}, "Write on ", target),
        " ",
        h("label", {}, "the word ", word),
        " ",
        h("label", {}, "size ", size),
        " ",
        h("label", {}, "colour ", colour),
        " ",
        h("label", {}, "place ", place),
        " ",
        write,
      ),
      message,
      list,
    ],
  });
}

function topLabel(item: Item): string {
  const z = item.zeroShot;
  return z ? (z.labels[bestIndex(z.probs)] ?? "") : "";
}

/** `image` with `text` drawn across it, `size` a fraction of its height, centred at `place` (a
 * fraction of the height down), in `colour` with a contrasting outline; refused when it does not fit. */
async function written(image: Blob, text: string, size: number, colour: string, place: number): Promise<Blob> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(image);
  } catch {
    throw new Error("This image could not be opened for writing on");
  }
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  if (!context) throw new Error("This browser cannot draw on images (no 2D canvas)");
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const pixels = Math.max(8, Math.round(canvas.height * size));
  context.font = `bold ${pixels}px system-ui, sans-serif`;
  const width = context.measureText(text).width;
  if (width > canvas.width * 0.96) {
    throw new Error(`“${text}” does not fit across this image at that size: choose a smaller size or a shorter word`);
  }
  context.textAlign = "center";
  context.textBaseline = "middle";
  context.lineJoin = "round";
  context.lineWidth = Math.max(2, pixels / 8);
  context.strokeStyle = colour === "#ffffff" ? "#111111" : "#ffffff";
  const x = canvas.width / 2;
  const y = Math.min(canvas.height - pixels / 2, Math.max(pixels / 2, canvas.height * place));
  context.strokeText(text, x, y);
  context.fillStyle = colour;
  context.fillText(text, x, y);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("The written image could not be encoded"))), "image/png"),
  );
}
