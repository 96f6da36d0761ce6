// Ways in for images: the file picker, drag and drop, paste, a webcam snapshot, and the example
// photos the page opens with. Each one hands a Blob to the gallery (a dropped session file goes to
// session.ts); nothing leaves the browser.

import { type App, messageOf } from "./app";
import type { Gallery } from "./gallery";
import { isSessionFile } from "./session";
import { byId, h } from "./ui/dom";

const EXAMPLES = ["chelsea.jpg", "astronaut.jpg", "coffee.jpg", "rocket.jpg"];

/** `openSession`: what a session file dropped on the page goes to (session.ts). */
export function mountInputs(app: App, gallery: Gallery, openSession: (file: File) => Promise<void>): void {
  const fileInput = byId<HTMLInputElement>("file-input");
  fileInput.addEventListener("change", () => {
    for (const file of fileInput.files ?? []) gallery.add(file.name, file);
    fileInput.value = "";
  });
  acceptDrops(gallery, openSession);
  acceptPastes(gallery);
  mountWebcam(app, gallery);
}

function acceptDrops(gallery: Gallery, openSession: (file: File) => Promise<void>): void {
  let depth = 0;
  document.addEventListener("dragenter", (e) => {
    if (!e.dataTransfer?.types.includes("Files")) return;
    depth++;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) document.body.classList.remove("dragging");
  });
  document.addEventListener("dragover", (e) => {
    if (e.dataTransfer?.types.includes("Files")) e.preventDefault();
  });
  document.addEventListener("drop", (e) => {
    depth = 0;
    document.body.classList.remove("dragging");
    const files = e.dataTransfer?.files;
    if (!files || files.length === 0) return;
    e.preventDefault();
    for (const file of files) {
      if (isSessionFile(file)) void openSession(file);
      else gallery.add(file.name, file);
    }
  });
}

function acceptPastes(gallery: Gallery): void {
  let pasted = 0;
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length === 0) return; // plain text goes into the focused input as usual
    e.preventDefault();
    for (const file of files) {
      pasted++;
      gallery.add(file.name && file.name !== "image.png" ? file.name : `pasted-${pasted}.png`, file);
    }
  });
}

function mountWebcam(app: App, gallery: Gallery): void {
  const open = byId<HTMLButtonElement>("webcam-open");
  const panel = byId("webcam");
  const video = byId<HTMLVideoElement>("webcam-video");
  let stream: MediaStream | null = null;
  let snapshots = 0;
  if (typeof navigator.mediaDevices?.getUserMedia !== "function") {
    open.hidden = true; // no camera API here (e.g. an insecure context)
    return;
  }
  open.addEventListener("click", async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 } }, audio: false });
    } catch (error) {
      app.error("webcam", `The webcam could not be opened (${messageOf(error)})`);
      return;
    }
    app.error("webcam", null);
    video.srcObject = stream;
    panel.hidden = false;
  });
  byId("webcam-snap").addEventListener("click", () => {
    const canvas = h("canvas", { width: String(video.videoWidth), height: String(video.videoHeight) });
    canvas.getContext("2d")?.drawImage(video, 0, 0);
    canvas.toBlob((blob) => {
      if (blob) gallery.add(`webcam-${++snapshots}.png`, blob);
      else app.error("webcam", "The webcam snapshot could not be taken");
    }, "image/png");
  });
  byId("webcam-close").addEventListener("click", () => {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    video.srcObject = null;
    panel.hidden = true;
  });
}

/** The example photos the page opens with. */
export async function loadExamples(app: App, gallery: Gallery): Promise<void> {
  const fetched = await Promise.all(
    EXAMPLES.map(async (name) => {
      try {
        return { name, blob: await fetchBlob(`examples/${name}`) };
      } catch (error) {
        app.error("examples", `The example photo ${name} could not be loaded (${messageOf(error)})`);
        return null;
      }
    }),
  );
  for (const example of fetched) if (example) gallery.add(example.name, example.blob, true);
}

/** The example sets with true labels: CC0 clip art of 6 labels (tests/make_labelled_set.py), and
 * drawings beside photos of 4 labels for the distribution-shift lesson (tests/make_domain_set.py). */
const SETS = {
  labelled: { dir: "examples/labelled/", index: "labelled.json", what: "labelled example set" },
  domains: { dir: "examples/domains/", index: "domains.json", what: "photos-and-drawings set" },
} as const;

export type ExampleSet = keyof typeof SETS;

/** Load an example set: its labels, and each image with its true label and domain. */
export async function loadLabelledSet(app: App, gallery: Gallery, which: ExampleSet = "labelled"): Promise<void> {
  const source = SETS[which];
  let set: { labels: string[]; images: { file: string; label: string; domain?: "photo" | "drawing" }[] };
  try {
    const response = await fetch(new URL(source.dir + source.index, location.href));
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    set = (await response.json()) as typeof set;
  } catch (error) {
    app.error("examples", `The ${source.what} could not be loaded (${messageOf(error)})`);
    return;
  }
  app.labels.set(set.labels);
  await Promise.all(
    set.images.map(async ({ file, label, domain }) => {
      if (app.items.some((i) => i.example && i.name === file)) return; // loaded already
      try {
        gallery.add(file, await fetchBlob(source.dir + file), true, label, domain ?? "drawing");
      } catch (error) {
        app.error("examples", `The example ${file} could not be loaded (${messageOf(error)})`);
      }
    }),
  );
}

/** A button that loads an example set (the lessons that need true labels each offer one). */
export function labelledSetButton(app: App, gallery: Gallery, which: ExampleSet = "labelled"): HTMLButtonElement {
  const text = which === "labelled" ? "Load the labelled example set" : "Load photos and drawings";
  const button = h("button", { type: "button", class: "button secondary", "data-testid": `load-${which}` }, text);
  button.addEventListener("click", () => void loadLabelledSet(app, gallery, which));
  return button;
}

async function fetchBlob(path: string): Promise<Blob> {
  const response = await fetch(new URL(path, location.href));
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.blob();
}

