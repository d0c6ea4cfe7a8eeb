// Where a workload's time goes: builds the workload, runs each of its phases (forward, training
// step) untimed, then wraps every kernel of the current backend with a timer and runs the phase
// `repeats` times: time per kernel, GEMM throughput, and the time outside kernels (autograd
// bookkeeping, allocation, garbage collection, JavaScript loops). Model construction is not
// counted. --shapes splits the GEMM time by shape and layout.
//   node dist/bench/profile.js <workload> [--phase forward|train] [--repeats N] [--shapes] [--json]

import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { GemmArgs } from "../src/backend/backend.js";
import { configureThreads, observeBackend, requestedThreads } from "./common.js";
import { type Phase, workloads } from "./workloads.js";

interface Stat { ms: number; calls: number; flops: number }

/** Run fn with every backend method timed into a fresh table; returns [wall ms, table]. */
function profiled(fn: () => void, shapes: boolean): [number, Map<string, Stat>] {
  const stats = new Map<string, Stat>();
  const t0 = performance.now();
  observeBackend(null, (key, args) => {
    const start = performance.now();
    return () => {
      let name = key;
      let flops = 0;
      if (key === "unary" || key === "unaryBackward" || key === "binary") name = `${key}:${String(args[0])}`;
      if (key === "gemm") {
        const g = args[0] as GemmArgs;
        flops = 2 * g.m * g.n * g.k * g.batch;
        if (shapes) name = `gemm ${g.transA ? "T" : "N"}${g.transB ? "T" : "N"} m${g.m} n${g.n} k${g.k}${g.batch > 1 ? ` x${g.batch}` : ""}${g.beta ? " +C" : ""}`;
      }
      const s = stats.get(name) ?? { ms: 0, calls: 0, flops: 0 };
      s.ms += performance.now() - start;
      s.calls++;
      s.flops += flops;
      stats.set(name, s);
    };
  }, fn);
  return [performance.now() - t0, stats];
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2), allowPositionals: true,
    options: {
      repeats: { type: "string" }, warmup: { type: "string" }, json: { type: "boolean" },
      phase: { type: "string" }, shapes: { type: "boolean" },
    },
  });
  const w = workloads().find((x) => x.name.startsWith(positionals[0] ?? "\0"));
  if (!w?.setup) {
    console.error(`profile: give one in-process workload: ${workloads().filter((x) => x.setup).map((x) => x.name).join(", ")}`);
    return 2;
  }
  const env = await configureThreads(requestedThreads());
  const repeats = Number(values.repeats ?? 3), warmup = Number(values.warmup ?? 2);
  const prepared = w.setup();
  const wanted = values.phase ? `${values.phase}${values.phase === "train" ? "_step" : ""}_s` : null;
  const phases: Phase[] = prepared.phases.filter((p) => !wanted || p.field === wanted);
  if (phases.length === 0) {
    console.error(`profile: ${w.name} has no phase "${values.phase}" (${prepared.phases.map((p) => p.field).join(", ")})`);
    return 2;
  }
  for (const phase of phases) {
    phase.before?.();
    for (let i = 0; i < warmup; i++) phase.fn(); // JIT, thread pool, first touch: not profiled
    const [total, stats] = profiled(() => { for (let i = 0; i < repeats; i++) phase.fn(); }, values.shapes ?? false);
    const kernels = [...stats.values()].reduce((a, s) => a + s.ms, 0);
    const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
    if (values.json) {
      console.log(JSON.stringify({ workload: w.name, phase: phase.field, ...env, repeats, ms_per_call: total / repeats,
        kernels_ms: kernels / repeats, kernels: Object.fromEntries(rows.map(([k, s]) => [k, { ...s, ms: s.ms / repeats, calls: s.calls / repeats }])) }));
      continue;
    }
    console.log(`${w.name} ${phase.field}: ${env.backend}${env.isa ? ` (${env.isa})` : ""}, ${env.threads} threads; ` +
      `${(total / repeats).toFixed(1)} ms per call (mean of ${repeats}, after ${warmup} untimed)`);
    console.log(`${"kernel".padEnd(34)} ${"ms/call".padStart(9)} ${"share".padStart(6)} ${"calls".padStart(6)}  GFLOP/s`);
    for (const [k, s] of rows) {
      if (s.ms / total < 0.002) continue;
      const gf = s.flops ? (s.flops / (s.ms / 1000) / 1e9).toFixed(1) : "";
      console.log(`${k.padEnd(34)} ${(s.ms / repeats).toFixed(2).padStart(9)} ${((100 * s.ms) / total).toFixed(1).padStart(5)}% ${String(s.calls / repeats).padStart(6)}  ${gf}`);
    }
    console.log(`${"outside kernels".padEnd(34)} ${((total - kernels) / repeats).toFixed(2).padStart(9)} ${((100 * (total - kernels)) / total).toFixed(1).padStart(5)}%`);
    console.log("");
  }
  return 0;
}

main().then((c) => process.exit(c), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
