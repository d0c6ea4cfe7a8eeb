// Training checkpoints that survive a crash: model, optimizer state, schedule step, random
// generator state and data position, so that a resumed run continues bit for bit.
//
//   DIR/checkpoint-00000120/        one complete checkpoint per save (the step in the name)
//       model.safetensors           the model's state dict under its own (Hugging Face) names
//       optimizer.safetensors       the optimizer's per-parameter buffers, "state.<i>.<key>"
//       trainer_state.json          step, data position, generator and schedule state, optimizer
//                                   hyper-parameters and scalars, sizes + hashes of both files, extra
//
// Atomicity: a checkpoint is written into a temporary directory, every file fsynced, the
// directory fsynced, then renamed to its final name and the parent fsynced. A directory named
// checkpoint-N is therefore always complete: killing the process at any moment (a save
// included) leaves the previous checkpoint intact. Older checkpoints are renamed away before
// they are deleted, so a half-deleted one never looks like a checkpoint. Loading takes the
// newest checkpoint whose files match their recorded sizes and hashes.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { DataLoader } from "../data/loader.js";
import type { Module } from "../nn/module.js";
import { defaultGenerator, type Generator as RandomGenerator } from "../tensor/random.js";
import { Tensor } from "../tensor/tensor.js";
import type { Optimizer } from "../train/optim/optimizer.js";
import type { LRScheduler } from "../train/optim/schedules.js";
import { fsyncDir, writeFileAtomic } from "./atomic.js";
import { loadSafetensors, saveSafetensors } from "./safetensors.js";

const FORMAT = "tsformer-training-checkpoint";
const VERSION = 1;
const PREFIX = "checkpoint-";

/**
 * Where the data stream stands: `batch` batches of epoch `epoch` are done. The shuffled order
 * of an epoch is drawn from the generator when the epoch starts, so the generator's state at
 * that moment (`epochRngState`) is kept to redraw the same order on resume.
 */
export interface DataPosition {
  epoch: number;
  batch: number;
  epochRngState: number[] | null;
}

export const startPosition: DataPosition = { epoch: 0, batch: 0, epochRngState: null };

/** The objects whose state a checkpoint holds; all but the model are optional. */
export interface TrainingParts {
  model: Module;
  optimizer?: Optimizer<{ lr: number }>;
  scheduler?: LRScheduler;
  /** The generator behind dropout and shuffling (default: the global one). */
  generator?: RandomGenerator;
}

export interface TrainingProgress<E = unknown> {
  /** Optimizer updates done. */
  step: number;
  data: DataPosition;
  /** Anything else as JSON (loss history, best metric, the run's options). */
  extra?: E;
}

export interface RestoredTraining<E = unknown> extends TrainingProgress<E> {
  /** The checkpoint directory that was loaded. */
  path: string;
}

interface FileRecord { bytes: number; fnv1a: number }

interface TrainerState {
  format: string;
  version: number;
  step: number;
  data: DataPosition;
  generator: (number | null)[] | null;
  scheduler: { stepCount: number; baseLrs: number[] } | null;
  optimizer: { groups: unknown[]; scalars: Record<string, number>[]; buffers: string[][] } | null;
  files: Record<string, FileRecord>;
  extra: unknown;
}

function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
  return h >>> 0;
}

function record(path: string): FileRecord {
  const b = readFileSync(path);
  return { bytes: b.length, fnv1a: fnv1a(b) };
}

function checkpointName(step: number): string {
  return `${PREFIX}${String(step).padStart(8, "0")}`;
}

/** Checkpoint directories in DIR, newest (highest step) first. */
export function listTrainingCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith(PREFIX) && /^\d+$/.test(n.slice(PREFIX.length)))
    .sort((a, b) => Number(b.slice(PREFIX.length)) - Number(a.slice(PREFIX.length)))
    .map((n) => join(dir, n));
}

/**
 * Save a checkpoint of `parts` at `progress.step` into DIR (created if needed), atomically;
 * keep the newest `keep` checkpoints (default 2). Returns the checkpoint's directory.
 */
