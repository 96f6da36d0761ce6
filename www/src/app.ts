// The page's state in one place: what the visitor set up (labels, templates, τ, the gallery's
// images with their true labels and training ticks) and what the engine reported (the model,
// the presets). Lessons read it and subscribe to its changes; each part has one writer: the
// editors own the labels and templates, the gallery owns its items, the temperature lesson τ.

import { CrashError, SupersededError } from "./client";
import type { Api, InitResult, LabelledImage, Method, ModelInfo, PageState, Preset, SiteModel } from "./protocol";
import { hasPlaceholder } from "./protocol";
import type { Card, Domain } from "./ui/card";
import { sentence } from "./ui/dom";
import { ListEditor } from "./ui/list-editor";

/** Edits are classified once typing pauses this long. */
export const DEBOUNCE_MS = 150;

/** One image of the gallery. */
export interface Item {
  id: string;
  name: string;
  blob: Blob;
  url: string;
  example: boolean;
  /** Its embedding is in the worker (and stays there until it is forgotten or the worker restarts). */
  embedded: boolean;
  /** It could not be classified (not an image, or it stopped the classifier): left out of everything. */
  failed: boolean;
  card: Card;
  /** Where the image came from: "write on it" copies name their original. */
  derivedFrom?: { item: Item; text: string };
  /** The gallery's last zero-shot answer for this image (labels in the editor's order). */
  zeroShot: ZeroShot | null;
}

/** One image's zero-shot answer, as Rust gave it. */
export interface ZeroShot {
  /** As typed in the editor (what lessons compare with `labelValues()`). */
  labels: string[];
  /** As Rust echoed them: the classes and templates the numbers are for. */
  classes: string[];
  templates: string[];
  probs: number[];
  cosine: number[];
  /** Each template's own probabilities, `[template][label]`. */
  perTemplate: number[][] | null;
}

/** Why the engine stopped, for the gallery to mark its cards. */
export interface Stop {
  /** The image whose request was in flight, when one was: it is left out. */
  culprit: Item | null;
  message: string;
  /** No restart follows: the page stays as it is, without a classifier. */
  fatal: boolean;
}

/** What can happen, and what each event carries. */
interface Events {
  /** Labels, templates, τ or a lesson's setting changed: at once (the prompt count, the link). */
  settings: undefined;
  /** Labels, templates or τ changed, debounced: time to classify again. */
  text: undefined;
  /** The model is loaded (again, after a restart). */
  ready: InitResult;
  /** The engine stopped; with `fatal` false a new one is starting. */
  stopped: Stop;
  /** A new engine was started after a stop: everything it needs must be sent again. */
  restarted: undefined;
  /** The paper's presets arrived from Rust (before any model loads). */
  presets: Preset[];
  /** A gallery image's embedding is in the worker. */
  embedded: Item;
  /** An image left the gallery. */
  removed: Item;
  /** The gallery's zero-shot answers are in: every card's `zeroShot` is current. */
  scored: undefined;
  /** A card's true label, or its "train" tick, changed. */
  truth: Item;
  training: Item;
  /** "find similar" on a card: rank the gallery by its likeness to this image. */
  similar: Item;
  /** The image the wording and label-set lessons show changed. */
  subject: Item | null;
  /** A card's caption or domain was edited. */
  caption: Item;
  domain: Item;
  /** "write on it" on a card. */
  write: Item;
}

type Listener<E extends keyof Events> = (value: Events[E]) => void;

/** One part of the page's shareable settings (crate/src/share.rs checks and encodes the whole). */
export interface Shareable {
  /** Add this part's settings to a state about to become a link. Parts save in mount order. */
  save(state: PageState): void;
  /** Apply a link's settings: only the fields the link has. `whole` (a session file): the state
   * is complete, so a field it lacks goes back to its default. */
  restore(state: PageState, whole?: boolean): void;
}

/** The engine as the page sees it: typed calls to the worker. */
export interface Caller {
  call<M extends Method>(method: M, params: Api[M]["params"], transfer?: Transferable[]): Promise<Api[M]["result"]>;
}

