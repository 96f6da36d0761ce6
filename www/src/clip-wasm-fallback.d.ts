// The shape of www/pkg/clip.js (wasm-bindgen --target web --out-name clip), used by
// `npm run typecheck` only while www/pkg/ has not been built. Once it exists, tsconfig's
// "paths" picks the generated pkg/clip.d.ts instead, so the real bindings are what is checked.

export class Engine {
  private constructor();
  free(): void;
  static create(prefer_gpu: boolean, allow_software: boolean): Promise<Engine>;
  readonly backend: string;
  readonly backendDescription: string;
  readonly fallbackReason: string | undefined;
  static verifyFile(manifest_json: string, name: string, bytes: Uint8Array): void;
  loadBundle(
    manifest_json: string,
    vision: Uint8Array | null | undefined,
    text: Uint8Array | null | undefined,
    tokenizer: Uint8Array,
    sha256_json?: string | null,
  ): void;
  modelInfo(): string;
  embedImage(bytes: Uint8Array): Promise<Float32Array>;
  embedTexts(texts: string[]): Promise<Float32Array>;
  classify(
    image_embeddings: Float32Array,
    count: number,
    labels: string[],
    templates: string[],
    per_template: boolean,
    scale?: number | null,
  ): Promise<string>;
  addClassifier(manifest_json: string, file: string, bytes: Uint8Array): string;
  classifyPreset(preset: string, image_embeddings: Float32Array, count: number, k: number): string;
  search(query: string, query_embedding: Float32Array | null | undefined, image_embeddings: Float32Array, count: number): Promise<string>;
  static probe(
    train_embeddings: Float32Array,
    train_count: number,
    train_classes: Uint32Array,
    classes: number,
    c: number,
    test_embeddings: Float32Array,
    test_count: number,
  ): string;
  contrast(image_embeddings: Float32Array, count: number, captions: string[], scale?: number | null): Promise<string>;
  shotCurve(
    image_embeddings: Float32Array,
    count: number,
    truth: Uint32Array,
    labels: string[],
    templates: string[],
    shots: Uint32Array,
    draws: number,
    seed: bigint,
    c: number,
  ): Promise<string>;
  templateCurve(image_embeddings: Float32Array, count: number, truth: Uint32Array, labels: string[], templates: string[], greedy: boolean): Promise<string>;
  domainShift(
    image_embeddings: Float32Array,
    count: number,
    truth: Uint32Array,
    domains: string[],
    labels: string[],
    templates: string[],
    train_domain: string,
    draws: number,
    seed: bigint,
    c: number,
  ): Promise<string>;
  static parseState(fragment: string): string;
  static encodeState(state_json: string): string;
  static presets(): string;
  static modelCosts(request_json: string): string;
}

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export default function __wbg_init(
  module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<unknown>;
