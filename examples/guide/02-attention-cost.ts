// Chapter 2, second half: "attention is O(n^2)", measured. For sequence lengths T, the time of
// one forward + backward of attention, and the memory the forward keeps for the backward, on
// the explicit path (the five steps: the [T, T] weights are formed and kept) and the fused
// kernel (keeps only the row log-sum-exp and recomputes the weights in backward).
//
//   node dist/examples/guide/02-attention-cost.js [--small] [--out docs/guide/img]

import v8 from "node:v8";
import vm from "node:vm";
import { attention, explain, manualSeed, randn, type Tensor } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, logLogSlope, median, resolve, saveSvg } from "./common.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void; // a full collection, so memory deltas count live tensors only

export interface CostRow {
  T: number;
  explicitMs: number;
  fusedMs: number;
  /** Bytes of tensors alive after the forward (output + what backward needs). */
  explicitBytes: number;
  fusedBytes: number;
}

export interface CostResult {
  rows: CostRow[];
  /** Growth exponents from a log-log fit over the lengths: ~2 quadratic, ~1 linear. */
  slopes: { explicitTime: number; fusedTime: number; explicitMemory: number; fusedMemory: number };
  pictures: string[];
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * Bytes of live ArrayBuffers (tensor storage) after full collections. V8 releases the buffers of
 * collected arrays on a background thread, so collect and wait until three readings 5 ms apart
 * agree (two readings 2 ms apart agreed while that thread was starved on a loaded machine: the
 * test suite's parallel files measured an exponent of 2.34 for the explicit weights' memory).
 */
async function liveBytes(): Promise<number> {
  let last = -1, same = 0;
  for (let i = 0; i < 40; i++) {
    gc();
    await tick();
    await new Promise<void>((r) => setTimeout(r, 5));
    const now = process.memoryUsage().arrayBuffers;
    same = now === last ? same + 1 : 0;
    if (same >= 2) return now;
    last = now;
  }
  return last;
}

export async function run(options: GuideOptions = {}): Promise<CostResult> {
  const { setting, out, log } = resolve(options);
  const lengths = setting === "full" ? [256, 512, 1024, 2048] : [128, 256, 512, 1024];
  const B = 1, H = 4, D = 32, reps = setting === "full" ? 5 : 3;
  manualSeed(0);
  const rows: CostRow[] = [];
  for (const T of lengths) {
    const [q, k, v] = [0, 1, 2].map(() => randn([B, H, T, D], { requiresGrad: true }));
    const forward = (explicit: boolean): Tensor => attention.scaledDotProduct(q, k, v, { returnWeights: explicit, causal: true }).output;
    const step = (explicit: boolean): void => {
      forward(explicit).sum().backward();
      q.grad = null; k.grad = null; v.grad = null;
    };
    const measure = async (explicit: boolean): Promise<{ ms: number; bytes: number }> => {
      step(explicit); // warm-up: first-call costs are not the algorithm's
      const times: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        step(explicit);
        times.push(performance.now() - t0);
      }
      const before = await liveBytes();
      const y = forward(explicit); // [B, H, T, D], with its autograd graph
      const bytes = (await liveBytes()) - before; // the output + what the graph keeps until backward
      y.sum().backward();
      q.grad = null; k.grad = null; v.grad = null;
      return { ms: median(times), bytes };
    };
    const e = await measure(true), f = await measure(false);
    rows.push({ T, explicitMs: e.ms, fusedMs: f.ms, explicitBytes: e.bytes, fusedBytes: f.bytes });
    log(`T ${String(T).padStart(5)}: explicit ${e.ms.toFixed(1).padStart(7)} ms ${(e.bytes / 2 ** 20).toFixed(2).padStart(7)} MiB | fused ${f.ms.toFixed(1).padStart(7)} ms ${(f.bytes / 2 ** 20).toFixed(2).padStart(7)} MiB`);
  }
  const Ts = rows.map((r) => r.T);
  // the slopes leave out the shortest length, where fixed costs (allocator, small buffers) still count
  const fit = rows.slice(1), fitTs = fit.map((r) => r.T);
  const slopes = {
    explicitTime: logLogSlope(fitTs, fit.map((r) => r.explicitMs)),
    fusedTime: logLogSlope(fitTs, fit.map((r) => r.fusedMs)),
    explicitMemory: logLogSlope(fitTs, fit.map((r) => r.explicitBytes)),
    fusedMemory: logLogSlope(fitTs, fit.map((r) => r.fusedBytes)),
  };

  log(`growth exponents (log-log slope): time explicit ${slopes.explicitTime.toFixed(2)}, fused ${slopes.fusedTime.toFixed(2)}; ` +
    `memory explicit ${slopes.explicitMemory.toFixed(2)}, fused ${slopes.fusedMemory.toFixed(2)}`);
  const x = Ts;
  const pictures = [
    saveSvg(out, "02-cost-time.svg", explain.lineChartSvg([
      { name: "explicit (five steps)", x, y: rows.map((r) => r.explicitMs) },
      { name: "fused kernel", x, y: rows.map((r) => r.fusedMs) },
    ], { title: "attention forward + backward time", xLabel: "sequence length T", yLabel: "ms" })),
    saveSvg(out, "02-cost-memory.svg", explain.lineChartSvg([
      { name: "explicit (five steps)", x, y: rows.map((r) => r.explicitBytes / 2 ** 20) },
      { name: "fused kernel", x, y: rows.map((r) => r.fusedBytes / 2 ** 20) },
    ], { title: "memory kept for the backward", xLabel: "sequence length T", yLabel: "MiB" })),
  ].filter((p): p is string => p !== null);
  return { rows, slopes, pictures };
}

if (isMain(import.meta.url)) await run(cliOptions());
