// Where a workload's time goes: wraps every kernel of the current backend with a timer and runs
// one workload, then prints time per kernel, GEMM throughput and the time spent outside kernels
// (autograd bookkeeping, allocation, JavaScript loops).
//   node dist/bench/profile.js <workload> [--repeats N] [--json]

import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { getBackend } from "../src/index.js";
import { configureThreads, requestedThreads } from "./common.js";
import { workloads } from "./workloads.js";

interface Stat { ms: number; calls: number; flops: number }

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2), allowPositionals: true,
    options: { repeats: { type: "string" }, warmup: { type: "string" }, json: { type: "boolean" } },
  });
  const w = workloads().find((x) => x.name.startsWith(positionals[0] ?? "\0"));
  if (!w?.run) {
    console.error(`profile: give one in-process workload: ${workloads().filter((x) => x.run).map((x) => x.name).join(", ")}`);
    return 2;
  }
  const env = await configureThreads(requestedThreads());
  const repeats = Number(values.repeats ?? 3), warmup = Number(values.warmup ?? 1);
  w.run({ repeats: 1, warmup: 0 }); // JIT, thread pool, first-touch of buffers: not profiled

  const be = getBackend() as unknown as Record<string, unknown>;
  const stats = new Map<string, Stat>();
  for (const key of Object.keys(be)) {
    const f = be[key];
    if (typeof f !== "function") continue;
    be[key] = function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return (f as (...a: unknown[]) => unknown).apply(be, args);
      } finally {
        let name = key;
        let flops = 0;
        if (key === "unary" || key === "unaryBackward" || key === "binary") name = `${key}:${String(args[0])}`;
        if (key === "gemm") {
          const g = args[0] as { m: number; n: number; k: number; batch: number };
          flops = 2 * g.m * g.n * g.k * g.batch;
        }
        const s = stats.get(name) ?? { ms: 0, calls: 0, flops: 0 };
        s.ms += performance.now() - t0;
        s.calls++;
        s.flops += flops;
        stats.set(name, s);
      }
    };
  }
  const t0 = performance.now();
  const fields = w.run({ repeats, warmup });
  const total = performance.now() - t0;
  const kernels = [...stats.values()].reduce((a, s) => a + s.ms, 0);
  const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
  if (values.json) {
    console.log(JSON.stringify({ workload: w.name, ...env, fields, total_ms: total, kernels_ms: kernels,
      kernels: Object.fromEntries(rows.map(([k, s]) => [k, s])) }));
    return 0;
  }
  console.log(`${w.name}: ${env.backend}${env.isa ? ` (${env.isa})` : ""}, ${env.threads} threads; ` +
    `${warmup + repeats} runs of each measurement, ${total.toFixed(0)} ms in all; result ${JSON.stringify(fields)}`);
  console.log(`${"kernel".padEnd(28)} ${"ms".padStart(9)} ${"share".padStart(6)} ${"calls".padStart(7)}  GFLOP/s`);
  for (const [k, s] of rows) {
    if (s.ms / total < 0.001) continue;
    const gf = s.flops ? (s.flops / (s.ms / 1000) / 1e9).toFixed(1) : "";
    console.log(`${k.padEnd(28)} ${s.ms.toFixed(1).padStart(9)} ${((100 * s.ms) / total).toFixed(1).padStart(5)}% ${String(s.calls).padStart(7)}  ${gf}`);
  }
  console.log(`${"outside kernels".padEnd(28)} ${(total - kernels).toFixed(1).padStart(9)} ${((100 * (total - kernels)) / total).toFixed(1).padStart(5)}%`);
  return 0;
}

main().then((c) => process.exit(c), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
