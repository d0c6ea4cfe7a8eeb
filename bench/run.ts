// The benchmark harness: `npm run bench`, `node dist/bench/run.js [name...] [options]`,
// `tsformer bench [name] [options]`. Runs tsformer's workloads (bench/workloads.ts), each
// followed by the same workload on the peers that are installed (PyTorch through
// bench/peers/torch_peer.py, onnxruntime-node through bench/peers/ort.ts on ONNX files PyTorch
// exports), prints one JSON line per workload and peer, and ends with the ratios against the
// project's targets.
// See docs/PERFORMANCE.md.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { setBackend } from "../src/index.js";
import { type ResultLine, configureThreads, cpuJiffies, formatLine, machinePeakGflops, requestedThreads, round, waitForIdle } from "./common.js";
import { type Fields, SGEMM_REPEAT_FACTOR, type Workload, runPrepared, workloads } from "./workloads.js";
import { CHROMIUM } from "../test/helpers/browser.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = resolve(here, "../.."); // the package root

const USAGE = `Usage: npm run bench -- [name...] [options]
       node dist/bench/run.js [name...] [options]
       tsformer bench [name...] [options]

  name            run only workloads whose name starts with it (several allowed)
  --json          print only the JSON lines (no progress, no table)
  --no-peers      skip PyTorch and onnxruntime-node
  --repeats N     timed runs per measurement (median reported; default 5)
  --warmup N      untimed runs before timing (default 2)
  --quick         3 repeats, 1 warm-up, one OpenBLAS setting for PyTorch (smoke test)
  --list          list the workloads
  --backend NAME  tsformer backend (default: native when it loads, else js)
  --max-wait S    before each measurement wait up to S seconds for other processes to leave
                  the CPU idle (default 120; 0: do not wait)
  --no-webgpu     skip the webgpu part (headless Chromium on its software adapter; run when no
                  name is given, or with the name "webgpu"; docs/BROWSER.md)

Environment: TSFORMER_NUM_THREADS (default 2), TSFORMER_BENCH_PYTHON (default /usr/bin/python3).`;

interface Options {
  json: boolean;
  peers: boolean;
  repeats: number;
  warmup: number;
  quick: boolean;
  filters: string[];
  maxWaitMs: number;
}

type Line = ResultLine & Fields;
type Results = Map<string, Map<string, Line>>; // workload -> "ours" | peer -> line

// --- output --------------------------------------------------------------------------------

let jsonOnly = false;

function note(msg: string): void {
  if (!jsonOnly) process.stderr.write(`bench: ${msg}\n`);
}

/** Wait for a quiet machine; warn when it stays busy. Returns the busy fraction, null if unknown. */
async function settle(o: Options, label: string): Promise<number | null> {
  if (o.maxWaitMs <= 0) return null;
  const f = await waitForIdle(o.maxWaitMs);
  if (f !== null && f > 0.1) note(`${label}: other processes keep ${Math.round(f * 100)}% of the CPU busy; measuring anyway (numbers will be low)`);
  return f;
}

function emit(line: Line, results: Results, who: string): void {
  process.stdout.write(formatLine(line) + "\n");
  let m = results.get(line.workload);
  if (!m) results.set(line.workload, (m = new Map()));
  m.set(who, line);
}

// --- child processes -----------------------------------------------------------------------

/** Node children (attention, onnxruntime) run with this process's collector setting. */
const gcFlags = (): string[] => process.execArgv.filter((f) => f === "--single-threaded-gc");

interface ChildResult {
  code: number | null;
  lines: Record<string, unknown>[];
  stderr: string;
}