export class App {
  readonly params = new URLSearchParams(location.search);
  readonly labels: ListEditor;
  readonly templates: ListEditor;
  /** The gallery's images, in the order they were added (the gallery's writes only). */
  readonly items: Item[] = [];
  /** The softmax scale τ the visitor chose; null: the model's own. */
  scale: number | null = null;
  model: ModelInfo | null = null;
  /** A model is loaded and the engine answers. */
  ready = false;
  presets: Preset[] = [];
  /** Presets whose classifier the bundle ships precomputed. */
  classifiers: string[] = [];
  /** The models the site offers (models/index.json), and the one the engine runs. */
  models: SiteModel[] = [];
  modelName = "default";
  /** Milliseconds the last image took through the current model here (for the other models' estimates). */
  imageMs: number | null = null;
  /** The image the wording and label-set lessons show. */
  subject: Item | null = null;
  readonly shareables: Shareable[] = [];
  private readonly listeners = new Map<keyof Events, Listener<never>[]>();
  private engine: Caller | null = null;
  private errorSink: (source: string, message: string | null) => void = () => undefined;
  private textDebounce: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.labels = new ListEditor({
      kind: "label",
      placeholder: "a label, e.g. tabby cat (several names: happy | smiling)",
      addText: "+ Add label",
      onChange: () => this.textChanged(),
    });
    this.templates = new ListEditor({
      kind: "template",
      toggles: true,
      placeholder: "a template with {}, e.g. a sketch of a {}.",
      addText: "+ Add template",
      onChange: () => this.textChanged(),
      check: (value) =>
        value.trim() === "" || hasPlaceholder(value) ? null : "This template has no {} placeholder, so the label has nowhere to go.",
    });
  }

  on<E extends keyof Events>(event: E, listener: Listener<E>): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as Listener<never>);
    this.listeners.set(event, list);
  }

  emit<E extends keyof Events>(event: E, ...value: Events[E] extends undefined ? [] : [Events[E]]): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as Listener<E>)(value[0] as Events[E]);
  }

  /** The engine's calls go to `engine` from now on (set again when it restarts). */
  connect(engine: Caller): void {
    this.engine = engine;
  }

  call<M extends Method>(method: M, params: Api[M]["params"], transfer: Transferable[] = []): Promise<Api[M]["result"]> {
    if (!this.engine) return Promise.reject(new Error("the engine has not started"));
    return this.engine.call(method, params, transfer);
  }

  /** Where one-sentence errors go (the banner), by source: null clears that source's. */
  reportErrorsTo(sink: (source: string, message: string | null) => void): void {
    this.errorSink = sink;
  }

  error(source: string, message: string | null): void {
    this.errorSink(source, message === null ? null : sentence(message));
  }

  /** The labels and templates as the engine takes them (a template switched off is left out). */
  labelValues(): string[] {
    return this.labels.values();
  }

  templateValues(): string[] {
    return this.templates.values();
  }

  /** τ as the bars show it: the visitor's, else the model's. */
  get tau(): number | undefined {
    return this.scale ?? this.model?.logitScale;
  }

  /** The `scale` field of a classify request: absent for the model's own τ. */
  scaleParam(): { scale?: number } {
    return this.scale === null ? {} : { scale: this.scale };
  }

  setScale(scale: number | null): void {
    this.scale = scale;
    this.textChanged();
  }

  setSubject(item: Item | null): void {
    this.subject = item;
    for (const i of this.items) i.card.setComparing(i === item);
    this.emit("subject", item);
  }

  /** The first image that can still be shown (after the subject failed or left). */
  nextSubject(): Item | null {
    return this.items.find((i) => !i.failed) ?? null;
  }

  share(part: Shareable): void {
    this.shareables.push(part);
  }

  /** Labels, templates or τ changed: the link now, the classification once typing pauses. */
  textChanged(): void {
    this.emit("settings");
    clearTimeout(this.textDebounce);
    this.textDebounce = setTimeout(() => this.emit("text"), DEBOUNCE_MS);
  }

  /** Embedded images whose true label is one of the current labels, with their domain. */
  labelled(): { item: Item; image: LabelledImage }[] {
    const labels = this.labelValues();
    return this.items
      .filter((i) => i.embedded && !i.failed && i.card.trueLabel !== null && labels.includes(i.card.trueLabel))
      .map((item) => ({ item, image: { imageId: item.id, label: item.card.trueLabel!, domain: item.card.domain } }));
  }

  /** The file names of images by id, in that order (what a lesson's result says it used). */
  namesOf(ids: string[]): string[] {
    return ids.map((id) => this.items.find((i) => i.id === id)?.name ?? id);
  }

  /** A setting that changes no classification (an A/B set, the probe's C) changed: the link. */
  settingsChanged(): void {
    this.emit("settings");
  }
}

type ChannelMethod = { [M in Method]: Api[M]["params"] extends { channel: string; generation: number } ? M : never }[Method];

/** One lesson's requests, where only the newest answer counts: `ask` resolves to null when a
 * newer request was made (or the engine restarted), and rejects with Rust's error otherwise. */
export class Channel {
  private generation = 0;

  constructor(
    private readonly app: App,
    private readonly name: string,
  ) {}

  async ask<M extends ChannelMethod>(method: M, params: Omit<Api[M]["params"], "channel" | "generation">): Promise<Api[M]["result"] | null> {
    const asked = ++this.generation;
    try {
      const result = await this.app.call(method, { ...params, channel: this.name, generation: asked } as Api[M]["params"]);
      return asked === this.generation ? result : null;
    } catch (error) {
      if (error instanceof SupersededError || error instanceof CrashError || asked !== this.generation) return null;
      throw error;
    }
  }

  /** Forget any answer on its way. */
  cancel(): void {
    this.generation++;
  }
}

/** The caption an image gets when none is typed: its true label in the first active template. */
export function defaultCaption(label: string | null, templates: string[]): string {
  if (label === null) return "";
  const name = label.split("|")[0]!.trim();
  const template = templates[0];
  return template ? template.split("{}").join(name) : name;
}

export type { Domain };

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
