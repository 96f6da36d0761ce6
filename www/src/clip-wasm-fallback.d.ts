// The shape of www/pkg/clip.js (wasm-bindgen --target web --out-name clip), used by
// `npm run typecheck` only while www/pkg/ has not been built. Once it exists, tsconfig's
// "paths" picks the generated pkg/clip.d.ts instead, so the real bindings are what is checked.

export class Engine {
  private constructor();
  free(): void;
  static create(prefer_gpu: boolean): Promise<Engine>;
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
  classify(image_embeddings: Float32Array, count: number, labels: string[], templates: string[]): Promise<string>;
}

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export default function __wbg_init(
  module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<unknown>;