/** Run a command, collect the JSON objects it prints one per line; stderr is passed through unless --json. */
function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number,
  onLine?: (o: Record<string, unknown>) => void): Promise<ChildResult> {
  return new Promise((resolveP) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const lines: Record<string, unknown>[] = [];
    let buf = "", stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const s = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!s.startsWith("{")) continue;
        try {
          const o = JSON.parse(s) as Record<string, unknown>;
          lines.push(o);
          onLine?.(o);
        } catch {
          // not one of ours
        }
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      stderr += d;
      if (!jsonOnly) process.stderr.write(d);
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolveP({ code: -1, lines, stderr: stderr + String(e) });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolveP({ code, lines, stderr });
    });
  });
}

// --- tsformer's side -------------------------------------------------------------------------

type OurEnv = { backend: string; threads: number; isa?: string };

/** Measure workload w on tsformer's side: its line, with `error` set when it failed. */
async function measureOurs(w: Workload, o: Options, env: OurEnv): Promise<Line> {
  const base = { threads: env.threads, backend: env.backend, ...(env.isa ? { isa: env.isa } : {}) };
  note(`${w.name}: tsformer (${env.backend}, ${env.threads} threads)`);
  let fields: Fields;
  const busy = await settle(o, w.name);
  try {
    if (w.kind === "attention") fields = await ourAttention(w.size!, o, env.backend);
    else {
      // CPU that other processes took while we measured: the machine's busy share minus ours
      const j0 = cpuJiffies(), c0 = process.cpuUsage(), t0 = performance.now();
      fields = runPrepared(w.setup!(), { repeats: o.repeats, warmup: o.warmup });
      const j1 = cpuJiffies(), c1 = process.cpuUsage(c0), wall = (performance.now() - t0) / 1000;
      if (j0 && j1 && j1.total > j0.total && wall > 0) {
        const own = (c1.user + c1.system) / 1e6 / (wall * availableParallelism());
        fields.foreign_cpu = Math.max(0, (j1.busy - j0.busy) / (j1.total - j0.total) - own);
      }
    }
    if (busy !== null) fields.busy_before = busy;
  } catch (e) {
    fields = { error: e instanceof Error ? e.message : String(e) };
  }
  return { workload: w.name, ...base, ...fields, repeats: o.repeats * (w.kind === "sgemm" ? SGEMM_REPEAT_FACTOR : 1) };
}

/**
 * Rounds of a square GEMM, ours and PyTorch's alternating. One takes milliseconds, so each
 * side's whole measurement fits in a second, inside one of the host's slow or fast spells (one
 * run: our sgemm_1024 at 182 GFLOP/s, PyTorch's at 208 seconds later; both reach 205-210): the
 * line each side reports is its median round, so a spell that catches one round of one side
 * does not decide the ratio.
 */
const SGEMM_ROUNDS = 3;

/** The line whose time_s is the median of the lines' (the lower middle one of an even count). */
function medianRound(lines: Line[]): Line | undefined {
  const ok = lines.filter((l) => !l.error && typeof l.time_s === "number");
  if (ok.length === 0) return lines[0];
  ok.sort((a, b) => (a.time_s as number) - (b.time_s as number));
  const mid = ok[(ok.length - 1) >> 1]!;
  return { ...mid, rounds: ok.length };
}

async function runSgemm(w: Workload, o: Options, env: OurEnv, peers: Peers | null, results: Results): Promise<number> {
  const ours: Line[] = [], theirs: Line[] = [];
  for (let r = 0; r < (peers && !o.quick ? SGEMM_ROUNDS : 1); r++) {
    ours.push(await measureOurs(w, o, env));
    const t = await peers?.sgemm(w);
    if (t) theirs.push(t);
  }
  emit(medianRound(ours)!, results, "ours");
  const t = medianRound(theirs);
  if (t) emit(t, results, "pytorch");
  return ours.some((l) => l.error) ? 1 : 0;
}

