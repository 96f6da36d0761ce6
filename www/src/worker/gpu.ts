// Watching the WebGPU device, and the test hooks that fail it on purpose.

import { post } from "./events";

/** The WebGPU device the engine got (kept only to watch it and for the test hook). */
let gpuDevice: { destroy(): void; lost: Promise<{ reason: string; message: string }> } | null = null;

/** Tell the page when the device is lost (driver reset, GPU unplugged, tab in the background too
 * long): every later GPU call would fail, so the page moves the engine to the CPU. `onGpu` says
 * whether the engine runs on it (a device set aside for the CPU path loses nothing). */
export function watchDevice(onGpu: () => boolean): void {
  type Device = NonNullable<typeof gpuDevice>;
  type RequestDevice = (this: unknown, descriptor?: unknown) => Promise<Device>;
  const proto = (globalThis as unknown as { GPUAdapter?: { prototype: { requestDevice: RequestDevice } } }).GPUAdapter?.prototype;
  if (!proto) return;
  const request = proto.requestDevice;
  proto.requestDevice = async function (descriptor) {
    const device = await request.call(this, descriptor);
    gpuDevice = device;
    void device.lost.then((info) => {
      if (!onGpu()) return;
      post({ kind: "event", event: "device-lost", message: info.message || `the device was ${info.reason || "lost"}` });
    });
    return device;
  };
}

/** ?debug=no-device: every adapter refuses to give a device (see `createEngine`). */
export function refuseDevices(): void {
  const proto = (globalThis as unknown as { GPUAdapter?: { prototype: { requestDevice: unknown } } }).GPUAdapter?.prototype;
  if (proto) proto.requestDevice = () => Promise.reject(new Error("the device was refused (?debug=no-device)"));
}

/** Test hook: destroy the device, as a driver reset would. */
export function loseDevice(): { destroyed: boolean } {
  gpuDevice?.destroy();
  return { destroyed: gpuDevice !== null };
}

/** ?debug=shaders: print each WGSL compile error with its source line (WebGPU only names the failing module). */
export function reportShaderErrors(): void {
  interface CompilationMessage {
    type: string;
    message: string;
    lineNum: number;
  }
  interface ShaderModule {
    getCompilationInfo(): Promise<{ messages: CompilationMessage[] }>;
  }
  type Create = (this: unknown, descriptor: { code: string; label?: string }) => ShaderModule;
  const proto = (globalThis as unknown as { GPUDevice?: { prototype: { createShaderModule: Create } } }).GPUDevice?.prototype;
  if (!proto) return;
  const create = proto.createShaderModule;
  proto.createShaderModule = function (descriptor) {
    const module = create.call(this, descriptor);
    void module.getCompilationInfo().then((info) => {
      for (const m of info.messages) {
        if (m.type !== "error") continue;
        const line = descriptor.code.split("\n")[m.lineNum - 1]?.trim() ?? "";
        console.warn(`WGSL error in ${descriptor.label ?? "a shader"}: ${m.message} (line ${m.lineNum}: ${line})`);
      }
    });
    return module;
  };
}
