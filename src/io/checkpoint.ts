// A minimal checkpoint directory (until the safetensors module lands):
//
//   DIR/weights.bin   every tensor's raw little-endian bytes (float32 or int32), back to back
//   DIR/index.json    { format, version, bytes, fnv1a, tensors: { name: { dtype, shape, offset, length } } }
//   DIR/config.json   { format, version, config, meta }  (written last: its presence marks a complete save)
//
// Each file is written to a temporary name, fsynced and renamed over the old one, so a crash never
// leaves a half-written file; index.json carries the size and a hash of weights.bin, so a
// weights file that does not belong to its index is caught. Loading names the file at fault.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "../tensor/tensor.js";
import { writeFileAtomic } from "./atomic.js";

const FORMAT = "tsformer-checkpoint";
const VERSION = 1;

export interface CheckpointContents<C = unknown, M = unknown> {
  config: C;
  stateDict: Record<string, Tensor>;
  meta?: M;
}

interface IndexEntry { dtype: "float32" | "int32"; shape: number[]; offset: number; length: number }
interface IndexFile { format: string; version: number; bytes: number; fnv1a: number; tensors: Record<string, IndexEntry> }

function fnv1aBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
  return h >>> 0;
}

const writeAtomic = writeFileAtomic;

/** Save config, tensors and metadata into dir (created if needed). */
export function saveCheckpoint<C, M>(dir: string, c: CheckpointContents<C, M>): void {
  mkdirSync(dir, { recursive: true });
  const names = Object.keys(c.stateDict);
  const tensors: Record<string, IndexEntry> = {};
  let bytes = 0;
  for (const n of names) {
    const t = c.stateDict[n];
    tensors[n] = { dtype: t.dtype, shape: [...t.shape], offset: bytes, length: t.numel * 4 };
    bytes += t.numel * 4;
  }
  const buf = new Uint8Array(bytes);
  for (const n of names) {
    const t = c.stateDict[n];
    buf.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.numel * 4), tensors[n].offset);
  }
  const index: IndexFile = { format: FORMAT, version: VERSION, bytes, fnv1a: fnv1aBytes(buf), tensors };
  writeAtomic(join(dir, "weights.bin"), buf);
  writeAtomic(join(dir, "index.json"), JSON.stringify(index, null, 1));
  writeAtomic(join(dir, "config.json"), JSON.stringify({ format: FORMAT, version: VERSION, config: c.config, meta: c.meta ?? null }, null, 2));
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new Error(`loadCheckpoint: ${path} is missing (${what})`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`loadCheckpoint: ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Load what saveCheckpoint wrote; errors name the missing or corrupt file. */
export function loadCheckpoint<C = unknown, M = unknown>(dir: string): CheckpointContents<C, M> {
  if (!existsSync(dir)) throw new Error(`loadCheckpoint: no checkpoint directory ${dir}`);
  const cfgPath = join(dir, "config.json"), idxPath = join(dir, "index.json"), wPath = join(dir, "weights.bin");
  const cfg = readJson(cfgPath, "model configuration") as { format?: string; version?: number; config?: C; meta?: M };
  if (cfg.format !== FORMAT || cfg.config === undefined) throw new Error(`loadCheckpoint: ${cfgPath} is not a ${FORMAT} config`);
  if (cfg.version !== VERSION) throw new Error(`loadCheckpoint: ${cfgPath} has version ${cfg.version}, this tsformer reads ${VERSION}`);
  const index = readJson(idxPath, "tensor index") as IndexFile;
  if (index.format !== FORMAT || typeof index.tensors !== "object" || index.tensors === null) {
    throw new Error(`loadCheckpoint: ${idxPath} is not a ${FORMAT} index`);
  }
  if (!existsSync(wPath)) throw new Error(`loadCheckpoint: ${wPath} is missing (weights)`);
  const raw = readFileSync(wPath);
  if (raw.length !== index.bytes) throw new Error(`loadCheckpoint: ${wPath} holds ${raw.length} bytes, ${idxPath} expects ${index.bytes}`);
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
  if (fnv1aBytes(bytes) !== index.fnv1a) throw new Error(`loadCheckpoint: ${wPath} is corrupt (its hash does not match ${idxPath})`);
  const stateDict: Record<string, Tensor> = {};
  for (const [name, e] of Object.entries(index.tensors)) {
    const numel = e.shape.reduce((a, b) => a * b, 1);
    if (e.length !== numel * 4 || e.offset < 0 || e.offset + e.length > raw.length || (e.dtype !== "float32" && e.dtype !== "int32")) {
      throw new Error(`loadCheckpoint: ${idxPath} entry "${name}" (${e.dtype} [${e.shape.join(", ")}] at ${e.offset}+${e.length}) does not fit ${wPath}`);
    }
    const copy = bytes.slice(e.offset, e.offset + e.length).buffer;
    stateDict[name] = new Tensor(e.dtype === "float32" ? new Float32Array(copy) : new Int32Array(copy), e.shape);
  }
  return { config: cfg.config, stateDict, meta: cfg.meta };
}

/**
 * Average the weights of checkpoints of one model (the same config, tensor names, dtypes and
 * shapes) into `out`: Vaswani et al. (2017, section 6.1) average the last checkpoints of a run,
 * which evaluates better than the last alone. float32 tensors are averaged elementwise; int32
 * tensors (counters, indices) must be equal in all of them. The config is kept, and the meta
 * records where the average came from.
 */
export function averageCheckpoints(dirs: readonly string[], out: string): void {
  if (dirs.length < 2) throw new Error(`averageCheckpoints: needs at least two checkpoint directories, got ${dirs.length}`);
  const first = loadCheckpoint(dirs[0]);
  const config = JSON.stringify(first.config);
  const sums: Record<string, Float64Array> = {};
  for (const [name, t] of Object.entries(first.stateDict)) if (t.dtype === "float32") sums[name] = Float64Array.from(t.data);
  for (const dir of dirs.slice(1)) {
    const c = loadCheckpoint(dir);
    if (JSON.stringify(c.config) !== config) throw new Error(`averageCheckpoints: ${dir} has another model config than ${dirs[0]}`);
    const names = Object.keys(c.stateDict), want = Object.keys(first.stateDict);
    const missing = want.filter((n) => !(n in c.stateDict)), extra = names.filter((n) => !(n in first.stateDict));
    if (missing.length || extra.length) {
      throw new Error(`averageCheckpoints: ${dir} and ${dirs[0]} hold different tensors (missing ${missing.join(", ") || "none"}; extra ${extra.join(", ") || "none"})`);
    }
    for (const [name, t] of Object.entries(c.stateDict)) {
      const f = first.stateDict[name];
      if (t.dtype !== f.dtype || t.shape.join(",") !== f.shape.join(",")) {
        throw new Error(`averageCheckpoints: "${name}" is ${t.dtype} [${t.shape.join(", ")}] in ${dir} but ${f.dtype} [${f.shape.join(", ")}] in ${dirs[0]}`);
      }
      if (t.dtype === "int32") {
        if (t.data.some((v, i) => v !== f.data[i])) throw new Error(`averageCheckpoints: int32 tensor "${name}" differs between ${dir} and ${dirs[0]}`);
        continue;
      }
      const s = sums[name];
      for (let i = 0; i < s.length; i++) s[i] += t.data[i];
    }
  }
  const stateDict: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(first.stateDict)) {
    stateDict[name] = t.dtype === "int32" ? t : new Tensor(Float32Array.from(sums[name], (v) => v / dirs.length), t.shape);
  }
  saveCheckpoint(out, { config: first.config, stateDict, meta: { averagedFrom: [...dirs] } });
}