async function ourAttention(T: number, o: Options, backend: string): Promise<Fields> {
  const child = join(here, "attention-child.js");
  const env = { ...process.env, TSFORMER_BACKEND: backend, TSFORMER_NUM_THREADS: String(requestedThreads()) };
  const r = await runChild(process.execPath, ["--expose-gc", ...gcFlags(), child, String(T), String(o.repeats), String(o.warmup)],
    env, 20 * 60_000);
  const line = r.lines[0];
  if (!line) throw new Error(`attention child exited with ${r.code}: ${r.stderr.trim().slice(-300)}`);
  if (line.error) throw new Error(String(line.error));
  const { forward_s, extra_rss_mb, rss_after_minus_before_mb } = line;
  return { forward_s, extra_rss_mb, rss_after_minus_before_mb };
}

// --- peers -----------------------------------------------------------------------------------

const TIME_FIELDS = ["forward_s", "train_step_s", "time_s"];

/** Of two runs of one workload (two OpenBLAS settings), keep the faster value of each metric. */
function faster(a: Line | undefined, b: Line | undefined): Line | undefined {
  if (!a || a.error) return b && !b.error ? b : a;
  if (!b || b.error) return a;
  const out: Line = { ...a };
  const setting: Record<string, unknown> = {};
  for (const f of TIME_FIELDS) {
    if (typeof a[f] !== "number" || typeof b[f] !== "number") continue;
    const best = (a[f] as number) <= (b[f] as number) ? a : b;
    out[f] = best[f];
    setting[f] = best.openblas_num_threads;
    if (f === "forward_s" && "extra_rss_mb" in best) out.extra_rss_mb = best.extra_rss_mb;
  }
  if (typeof a.gflops === "number" && typeof b.gflops === "number") {
    const best = a.gflops >= b.gflops ? a : b;
    out.gflops = best.gflops;
    setting.gflops = best.openblas_num_threads;
  }
  if (typeof out.train_step_s === "number" && typeof a.tokens_per_s === "number") {
    out.tokens_per_s = ((a.tokens_per_s as number) * (a.train_step_s as number)) / out.train_step_s;
  }
  const values = new Set(Object.values(setting));
  out.openblas_num_threads = values.size === 1 ? [...values][0] : setting;
  return out;
}

function findPython(): string {
  if (process.env.TSFORMER_BENCH_PYTHON) return process.env.TSFORMER_BENCH_PYTHON;
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

/** The environment PyTorch runs best in here: OpenBLAS picks its own (AVX-512) kernels. */
function peerEnv(openblasThreads: string | null): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  delete env.OPENBLAS_NUM_THREADS;
  delete env.OMP_NUM_THREADS;
  if (openblasThreads) env.OPENBLAS_NUM_THREADS = openblasThreads;
  return env;
}

/** The peers' side of a run: PyTorch (and onnxruntime-node on PyTorch's ONNX exports), a workload at a time. */
interface Peers {
  /** Measure model or attention workload w on every peer and emit their lines. */
  run(w: Workload, results: Results): Promise<void>;
  /** One round of a square GEMM on PyTorch: its line, not emitted (see runSgemm). */
  sgemm(w: Workload): Promise<Line | undefined>;
  /** Remove the ONNX files. */
  close(): void;
}

/**
 * Check that PyTorch can run here and print its configuration; null when it cannot (a note says
 * why). The peers are then run workload by workload, each right after ours (see runBench).
 */
