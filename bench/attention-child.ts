// One attention size in a fresh process, so that the resident memory the call adds is measured
// against a clean baseline: node --expose-gc dist/bench/attention-child.js T repeats warmup [heads dim]
// Prints one JSON object: { forward_s, extra_rss_mb, rss_after_mb, backend, threads, ... }.

import { readFileSync, writeFileSync } from "node:fs";
import { manualSeed, noGrad, randn, scaledDotProductAttention } from "../src/index.js";
import { configureThreads, requestedThreads, timeIt } from "./common.js";

const [T, repeats, warmup, heads = 8, dim = 64] = process.argv.slice(2).map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
const MB = 2 ** 20;

/** Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux); false where not allowed. */
function resetPeak(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const env = await configureThreads(requestedThreads());
  manualSeed(0);
  noGrad(() => {
    // start the thread pool and touch the kernels on a small problem first
    const s = [randn([1, heads, 64, dim]), randn([1, heads, 64, dim]), randn([1, heads, 64, dim])] as const;
    scaledDotProductAttention(s[0], s[1], s[2]);
  });
  const q = randn([1, heads, T, dim]), k = randn([1, heads, T, dim]), v = randn([1, heads, T, dim]);
  gc?.();
  const fresh = resetPeak();
  const before = process.memoryUsage().rss;
  const peakBefore = peakRss();
  let out = noGrad(() => scaledDotProductAttention(q, k, v));
  const after = process.memoryUsage().rss;
  const peak = peakRss();
  // the peak says something only when it was reset, or rose above every earlier peak
  const extra = fresh || peak > peakBefore ? Math.max(peak - before, after - before) : after - before;
  if (out.numel !== heads * T * dim) throw new Error("attention: unexpected output size");
  out = undefined as never;
  const t = timeIt(() => noGrad(() => scaledDotProductAttention(q, k, v)), repeats, warmup);
  process.stdout.write(JSON.stringify({
    ...env, forward_s: t.median, extra_rss_mb: extra / MB, rss_after_minus_before_mb: (after - before) / MB,
    gc_exposed: gc !== undefined,
  }) + "\n");
}

main().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }) + "\n");
  process.exit(1);
});