export function saveTrainingCheckpoint<E>(dir: string, parts: TrainingParts, progress: TrainingProgress<E>, options: { keep?: number } = {}): string {
  const keep = options.keep ?? 2;
  mkdirSync(dir, { recursive: true });
  // leftovers of saves that were killed midway
  for (const n of readdirSync(dir)) if (n.startsWith(".tmp-") || n.startsWith(".old-")) rmSync(join(dir, n), { recursive: true, force: true });

  const tmp = join(dir, `.tmp-${process.pid}-${checkpointName(progress.step)}`);
  mkdirSync(tmp);
  saveSafetensors(join(tmp, "model.safetensors"), parts.model.stateDict(), { metadata: { format: "pt" } });
  let optimizer: TrainerState["optimizer"] = null;
  if (parts.optimizer) {
    const sd = parts.optimizer.stateDict();
    const tensors: Record<string, Tensor> = {};
    const scalars: Record<string, number>[] = [], buffers: string[][] = [];
    sd.state.forEach((s, i) => {
      const sc: Record<string, number> = {}, bufs: string[] = [];
      for (const [k, v] of Object.entries(s)) {
        if (typeof v === "number") sc[k] = v;
        else {
          tensors[`state.${i}.${k}`] = new Tensor(Float32Array.from(v), [v.length]);
          bufs.push(k);
        }
      }
      scalars.push(sc);
      buffers.push(bufs);
    });
    saveSafetensors(join(tmp, "optimizer.safetensors"), tensors);
    optimizer = { groups: sd.groups, scalars, buffers };
  }
  const files: Record<string, FileRecord> = { "model.safetensors": record(join(tmp, "model.safetensors")) };
  if (optimizer) files["optimizer.safetensors"] = record(join(tmp, "optimizer.safetensors"));
  const g = (parts.generator ?? defaultGenerator).getState();
  const state: TrainerState = {
    format: FORMAT, version: VERSION, step: progress.step, data: progress.data,
    generator: g.map((v) => (Number.isNaN(v) ? null : v)),
    scheduler: parts.scheduler ? parts.scheduler.stateDict() : null,
    optimizer, files, extra: progress.extra ?? null,
  };
  writeFileAtomic(join(tmp, "trainer_state.json"), JSON.stringify(state));
  fsyncDir(tmp);

  const final = join(dir, checkpointName(progress.step));
  if (existsSync(final)) renameSync(final, join(dir, `.old-${process.pid}-${checkpointName(progress.step)}`));
  renameSync(tmp, final);
  fsyncDir(dir);
  // Prune: rename first, so a deletion cut short leaves no half checkpoint under a valid name.
  for (const old of listTrainingCheckpoints(dir).slice(keep)) {
    const trash = join(dir, `.old-${process.pid}-${old.slice(old.lastIndexOf("/") + 1)}`);
    renameSync(old, trash);
    rmSync(trash, { recursive: true, force: true });
  }
  for (const n of readdirSync(dir)) if (n.startsWith(".old-")) rmSync(join(dir, n), { recursive: true, force: true });
  return final;
}

/** Read and verify one checkpoint directory; throws naming the file at fault. */
function readCheckpoint(path: string): { state: TrainerState; model: Record<string, Tensor>; optimizer: Record<string, Tensor> | null } {
  const statePath = join(path, "trainer_state.json");
  if (!existsSync(statePath)) throw new Error(`${statePath} is missing`);
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(statePath, "utf8")) as TrainerState;
  } catch (e) {
    throw new Error(`${statePath} is not valid JSON (${(e as Error).message})`);
  }
  if (state.format !== FORMAT) throw new Error(`${statePath} is not a ${FORMAT} file`);
  if (state.version !== VERSION) throw new Error(`${statePath} has version ${state.version}; this tsformer reads ${VERSION}`);
  for (const [name, rec] of Object.entries(state.files ?? {})) {
    const p = join(path, name);
    if (!existsSync(p)) throw new Error(`${p} is missing`);
    const got = record(p);
    if (got.bytes !== rec.bytes || got.fnv1a !== rec.fnv1a) {
      throw new Error(`${p} does not match ${statePath} (${got.bytes} bytes, hash ${got.fnv1a}; expected ${rec.bytes} bytes, hash ${rec.fnv1a})`);
    }
  }
  const model = loadSafetensors(join(path, "model.safetensors")).tensors;
  const optimizer = state.optimizer ? loadSafetensors(join(path, "optimizer.safetensors")).tensors : null;
  return { state, model, optimizer };
}

/** The newest checkpoint in DIR that verifies, or null when DIR holds none. */
export function latestTrainingCheckpoint(dir: string): string | null {
  for (const p of listTrainingCheckpoints(dir)) {
    try {
      readCheckpoint(p);
      return p;
    } catch {
      // an unreadable checkpoint: try the one before it
    }
  }
  return null;
}

/**
 * Restore the newest valid checkpoint of DIR into `parts` and return its progress; null when
 * DIR has no checkpoint at all. If checkpoints exist but none verifies, throws with each reason.
 */