async function startPeers(selected: Workload[], o: Options, threads: number): Promise<Peers | null> {
  const python = findPython();
  const script = join(root, "bench", "peers", "torch_peer.py");
  const probe = existsSync(script)
    ? spawnSync(python, ["-c", "import torch"], { env: peerEnv(null), encoding: "utf8", timeout: 120_000 })
    : null;
  if (!probe || probe.status !== 0) {
    note(!probe ? `PyTorch peer skipped: ${script} not found`
      : `PyTorch peer skipped: ${python} cannot import torch (apt-get install python3-torch libopenblas0-pthread)`);
    return null;
  }
  const common = ["--repeats", String(o.repeats), "--warmup", String(o.warmup), "--threads", String(threads)];
  const info = await runChild(python, [script, "--info", "--threads", String(threads)], peerEnv(null), 300_000);
  const i = info.lines[0];
  if (i) {
    process.stdout.write(JSON.stringify(i) + "\n");
    if (typeof i.gemm512_gflops === "number" && i.gemm512_gflops < 30) {
      note(`PyTorch's BLAS (${String(i.blas)}) runs a 512 GEMM at ${round(i.gemm512_gflops)} GFLOP/s: ` +
        "the reference BLAS? Install libopenblas0-pthread for a fair comparison.");
    }
  }

  const modelsSel = selected.filter((w) => w.kind === "vit" || w.kind === "seq2seq" || w.kind === "gpt");
  const configs = JSON.stringify(Object.fromEntries(modelsSel.map((w) => [w.name, w.peerConfig])));
  // OpenBLAS with its own 2 threads for a bare GEMM; for models both with and without nested
  // threading (OPENBLAS_NUM_THREADS=1 is usually faster), keeping the faster per metric.
  const settings: (string | null)[] = o.quick ? ["1"] : ["1", null];
  const onnxDir = modelsSel.some((w) => w.kind === "vit") ? mkdtempSync(join(tmpdir(), "tsformer-bench-onnx-")) : "";

  async function sgemm(w: Workload): Promise<Line | undefined> {
    await settle(o, `PyTorch ${w.name}`);
    note(`PyTorch: ${w.name}`);
    const r = await runChild(python, [script, "--workloads", w.name, ...common], peerEnv(null), 30 * 60_000);
    return r.lines.find((l) => l.workload === w.name) as Line | undefined;
  }

  async function model(w: Workload, results: Results): Promise<void> {
    const cfg = w.peerConfig as { batch: number; model: { numChannels: number; imageSize: number } } | undefined;
    let best: Line | undefined;
    for (const s of settings) {
      await settle(o, `PyTorch ${w.name}`);
      note(`PyTorch (OPENBLAS_NUM_THREADS=${s ?? "default"}): ${w.name}`);
      const args = [script, "--workloads", w.name, "--configs", configs, ...common];
      if (s === "1" && onnxDir && w.kind === "vit") args.push("--onnx-dir", onnxDir); // the run that exports ONNX
      const r = await runChild(python, args, peerEnv(s), 60 * 60_000);
      const line = r.lines.find((l) => l.workload === w.name) as Line | undefined;
      if (r.code !== 0) note(`PyTorch peer exited with ${r.code}`);
      best = faster(best, line);
      // onnxruntime right after the run that exported its model, the nearest in time to ours
      if (line && typeof line.onnx === "string" && cfg) {
        const shape = [cfg.batch, cfg.model.numChannels, cfg.model.imageSize, cfg.model.imageSize];
        await runOrt([{ workload: w.name, path: line.onnx, input: "pixel_values", shape }], o, threads, results);
      }
    }
    if (best) {
      const { onnx: _onnx, ...line } = best;
      emit(line as Line, results, "pytorch");
      const ours = results.get(w.name)?.get("ours");
      if (ours && typeof ours.params === "number" && line.params !== ours.params) {
        note(`${w.name}: PyTorch's model has ${String(line.params)} parameters, ours ${ours.params}: not the same architecture`);
      }
    }
  }

  async function attention(w: Workload, results: Results): Promise<void> {
    let best: Line | undefined;
    for (const s of o.quick ? [null] : [null, "1"]) {
      await settle(o, `PyTorch ${w.name}`);
      note(`PyTorch (OPENBLAS_NUM_THREADS=${s ?? "default"}): ${w.name}`);
      const r = await runChild(python, [script, "--attention", String(w.size), ...common], peerEnv(s), 30 * 60_000);
      best = faster(best, r.lines.find((l) => l.workload) as Line | undefined);
    }
    if (best) emit(best, results, "pytorch");
  }

  return {
    run: (w, results) => (w.kind === "attention" ? attention(w, results) : model(w, results)),
    sgemm,
    close: () => {
      if (onnxDir) rmSync(onnxDir, { recursive: true, force: true });
    },
  };
}

