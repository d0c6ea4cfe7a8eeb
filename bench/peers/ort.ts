// onnxruntime-node peer: runs ONNX models (exported by bench/peers/torch_peer.py from its
// PyTorch twins of our models) on the CPU execution provider with a fixed number of intra-op
// threads, and prints one JSON line per model with "peer": "onnxruntime".
//   node dist/bench/peers/ort.js '<json spec>'
// spec: { threads, repeats, warmup, models: [{ workload, path, input, shape }] }

import { performance } from "node:perf_hooks";

interface OrtTensor { dims: readonly number[] }
interface OrtSession { run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> }
interface Ort {
  InferenceSession: { create(path: string, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => OrtTensor;
  env: { versions?: { common?: string } };
}

interface Spec {
  threads: number;
  repeats: number;
  warmup: number;
  models: { workload: string; path: string; input: string; shape: number[] }[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as Spec;
  const name = "onnxruntime-node";
  let ort: Ort;
  try {
    ort = (await import(name)) as Ort;
  } catch (e) {
    console.log(JSON.stringify({ info: "onnxruntime", error: `onnxruntime-node is not installed: ${(e as Error).message}` }));
    return;
  }
  for (const m of spec.models) {
    const common = { workload: m.workload, peer: "onnxruntime", threads: spec.threads, ort: ort.env.versions?.common };
    try {
      const session = await ort.InferenceSession.create(m.path, {
        executionProviders: ["cpu"],
        intraOpNumThreads: spec.threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
      const n = m.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = Math.random() * 2 - 1;
      const feeds = { [m.input]: new ort.Tensor("float32", data, m.shape) };
      for (let i = 0; i < spec.warmup; i++) await session.run(feeds);
      const times: number[] = [];
      for (let i = 0; i < spec.repeats; i++) {
        const t0 = performance.now();
        await session.run(feeds);
        times.push((performance.now() - t0) / 1000);
      }
      console.log(JSON.stringify({ ...common, forward_s: median(times) }));
    } catch (e) {
      console.log(JSON.stringify({ ...common, error: (e as Error).message }));
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
