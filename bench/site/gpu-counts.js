// What a contender asks of the GPU, counted where it asks: each WebGPU method below is wrapped on
// its prototype in this realm (the page for transformers.js, our worker for ours), so every call
// any code here makes goes through the counter. The counts depend only on the engine and the
// model, not on the GPU that runs them: they hold on any adapter, SwiftShader included.
//   import { gpuCounts } from "./gpu-counts.js";   // before the contender loads
//   gpuCounts()  → { dispatches: n, submits: n, … } so far (a copy)

/** [prototype's global name, method, counter]. */
const COUNTED = [
  ["GPUComputePassEncoder", "dispatchWorkgroups", "dispatches"],
  ["GPUComputePassEncoder", "dispatchWorkgroupsIndirect", "dispatches"],
  ["GPUCommandEncoder", "beginComputePass", "compute_passes"],
  ["GPUQueue", "submit", "submits"],
  ["GPUQueue", "writeBuffer", "buffer_writes"],
  ["GPUBuffer", "mapAsync", "readbacks"],
  ["GPUDevice", "createBindGroup", "bind_groups_created"],
  ["GPUDevice", "createBuffer", "buffers_created"],
  ["GPUDevice", "createComputePipeline", "pipelines_created"],
  ["GPUDevice", "createComputePipelineAsync", "pipelines_created"],
];

const counts = Object.fromEntries(COUNTED.map(([, , counter]) => [counter, 0]));
for (const [owner, method, counter] of COUNTED) {
  const proto = globalThis[owner]?.prototype;
  const native = proto?.[method];
  if (typeof native !== "function") continue; // no WebGPU here: the counts stay 0
  proto[method] = function (...args) {
    counts[counter] += 1;
    return native.apply(this, args);
  };
}

export const GPU_COUNTERS = Object.keys(counts);
export const gpuCounts = () => ({ ...counts });
/** after − before, counter by counter. */
export const gpuDelta = (before, after) => Object.fromEntries(GPU_COUNTERS.map((k) => [k, after[k] - before[k]]));