async function runOrt(models: { workload: string; path: string; input: string; shape: number[] }[], o: Options,
  threads: number, results: Results): Promise<void> {
  const runner = join(here, "peers", "ort.js");
  await settle(o, "onnxruntime-node");
  note(`onnxruntime-node: ${models.map((m) => m.workload).join(", ")}`);
  const spec = { threads, repeats: o.repeats, warmup: o.warmup, models };
  const r = await runChild(process.execPath, [...gcFlags(), runner, JSON.stringify(spec)], process.env, 30 * 60_000);
  for (const l of r.lines) {
    if (l.workload) emit(l as Line, results, "onnxruntime");
    else if (l.error) note(`onnxruntime-node peer skipped: ${String(l.error)}`);
  }
}

// --- targets ---------------------------------------------------------------------------------

interface Target {
  workload: string;
  field: string;
  peer: string;
  /** time: ours/peer time must be <= limit; rate: ours/peer rate must be >= limit; abs: ours < limit. */
  kind: "time" | "rate" | "abs";
  limit: number;
  text: string;
}

const TARGETS: Target[] = [
  { workload: "sgemm_1024", field: "gflops", peer: "pytorch", kind: "rate", limit: 0.9, text: ">= 0.9x PyTorch GFLOP/s" },
  { workload: "sgemm_2048", field: "gflops", peer: "pytorch", kind: "rate", limit: 0.9, text: ">= 0.9x PyTorch GFLOP/s" },
  { workload: "vit_tiny16_224_b8", field: "forward_s", peer: "onnxruntime", kind: "time", limit: 1, text: "no slower than ORT" },
  { workload: "vit_tiny16_224_b8", field: "train_step_s", peer: "pytorch", kind: "time", limit: 0.4, text: "<= 0.4x PyTorch time" },
  { workload: "vit_mnist_b128", field: "train_step_s", peer: "pytorch", kind: "time", limit: 0.5, text: "<= 0.5x PyTorch time" },
  { workload: "seq2seq_d256_3x3_b64_l32", field: "train_step_s", peer: "pytorch", kind: "time", limit: 0.5, text: "<= 0.5x PyTorch time" },
  { workload: "gpt_d384_l6_ctx256_b8", field: "train_step_s", peer: "pytorch", kind: "time", limit: 0.5, text: "<= 0.5x PyTorch time" },
  { workload: "attention_T4096_h8_d64", field: "forward_s", peer: "pytorch", kind: "time", limit: 1, text: "no slower than PyTorch" },
  { workload: "attention_T4096_h8_d64", field: "extra_rss_mb", peer: "", kind: "abs", limit: 64, text: "< 64 MB" },
];

const COMPARED = ["gflops", "forward_s", "train_step_s", "forward_every_row_s", "train_step_every_row_s", "extra_rss_mb"];

/** The peers' field a field of ours compares with: the *_every_row_s variants (ViT's last layer on every row, as the peers' models run it) with the plain one. */
const peerField = (field: string): string => field.replace("_every_row", "");

interface Row {
  workload: string; metric: string; ours: string; peer: string; theirs: string; ratio: string; target: string; result: string;
}

