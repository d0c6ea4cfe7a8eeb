// Shared pieces of the benchmark harness: timing, thread setup, the JSON line format.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { backendName, getBackend } from "../src/index.js";

/** Threads every workload runs with (ours and the peers'), unless TSFORMER_NUM_THREADS says otherwise. */
export const DEFAULT_THREADS = 2;

export interface Timing {
  median: number;
  min: number;
  times: number[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Run fn `warmup` times untimed, then `repeats` times timed; seconds. */
export function timeIt(fn: () => unknown, repeats: number, warmup: number): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  return { median: median(times), min: Math.min(...times), times };
}

interface NativeControl {
  numThreads(): number;
  setNumThreads(n: number): void;
  isa(): string;
  peakGflops(seconds: number): number;
}

async function nativeControl(): Promise<NativeControl | null> {
  try {
    const spec = "../src/backend/native/index.js";
    const mod = (await import(spec)) as { loadAddon?: () => NativeControl | null };
    return mod.loadAddon?.() ?? null;
  } catch {
    return null;
  }
}

/**
 * The machine's arithmetic peak in GFLOP/s on the configured threads (native backend: vector
 * multiply-add chains, no memory traffic, best of several runs within `seconds`); null on the
 * js backend. The roofline divides every workload's FLOPs by it.
 */
export async function machinePeakGflops(seconds = 2): Promise<number | null> {
  if (backendName() !== "native") return null;
  return (await nativeControl())?.peakGflops(seconds) ?? null;
}

/**
 * Pin the backend's thread count (the native addon's pool; the js backend is single-threaded)
 * and describe what runs: { backend, threads, isa? }.
 */
export async function configureThreads(requested: number): Promise<{ backend: string; threads: number; isa?: string }> {
  const backend = backendName();
  if (backend !== "native") return { backend, threads: 1 };
  const addon = await nativeControl();
  if (addon) {
    addon.setNumThreads(requested);
    return { backend, threads: addon.numThreads(), isa: addon.isa() };
  }
  return { backend, threads: requested };
}

export function requestedThreads(): number {
  const env = Number(process.env.TSFORMER_NUM_THREADS);
  return Number.isInteger(env) && env > 0 ? env : DEFAULT_THREADS;
}

/** Rounded for printing: 4 significant digits. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0 || Number.isInteger(x)) return x;
  const p = 10 ** (3 - Math.floor(Math.log10(Math.abs(x))));
  return Math.round(x * p) / p;
}

export type ResultLine = { workload: string; threads: number; [field: string]: unknown };

export function formatLine(line: ResultLine): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(line)) out[k] = typeof v === "number" ? round(v) : v;
  return JSON.stringify(out);
}

// --- a shared machine: other processes' CPU use skews every number --------------------------

/** Busy and total jiffies of the whole machine (Linux /proc/stat), or null elsewhere. */
export function cpuJiffies(): { busy: number; total: number } | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = f[3] + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Fraction of the machine's CPU that was busy over `ms` (call it while this process is idle). */
export async function busyFraction(ms = 500): Promise<number | null> {
  const a = cpuJiffies();
  if (!a) return null;
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuJiffies()!;
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

/**
 * Wait (up to maxWaitMs) until other processes leave the CPU mostly idle; returns the last busy
 * fraction seen. Benchmarks on a machine shared with builds and tests are otherwise noise.
 */
export async function waitForIdle(maxWaitMs: number, threshold = 0.1): Promise<number | null> {
  const start = Date.now();
  let f = await busyFraction();
  while (f !== null && f > threshold && Date.now() - start < maxWaitMs) f = await busyFraction(1000);
  return f;
}

type Method = (...args: unknown[]) => unknown;

/**
 * Run fn with the current backend's methods observed: `observe(name, args)` is called before
 * each call of a method in `names` (all of them when null) and may return a function to call
 * after it. The backend is restored as it was, own properties and prototype methods alike.
 */
export function observeBackend(names: string[] | null, observe: (name: string, args: unknown[]) => (() => void) | void,
  fn: () => unknown): void {
  const be = getBackend() as unknown as Record<string, unknown>;
  const keys = names ?? [...new Set([...Object.keys(be), ...Object.getOwnPropertyNames(Object.getPrototypeOf(be))])]
    .filter((k) => k !== "constructor" && typeof be[k] === "function");
  const saved = new Map<string, { own: boolean; f: Method }>();
  for (const key of keys) {
    const f = be[key] as Method;
    saved.set(key, { own: Object.prototype.hasOwnProperty.call(be, key), f });
    be[key] = function (...args: unknown[]) {
      const after = observe(key, args);
      try {
        return f.apply(be, args);
      } finally {
        after?.();
      }
    };
  }
  try {
    fn();
  } finally {
    for (const [key, { own, f }] of saved) {
      if (own) be[key] = f;
      else delete be[key];
    }
  }
}
