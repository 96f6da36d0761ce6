// "Save session" / "Open session": the whole page in one file a teacher can hand to a class:
// the images (their bytes as dropped), each card's true label, caption, kind and training tick,
// the settings a link carries (labels, templates and their ticks, preset, τ, A/B, C: encoded and
// checked by Rust, crate/src/share.rs) and the lessons' own controls (those marked data-keep).
// Images leave the device only inside the file the visitor saves.
//
// Opening is strict and bounded, like a link: the whole file is checked before anything
// changes (its size, known fields only, every value's type and length, Rust's check of the
// settings); a file that fails is refused in one sentence and the page stays as it was. The
// images then go through the same decoder as an upload, so a damaged one fails on its card.

import { type App, messageOf } from "./app";
import { CrashError } from "./client";
import type { Gallery } from "./gallery";
import type { PageState } from "./protocol";
import { DOMAINS, type Domain } from "./ui/card";
import { byId, download, today } from "./ui/dom";

const FORMAT = "clip-zero-shot-session";
const VERSION = 1;
/** Limits of a session file (stated in the README's teacher section). */
export const MAX_SESSION_BYTES = 64 * 1024 * 1024;
export const MAX_SESSION_IMAGES = 200;
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
const MAX_TEXT = 300;
const MAX_SETTINGS_CHARS = 16 * 1024;
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", ""];

interface SessionImage {
  name: string;
  type: string;
  /** The file's bytes, base64. */
  data: string;
  label: string | null;
  caption: string;
  domain: Domain;
  train: boolean;
  example: boolean;
}

interface SessionFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  saved: string;
  /** The settings as a link's fragment (crate/src/share.rs), "" for the defaults. */
  settings: string;
  /** The lessons' controls by element id. */
  lessons: Record<string, string | boolean>;
  images: SessionImage[];
}

/** Mount the save and open buttons; returns `open`, for files dropped on the page. */
export function mountSession(app: App, gallery: Gallery): (file: File) => Promise<void> {
  const status = byId("session-status");
  const picker = byId<HTMLInputElement>("session-input");
  const say = (text: string) => (status.textContent = text);

  byId("session-save").addEventListener("click", async () => {
    try {
      const session = await save(app);
      const text = JSON.stringify(session);
      download(`clip-session-${today()}.json`, new Blob([text], { type: "application/json" }));
      say(`Saved ${session.images.length} image${session.images.length === 1 ? "" : "s"} with the labels, templates and lesson settings (${(text.length / 1e6).toFixed(1)} MB).`);
      app.error("session", null);
    } catch (error) {
      if (!(error instanceof CrashError)) app.error("session", `The session could not be saved: ${messageOf(error)}`);
    }
  });

  const open = async (file: File) => {
    try {
      const session = await read(app, file);
      apply(app, gallery, session);
      app.error("session", null);
      say(`Opened ${file.name}: ${session.images.length} image${session.images.length === 1 ? "" : "s"}.`);
    } catch (error) {
      if (error instanceof CrashError) return;
      app.error("session", `The file ${file.name} was not opened, and your session is unchanged: ${messageOf(error)}`);
    }
  };
  picker.addEventListener("change", () => {
    const file = picker.files?.[0];
    picker.value = "";
    if (file) void open(file);
  });
  return open;
}

/** A dropped file that is a session rather than an image. */
export function isSessionFile(file: File): boolean {
  return file.type === "application/json" || file.name.toLowerCase().endsWith(".json");
}

async function save(app: App): Promise<SessionFile> {
  const state: PageState = {};
  for (const part of app.shareables) part.save(state);
  let settings: string;
  try {
    settings = (await app.call("encodeState", { state })).fragment;
  } catch (error) {
    if (error instanceof CrashError) throw error;
    throw new Error(`its settings are too big (${messageOf(error)})`);
  }
  const lessons: Record<string, string | boolean> = {};
  for (const control of keptControls()) lessons[control.id] = control instanceof HTMLInputElement && control.type === "checkbox" ? control.checked : control.value;
  const images = await Promise.all(
    app.items.map(async (item): Promise<SessionImage> => ({
      name: item.name,
      type: IMAGE_TYPES.includes(item.blob.type) ? item.blob.type : "",
      data: await base64Of(item.blob),
      label: item.card.trueLabel,
      caption: item.card.caption,
      domain: item.card.domain,
      train: item.card.training,
      example: item.example,
    })),
  );
  return { format: FORMAT, version: VERSION, saved: new Date().toISOString(), settings, lessons, images };
}

/** The lessons' controls a session keeps. */
function keptControls(): (HTMLInputElement | HTMLSelectElement)[] {
  return [...document.querySelectorAll<HTMLInputElement | HTMLSelectElement>("[data-keep][id]")];
}