function evaluate(selected: Workload[], results: Results): { rows: Row[]; misses: number; checked: number } {
  const rows: Row[] = [];
  let misses = 0, checked = 0;
  const fmt = (x: unknown): string => (typeof x === "number" ? String(round(x)) : "-");
  for (const w of selected) {
    const m = results.get(w.name);
    const ours = m?.get("ours");
    for (const field of COMPARED) {
      const peers = ["pytorch", "onnxruntime"].filter((p) => typeof m?.get(p)?.[peerField(field)] === "number");
      if (field !== peerField(field) && typeof ours?.[field] !== "number") continue;
      const targets = TARGETS.filter((t) => t.workload === w.name && t.field === field);
      const ov = ours?.[field];
      if (field === "extra_rss_mb" || peers.length === 0) {
        for (const t of targets.filter((t) => t.kind !== "abs")) {
          rows.push({ workload: w.name, metric: field, ours: fmt(ov), peer: t.peer, theirs: "-", ratio: "-", target: t.text, result: "n/a" });
        }
      }
      for (const p of peers) {
        if (field === "extra_rss_mb") continue;
        const pv = m!.get(p)![peerField(field)] as number;
        const ratio = typeof ov === "number" ? ov / pv : NaN;
        const t = targets.find((t) => t.peer === p);
        let result = "";
        if (t) {
          const pass = t.kind === "rate" ? ratio >= t.limit : ratio <= t.limit;
          result = Number.isFinite(ratio) ? (pass ? "PASS" : "MISS") : "n/a";
          if (result !== "n/a") checked++;
          if (result === "MISS") misses++;
        }
        rows.push({ workload: w.name, metric: field, ours: fmt(ov), peer: p, theirs: fmt(pv), ratio: Number.isFinite(ratio) ? `${round(ratio)}x` : "-", target: t?.text ?? "", result });
      }
      if (field === "extra_rss_mb" && typeof ov === "number") {
        const theirs = m?.get("pytorch")?.extra_rss_mb;
        const t = targets.find((t) => t.kind === "abs");
        let result = "";
        if (t) {
          result = ov < t.limit ? "PASS" : "MISS";
          checked++;
          if (result === "MISS") misses++;
        }
        rows.push({ workload: w.name, metric: field, ours: fmt(ov), peer: typeof theirs === "number" ? "pytorch" : "", theirs: fmt(theirs), ratio: typeof theirs === "number" ? `${round(ov / theirs)}x` : "-", target: t?.text ?? "", result });
      }
    }
  }
  return { rows, misses, checked };
}

// --- roofline ------------------------------------------------------------------------------

/**
 * Each workload's arithmetic rate as a share of the machine's peak (measured in the same run),
 * for tsformer and the peers, and the share a time target implies: a target of L x the peer's
 * time t needs GFLOP / (L * t) GFLOP/s. The FLOPs are tsformer's count of the matrix products
 * (bench/flops.ts); the peers' rates divide the count of what they compute, which for ViT is the
 * every-row count (our default skips most of the last layer's rows: ViTModel.forwardCls).
 */
function printRoofline(selected: Workload[], results: Results, peak: number): void {
  const pct = (rate: number): string => `${round(rate)} (${Math.round((100 * rate) / peak)}%)`;
  const head = ["workload", "metric", "GFLOP", "tsformer GFLOP/s (peak)", "PyTorch", "ORT", "target needs"];
  const rows: string[][] = [];
  for (const w of selected) {
    const m = results.get(w.name);
    const ours = m?.get("ours");
    if (!ours) continue;
    if (typeof ours.gflops === "number") {
      const theirs = m?.get("pytorch")?.gflops;
      const t = TARGETS.find((t) => t.workload === w.name && t.field === "gflops");
      rows.push([w.name, "gflops", "", pct(ours.gflops), typeof theirs === "number" ? pct(theirs) : "-", "",
        t && typeof theirs === "number" ? pct(t.limit * theirs) : ""]);
    }
    for (const field of ["forward_s", "train_step_s", "forward_every_row_s", "train_step_every_row_s"]) {
      const gflop = ours[field.replace(/_s$/, "_gflop")], time = ours[field];
      if (typeof gflop !== "number" || typeof time !== "number") continue;
      // the peers' arithmetic: the every-row count where ours does less (ViT), else ours
      const peerCount = ours[peerField(field).replace(/_s$/, "_every_row_gflop")];
      const peerGflop = typeof peerCount === "number" ? peerCount : gflop;
      const rate = (who: string): string => {
        const tt = m?.get(who)?.[peerField(field)];
        return typeof tt === "number" ? pct(peerGflop / tt) : "-";
      };
      const t = TARGETS.find((t) => t.workload === w.name && t.field === field && t.kind === "time");
      const peerTime = t ? m?.get(t.peer)?.[field] : undefined;
      rows.push([w.name, field, String(round(gflop)), pct(gflop / time), rate("pytorch"), field.startsWith("forward") ? rate("onnxruntime") : "",
        t && typeof peerTime === "number" ? pct(gflop / (t.limit * peerTime)) : ""]);
    }
  }
  if (rows.length === 0) return;
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(width[i])).join("  ").trimEnd();
  console.log("");
  console.log(`Roofline: the machine's peak is ${round(peak)} GFLOP/s (vector multiply-adds on the same threads, measured in this run)`);
  console.log(line(head));
  console.log(width.map((n) => "-".repeat(n)).join("  "));
  for (const r of rows) console.log(line(r));
  console.log("(GFLOP: matrix products per call, bench/flops.ts; a target needing 100% or more of the peak cannot be met on this machine)");
}