export function loadTrainingCheckpoint<E = unknown>(dir: string, parts: TrainingParts): RestoredTraining<E> | null {
  const candidates = listTrainingCheckpoints(dir);
  if (candidates.length === 0) return null;
  const reasons: string[] = [];
  for (const path of candidates) {
    let c: ReturnType<typeof readCheckpoint>;
    try {
      c = readCheckpoint(path);
    } catch (e) {
      reasons.push((e as Error).message);
      continue;
    }
    restore(path, c, parts);
    return { path, step: c.state.step, data: c.state.data, extra: c.state.extra as E };
  }
  throw new Error(`loadTrainingCheckpoint: no readable checkpoint in ${dir}:\n  ${reasons.join("\n  ")}`);
}

function restore(path: string, c: ReturnType<typeof readCheckpoint>, parts: TrainingParts): void {
  parts.model.loadStateDict(c.model);
  const { state } = c;
  if (parts.optimizer) {
    if (!state.optimizer || !c.optimizer) throw new Error(`loadTrainingCheckpoint: ${path} holds no optimizer state`);
    const params = parts.optimizer.paramGroups.flatMap((g) => g.params);
    const { scalars, buffers, groups } = state.optimizer;
    if (scalars.length !== params.length) {
      throw new Error(`loadTrainingCheckpoint: ${path} holds optimizer state for ${scalars.length} parameters; the optimizer has ${params.length}`);
    }
    const st = params.map((p, i) => {
      const s: Record<string, number | number[]> = { ...scalars[i] };
      for (const k of buffers[i]) {
        const t = c.optimizer![`state.${i}.${k}`];
        if (!t || t.numel !== p.numel) {
          throw new Error(`loadTrainingCheckpoint: ${path}/optimizer.safetensors "state.${i}.${k}" has ${t ? t.numel : "no"} values; parameter ${i} has ${p.numel}`);
        }
        s[k] = Array.from(t.data);
      }
      return s;
    });
    parts.optimizer.loadStateDict({ groups: groups as { lr: number }[], state: st });
  }
  if (parts.scheduler) {
    if (!state.scheduler) throw new Error(`loadTrainingCheckpoint: ${path} holds no schedule state`);
    parts.scheduler.loadStateDict(state.scheduler);
  }
  if (state.generator) (parts.generator ?? defaultGenerator).setState(state.generator.map((v) => (v === null ? NaN : v)));
}

export interface ResumableBatch {
  epoch: number;
  /** Index of this batch in its epoch. */
  batch: number;
  tensors: Tensor[];
  /** True for the last batch of an epoch. */
  epochEnd: boolean;
  /** The position after this batch: what to save with a checkpoint taken now. */
  next: DataPosition;
}

/**
 * The batches of `epochs` epochs, starting at `start` (a fresh run: startPosition). On resume
 * mid-epoch, the epoch's shuffled order is redrawn from its saved generator state and the
 * batches already done are skipped; the generator then continues from where it stood.
 */
export function* resumableBatches(loader: DataLoader, epochs: number, start: DataPosition = startPosition, generator?: RandomGenerator): Generator<ResumableBatch> {
  const g = generator ?? loader.options.generator ?? defaultGenerator;
  const n = loader.numBatches;
  for (let epoch = start.epoch; epoch < epochs; epoch++) {
    const resumingMidEpoch = epoch === start.epoch && start.batch > 0;
    let epochRngState: number[];
    let current: number[] | null = null;
    if (resumingMidEpoch) {
      if (!start.epochRngState) throw new Error(`resumableBatches: position ${JSON.stringify(start)} is mid-epoch but has no epoch generator state`);
      current = g.getState();
      epochRngState = start.epochRngState.map((v) => (v === null ? NaN : v));
      g.setState(epochRngState);
    } else {
      epochRngState = g.getState();
    }
    let batch = 0;
    const it = loader[Symbol.iterator]();
    for (let r = it.next(); !r.done; r = it.next()) {
      if (resumingMidEpoch && batch < start.batch) {
        batch++;
        // the order is drawn on the first batch: now go back to where the generator stood
        if (batch === start.batch) g.setState(current!);
        continue;
      }
      const epochEnd = batch === n - 1;
      const next: DataPosition = epochEnd
        ? { epoch: epoch + 1, batch: 0, epochRngState: null }
        : { epoch, batch: batch + 1, epochRngState: epochRngState.map((v) => (Number.isNaN(v) ? null : v)) as number[] };
      yield { epoch, batch, tensors: r.value, epochEnd, next };
      batch++;
    }
  }
}