/** Read and check the whole file; throws one sentence's reason. Changes nothing. */
async function read(app: App, file: File): Promise<SessionFile & { state: PageState; bytes: Uint8Array<ArrayBuffer>[] }> {
  if (file.size > MAX_SESSION_BYTES) throw new Error(`it is ${(file.size / 1e6).toFixed(0)} MB, more than the ${MAX_SESSION_BYTES / (1024 * 1024)} MB a session file may be`);
  let value: unknown;
  try {
    value = JSON.parse(await file.text());
  } catch {
    throw new Error("it is not a session file (it is not JSON)");
  }
  const session = check(value);
  const bytes = session.images.map((image) => {
    const decoded = fromBase64(image.data);
    if (decoded === null) throw new Error(`the image ${image.name} is not valid base64`);
    if (decoded.byteLength > MAX_IMAGE_BYTES) throw new Error(`the image ${image.name} is larger than ${MAX_IMAGE_BYTES / (1024 * 1024)} MB`);
    return decoded;
  });
  let state: PageState = {};
  if (session.settings !== "") {
    try {
      state = await app.call("parseState", { fragment: session.settings });
    } catch (error) {
      if (error instanceof CrashError) throw error;
      throw new Error(`its settings are not valid (${messageOf(error)})`);
    }
  }
  return { ...session, state, bytes };
}

/** Known fields only, each of its type and within its bounds. */
function check(value: unknown): SessionFile {
  const fail = (why: string): never => {
    throw new Error(`it is not a valid session file (${why})`);
  };
  const object = (v: unknown, what: string, keys: string[]): Record<string, unknown> => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(`${what} is not an object`);
    const unknown = Object.keys(v as object).filter((k) => !keys.includes(k));
    if (unknown.length > 0) fail(`${what} has an unknown field "${unknown[0]!.slice(0, 40)}"`);
    return v as Record<string, unknown>;
  };
  const text = (v: unknown, what: string, max = MAX_TEXT): string => {
    if (typeof v !== "string") fail(`${what} is not text`);
    if ((v as string).length > max) fail(`${what} is longer than ${max} characters`);
    return v as string;
  };
  const flag = (v: unknown, what: string): boolean => (typeof v === "boolean" ? v : fail(`${what} is not true or false`));

  const top = object(value, "the file", ["format", "version", "saved", "settings", "lessons", "images"]);
  if (top.format !== FORMAT) fail(`its format is not "${FORMAT}"`);
  if (top.version !== VERSION) fail(`version ${String(top.version).slice(0, 20)} is not one this page reads (${VERSION})`);
  const saved = top.saved === undefined ? "" : text(top.saved, "saved", 64);
  const settings = top.settings === undefined ? "" : text(top.settings, "settings", MAX_SETTINGS_CHARS);
  const lessons: Record<string, string | boolean> = {};
  const kept = new Set(keptControls().map((c) => c.id));
  for (const [id, v] of Object.entries(object(top.lessons ?? {}, "lessons", [...kept]))) {
    lessons[id] = typeof v === "boolean" ? v : text(v, `the lesson setting ${id}`);
  }
  if (!Array.isArray(top.images)) fail("images is not a list");
  const list = top.images as unknown[];
  if (list.length > MAX_SESSION_IMAGES) fail(`it has ${list.length} images, more than ${MAX_SESSION_IMAGES}`);
  const images = list.map((v, i): SessionImage => {
    const image = object(v, `image ${i + 1}`, ["name", "type", "data", "label", "caption", "domain", "train", "example"]);
    const name = text(image.name, `the name of image ${i + 1}`, 200);
    if (name.trim() === "") fail(`image ${i + 1} has no name`);
    const type = text(image.type ?? "", `the type of ${name}`, 40);
    if (!IMAGE_TYPES.includes(type)) fail(`${name} has the type "${type}", not an image type`);
    const domain = image.domain ?? "photo";
    if (!DOMAINS.includes(domain as Domain)) fail(`${name} has the kind "${String(domain).slice(0, 20)}"`);
    return {
      name,
      type,
      data: text(image.data, `the data of ${name}`, Math.ceil(MAX_IMAGE_BYTES / 3) * 4),
      label: image.label === null || image.label === undefined ? null : text(image.label, `the true label of ${name}`),
      caption: image.caption === undefined ? "" : text(image.caption, `the caption of ${name}`),
      domain: domain as Domain,
      train: image.train === undefined ? false : flag(image.train, `the training tick of ${name}`),
      example: image.example === undefined ? false : flag(image.example, `the example mark of ${name}`),
    };
  });
  return { format: FORMAT, version: VERSION, saved, settings, lessons, images };
}

/** Replace the page's session with a checked one. */
function apply(app: App, gallery: Gallery, session: SessionFile & { state: PageState; bytes: Uint8Array<ArrayBuffer>[] }): void {
  gallery.removeAll();
  for (const part of app.shareables) part.restore(session.state, true);
  for (const control of keptControls()) {
    const value = session.lessons[control.id];
    if (value === undefined) continue;
    if (control instanceof HTMLInputElement && control.type === "checkbox") control.checked = value === true;
    else if (typeof value === "string") control.value = value;
    control.dispatchEvent(new Event("input", { bubbles: true }));
    control.dispatchEvent(new Event("change", { bubbles: true }));
  }
  app.textChanged();
  session.images.forEach((image, i) => {
    const item = gallery.add(image.name, new Blob([session.bytes[i]!], { type: image.type }), image.example, image.label, image.domain);
    if (image.caption) {
      item.card.setCaption(image.caption);
      app.emit("caption", item);
    }
    if (image.train) {
      item.card.setTraining(true);
      app.emit("training", item);
    }
  });
}

async function base64Of(blob: Blob): Promise<string> {
  const url = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new Error("an image could not be read"));
    reader.readAsDataURL(blob);
  });
  return url.slice(url.indexOf(",") + 1);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