function printTable(rows: Row[]): void {
  const head: Row = { workload: "workload", metric: "metric", ours: "tsformer", peer: "peer", theirs: "peer value", ratio: "ours/peer", target: "target", result: "" };
  const cols = Object.keys(head) as (keyof Row)[];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...rows].map((r) => r[c].length))])) as Record<keyof Row, number>;
  const line = (r: Row): string => cols.map((c) => r[c].padEnd(width[c])).join("  ").trimEnd();
  console.log("");
  console.log(line(head));
  console.log(cols.map((c) => "-".repeat(width[c])).join("  "));
  for (const r of rows) console.log(line(r));
  console.log("(time metrics: ours/peer time, lower is better; gflops: ours/peer rate, higher is better)");
}

// --- entry -------------------------------------------------------------------------------------

export async function runBench(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: "boolean" },
        "no-peers": { type: "boolean" },
        repeats: { type: "string" },
        warmup: { type: "string" },
        quick: { type: "boolean" },
        list: { type: "boolean" },
        backend: { type: "string" },
        "max-wait": { type: "string" },
        "no-webgpu": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const all = workloads();
  if (v.list) {
    for (const w of all) console.log(`${w.name.padEnd(26)} ${w.about}`);
    return 0;
  }
  const int = (s: string | undefined, name: string, dflt: number, min: number): number => {
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`bench: --${name} must be an integer >= ${min}, got "${s}"`);
    return n;
  };
  let o: Options;
  try {
    const quick = v.quick ?? false;
    o = {
      json: v.json ?? false,
      peers: !(v["no-peers"] ?? false),
      quick,
      repeats: int(v.repeats, "repeats", quick ? 3 : 5, 1),
      warmup: int(v.warmup, "warmup", quick ? 1 : 2, 0),
      filters: parsed.positionals,
      maxWaitMs: int(v["max-wait"], "max-wait", 120, 0) * 1000,
    };
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  jsonOnly = o.json;
  const webgpu = !(v["no-webgpu"] ?? false) && (o.filters.length === 0 || o.filters.includes("webgpu"));
  const selected = o.filters.length ? all.filter((w) => o.filters.some((f) => w.name.startsWith(f))) : all;
  if (selected.length === 0 && webgpu) return runWebGPU(o.json);
  if (selected.length === 0) {
    console.error(`bench: no workload starts with ${o.filters.map((f) => `"${f}"`).join(" or ")}; --list shows them`);
    return 2;
  }
  if (v.backend) setBackend(v.backend);
  const threads = requestedThreads();
  const env = await configureThreads(threads);
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  note(`${new Date().toISOString()} ${cpu}, ${availableParallelism()} cores, load ${loadavg().map((x) => x.toFixed(2)).join(" ")}; tsformer backend ${env.backend}` +
    `${env.isa ? ` (${env.isa})` : ""}, ${env.threads} threads; ${o.repeats} repeats after ${o.warmup} warm-up`);
  if (env.backend === "js") note("the js backend is the slow reference; build the native addon (npm run build:native) for real numbers");

  // npm run bench and tsformer bench run node with --single-threaded-gc (bin/tsformer.js says why)
  const gc = process.execArgv.includes("--single-threaded-gc") ? "single-threaded" : "concurrent";
  if (gc === "concurrent") note("node runs V8's concurrent garbage collector (no --single-threaded-gc): tsformer's numbers will be 5-18% slower than `npm run bench` gives");
  let peak: number | null = null;
  if (env.backend === "native") {
    await settle(o, "peak");
    peak = await machinePeakGflops(2);
    if (peak !== null) process.stdout.write(JSON.stringify({ info: "machine", threads: env.threads, isa: env.isa, peak_gflops: round(peak), gc }) + "\n");
  }
  // Workload by workload, ours and then the peers': the host's load shifts our speed and the
  // peers' by 10-15% for tens of seconds at a time, so a ratio is measured within the same
  // minute (all of ours first left 2-3 minutes between the two sides of a ratio).
  const results: Results = new Map();
  const peers = o.peers ? await startPeers(selected, o, threads) : null;
  if (!o.peers) note("peers skipped (--no-peers)");
  let failures = 0;
  try {
    for (const w of selected) {
      if (w.kind === "sgemm") {
        failures += await runSgemm(w, o, env, peers, results);
        continue;
      }
      const ours = await measureOurs(w, o, env);
      emit(ours, results, "ours");
      if (ours.error) failures++;
      await peers?.run(w, results);
    }
  } finally {
    peers?.close();
  }

  const { rows, misses, checked } = evaluate(selected, results);
  if (!o.json) {
    printTable(rows);
    console.log(`${checked - misses}/${checked} targets met${misses ? `, ${misses} missed` : ""}`);
    if (peak !== null) printRoofline(selected, results, peak);
  }
  if (failures) note(`${failures} workload(s) failed on tsformer's side`);
  const webgpuFailed = webgpu ? await runWebGPU(o.json) : 0;
  return failures || webgpuFailed ? 1 : 0;
}

/**
 * The webgpu backend's SGEMM and ViT-MNIST training step in headless Chromium, on its software
 * adapter here (correctness and overhead, not GPU speed), beside the js backend in the same page
 * (bench/webgpu-browser.ts). A real GPU is measured by bench/webgpu-node.ts (docs/BROWSER.md).
 */
async function runWebGPU(json: boolean): Promise<number> {
  if (!existsSync(CHROMIUM)) {
    note(`webgpu skipped: no ${CHROMIUM} (apt-get install -y chromium)`);
    return 0;
  }
  note("webgpu: SGEMM and the ViT-MNIST training step in headless Chromium (SwiftShader), about 2 minutes");
  const r = spawnSync(process.execPath, [join(here, "webgpu-browser.js"), "--sizes", "128,256", "--repeats", "3"],
    { encoding: "utf8", timeout: 900_000 });
  const lines = (r.stdout ?? "").split("\n").filter((l) => l.startsWith("{"));
  if (r.status !== 0 || lines.length === 0) {
    note(`webgpu failed (exit ${r.status}): ${(r.stderr ?? "").trim().split("\n").slice(-3).join(" | ")}`);
    return 1;
  }
  if (json) {
    for (const l of lines) console.log(l);
    return 0;
  }
  console.log("\nwebgpu in headless Chromium (software adapter: correctness and overhead, not GPU speed)");
  console.log("| workload | backend | n | ms | GFLOP/s |\n| --- | --- | ---: | ---: | ---: |");
  for (const l of lines) {
    const x = JSON.parse(l) as { workload: string; backend: string; n?: number; ms: number; gflops?: number };
    console.log(`| ${x.workload} | ${x.backend} | ${x.n ?? ""} | ${x.ms} | ${x.gflops ?? ""} |`);
  }
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  runBench(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
