// The Hugging Face checkpoint directory: config.json beside model.safetensors, or beside
// model.safetensors.index.json and its shards (model-00001-of-0000N.safetensors).
//
// Loading maps the checkpoint's names onto the model's own (which are Hugging Face's) the way
// transformers' `from_pretrained` does: the base-model prefix ("vit.", "transformer.", "bert.")
// is added or stripped as the model expects, legacy LayerNorm names (gamma/beta) are renamed,
// tied copies (GPT-2's lm_head, BERT's decoder) are checked against what they are tied to,
// known buffers (causal masks, position ids) are dropped. Whatever is still missing or left
// over is an error that lists the names. Tensors are read one at a time, straight into the
// parameters, so loading needs no second copy of the model.

import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Module } from "../../nn/module.js";
import { defaultGenerator } from "../../tensor/random.js";
import { formatShape } from "../../tensor/shape.js";
import type { Tensor } from "../../tensor/tensor.js";
import { writeFileAtomic } from "../atomic.js";
import { DTYPE_BYTES, SafetensorsFile, saveSafetensors, type SaveOptions } from "../safetensors.js";

export type HFConfig = Record<string, unknown>;

/** How one model class reads and writes its Hugging Face layout. */
export interface PretrainedSpec<C, M extends Module> {
  /** The class name transformers uses (and config.json's `architectures`). */
  architecture: string;
  /** config.json's `model_type`. */
  modelType: string;
  /** transformers' `base_model_prefix` ("vit", "transformer", "bert"). */
  basePrefix: string;
  configFromHF(hf: HFConfig, where: string): C;
  configToHF(c: C): HFConfig;
  create(config: C): M;
  /** Checkpoint names (after prefix mapping) that the model does not use and may drop. */
  ignore?: RegExp[];
  /** [copy, original]: a copy that must equal the original (tied weights); it stands in when the original is absent. */
  tied?: [string, string][];
  /** Throws when this instance cannot be written in the layout (a variant the family's layout does not describe). */
  checkSavable?(model: M): void;
  /** Number of classes, for models with a classifier (config.json then carries id2label/label2id). */
  numLabels?(c: C): number;
}

export interface FromPretrainedOptions {
  /** false: leave missing parameters as initialised and drop unknown names (default true: refuse both). */
  strict?: boolean;
}

export interface SavePretrainedOptions {
  /** Split the weights into shards of at most this many bytes (with model.safetensors.index.json). */
  maxShardSize?: number;
  /** Store float weights as F16/BF16 (default F32, which loads back bit for bit). */
  floatDType?: SaveOptions["floatDType"];
}

export interface LoadReport {
  /** Parameters the checkpoint did not hold (only with strict: false). */
  missing: string[];
  /** Checkpoint names that were not used. */
  unused: string[];
}

/** The raw config.json a model was loaded from, so that saving keeps its other keys (id2label, ...). */
const loadedConfigs = new WeakMap<Module, HFConfig>();

function readJson(path: string): HFConfig {
  if (!existsSync(path)) throw new Error(`fromPretrained: ${path} is missing`);
  try {
    const v = JSON.parse(readFileSync(path, "utf8"));
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not a JSON object");
    return v as HFConfig;
  } catch (e) {
    throw new Error(`fromPretrained: ${path} is not valid JSON (${(e as Error).message})`);
  }
}

/** A checkpoint's tensors by name across its files, read lazily. */
class CheckpointFiles {
  private files = new Map<string, SafetensorsFile>();
  readonly where = new Map<string, SafetensorsFile>();

  constructor(dir: string) {
    const single = join(dir, "model.safetensors"), index = join(dir, "model.safetensors.index.json");
    try {
      if (existsSync(single)) {
        this.add(single);
      } else if (existsSync(index)) {
        const idx = readJson(index) as { weight_map?: Record<string, string> };
        if (typeof idx.weight_map !== "object" || idx.weight_map === null) throw new Error(`fromPretrained: ${index} has no weight_map`);
        for (const [name, file] of Object.entries(idx.weight_map)) {
          if (typeof file !== "string" || file.includes("/") || file.includes("\\")) throw new Error(`fromPretrained: ${index} maps "${name}" to ${JSON.stringify(file)}, not a file in ${dir}`);
          const f = this.files.get(file) ?? this.add(join(dir, file), file);
          if (!f.has(name)) throw new Error(`fromPretrained: ${index} puts "${name}" in ${file}, which does not hold it`);
        }
        // the index is the list: a tensor in a shard but not in the index is not part of the model
        for (const name of [...this.where.keys()]) if (!(name in idx.weight_map)) this.where.delete(name);
      } else {
        throw new Error(`fromPretrained: ${dir} holds neither model.safetensors nor model.safetensors.index.json`);
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private add(path: string, key = path): SafetensorsFile {
    const f = SafetensorsFile.open(path);
    this.files.set(key, f);
    for (const k of f.keys()) {
      if (this.where.has(k)) throw new Error(`fromPretrained: tensor "${k}" appears in both ${this.where.get(k)!.path} and ${path}`);
      this.where.set(k, f);
    }
    return f;
  }

  get(name: string): Tensor {
    return this.where.get(name)!.get(name);
  }

  close(): void {
    for (const f of this.files.values()) f.close();
  }
}

/**
 * Build a model without drawing random initial values (the idea of transformers'
 * no_init_weights): the default generator answers constants meanwhile, and its state is put
 * back afterwards, so loading neither pays for values it overwrites nor moves the user's stream.
 * Constructing GPT-2 small this way takes a few percent of the time.
 */
function withoutRandomInit<T>(create: () => T): T {
  const g = defaultGenerator as unknown as { normal(): number; random(): number };
  const state = defaultGenerator.getState();
  g.normal = () => 0;
  g.random = () => 0.5;
  try {
    return create();
  } finally {
    delete (g as { normal?: unknown }).normal;
    delete (g as { random?: unknown }).random;
    defaultGenerator.setState(state);
  }
}

/** Old TensorFlow conversions name LayerNorm's parameters gamma and beta (transformers renames them the same way). */
function legacyRename(name: string): string {
  return name.replace(/(^|\.)gamma$/, "$1weight").replace(/(^|\.)beta$/, "$1bias");
}

/** Read config.json and the weights of DIR into a new model of this spec, in eval mode. */
export function loadPretrained<C, M extends Module>(spec: PretrainedSpec<C, M>, dir: string, options: FromPretrainedOptions = {}): { model: M; report: LoadReport } {
  const strict = options.strict ?? true;
  const cfgPath = join(dir, "config.json");
  const hf = readJson(cfgPath);
  if (hf.model_type !== undefined && hf.model_type !== spec.modelType) {
    throw new Error(`fromPretrained: ${cfgPath} has model_type "${hf.model_type}", but ${spec.architecture} reads "${spec.modelType}"`);
  }
  const config = spec.configFromHF(hf, cfgPath);
  const files = new CheckpointFiles(dir);
  let model: M;
  try {
    // strict: every parameter is about to be overwritten, so skip drawing its random init
    model = strict ? withoutRandomInit(() => spec.create(config)) : spec.create(config);
  } catch (e) {
    files.close();
    throw e;
  }
  try {
    const own = model.stateDict();
    const ownNames = new Set(Object.keys(own));
    const prefix = spec.basePrefix + ".";
    const expectsPrefix = [...ownNames].some((n) => n.startsWith(prefix));
    const rawNames = [...files.where.keys()];
    const hasPrefix = rawNames.some((n) => legacyRename(n).startsWith(prefix));
    // checkpoint name -> model name
    const source = new Map<string, string>();
    const unused: string[] = [];
    for (const raw of rawNames) {
      let name = legacyRename(raw);
      if (!expectsPrefix && hasPrefix) {
        // a base model from a checkpoint with a head: keep the base, drop the head
        if (!name.startsWith(prefix)) {
          unused.push(raw);
          continue;
        }
        name = name.slice(prefix.length);
      } else if (expectsPrefix && !hasPrefix && !ownNames.has(name)) {
        // a model with a head from a base-model checkpoint: base names gain the prefix
        const p = prefix + name;
        if (ownNames.has(p) || (spec.ignore ?? []).some((re) => re.test(p))) name = p;
      }
      if (source.has(name)) throw new Error(`fromPretrained: ${dir}: "${source.get(name)}" and "${raw}" both map to "${name}"`);
      source.set(name, raw);
    }
    // tied copies: check against (or stand in for) the original
    for (const [copy, original] of spec.tied ?? []) {
      const c = source.get(copy);
      if (c === undefined) continue;
      source.delete(copy);
      if (!ownNames.has(original)) {
        unused.push(c);
        continue;
      }
      const o = source.get(original);
      if (o === undefined) {
        source.set(original, c);
        continue;
      }
      const a = files.get(c), b = files.get(o);
      if (formatShape(a.shape) !== formatShape(b.shape) || a.data.some((v, i) => !Object.is(v, b.data[i]))) {
        throw new Error(`fromPretrained: ${dir}: "${c}" differs from "${o}"; ${spec.architecture} ties them (untied output weights are not supported)`);
      }
    }
    for (const [name, raw] of [...source]) {
      if (!ownNames.has(name) && (spec.ignore ?? []).some((re) => re.test(name))) {
        source.delete(name);
        unused.push(raw);
      }
    }
    const missing = [...ownNames].filter((n) => !source.has(n));
    const unexpected = [...source.keys()].filter((n) => !ownNames.has(n));
    if (strict && (missing.length || unexpected.length)) {
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.join(", ")}`);
      if (unexpected.length) parts.push(`unexpected ${unexpected.map((n) => source.get(n)).join(", ")}`);
      throw new Error(`fromPretrained: ${dir} does not fit ${spec.architecture}: ${parts.join("; ")}`);
    }
    // every shape checked from the headers before anything is read
    const misShaped: string[] = [];
    for (const [name, raw] of source) {
      if (!ownNames.has(name)) continue;
      const shape = files.where.get(raw)!.info(raw).shape;
      if (formatShape(shape) !== formatShape(own[name].shape)) misShaped.push(`"${raw}" is ${formatShape(shape)}, expected ${formatShape(own[name].shape)}`);
    }
    if (misShaped.length) {
      throw new Error(`fromPretrained: ${dir}: tensors do not fit ${spec.architecture} (does config.json match the weights?): ${misShaped.join("; ")}`);
    }
    for (const [name, raw] of source) {
      if (!ownNames.has(name)) {
        unused.push(raw);
        continue;
      }
      const t = files.get(raw), p = own[name];
      if (t.dtype !== p.dtype) throw new Error(`fromPretrained: ${files.where.get(raw)!.path}: "${raw}" holds ${t.dtype} values, "${name}" is ${p.dtype}`);
      p.data.set(t.data);
    }
    model.eval();
    loadedConfigs.set(model, hf);
    return { model, report: { missing, unused } };
  } finally {
    files.close();
  }
}

/** The i-th shard's file name, as transformers names them. */
function shardName(i: number, n: number): string {
  return `model-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
}

/** Write config.json and the weights (one file, or shards with an index) into DIR. */
export function savePretrained<C, M extends Module & { config: C }>(spec: PretrainedSpec<C, M>, model: M, dir: string, options: SavePretrainedOptions = {}): void {
  spec.checkSavable?.(model);
  mkdirSync(dir, { recursive: true });
  const sd = model.stateDict();
  const save: SaveOptions = { metadata: { format: "pt" }, floatDType: options.floatDType };
  const bytesPer = DTYPE_BYTES[options.floatDType ?? "F32"];
  const names = Object.keys(sd);
  const shards: string[][] = [[]];
  let size = 0;
  for (const n of names) {
    const b = sd[n].numel * (sd[n].dtype === "float32" ? bytesPer : 4);
    if (options.maxShardSize && size > 0 && size + b > options.maxShardSize) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(n);
    size += b;
  }
  const index = join(dir, "model.safetensors.index.json"), single = join(dir, "model.safetensors");
  if (shards.length === 1) {
    saveSafetensors(single, sd, save);
    rmSync(index, { force: true });
  } else {
    const weightMap: Record<string, string> = {};
    let total = 0;
    shards.forEach((group, i) => {
      const part: Record<string, Tensor> = {};
      for (const n of group) {
        part[n] = sd[n];
        weightMap[n] = shardName(i, shards.length);
        total += sd[n].numel * (sd[n].dtype === "float32" ? bytesPer : 4);
      }
      saveSafetensors(join(dir, shardName(i, shards.length)), part, save);
    });
    writeFileAtomic(index, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + "\n");
    rmSync(single, { force: true });
  }
  const loaded = loadedConfigs.get(model) ?? {};
  const hf: HFConfig = { ...loaded, ...spec.configToHF(model.config) };
  if (spec.numLabels) {
    // keep the loaded label names while their count still matches the classifier
    const n = spec.numLabels(model.config);
    const names = loaded.id2label as Record<string, string> | undefined;
    if (!names || Object.keys(names).length !== n) Object.assign(hf, labelMaps(n));
  }
  hf.architectures = [spec.architecture];
  hf.model_type = spec.modelType;
  hf.torch_dtype = options.floatDType === "F16" ? "float16" : options.floatDType === "BF16" ? "bfloat16" : "float32";
  writeFileAtomic(join(dir, "config.json"), JSON.stringify(hf, null, 2) + "\n");
}

// --- reading config values ---------------------------------------------------------------------

/** Typed reads of config.json values with defaults, each error naming the key and the file. */
export class ConfigReader {
  constructor(readonly hf: HFConfig, readonly where: string) {}

  int(key: string, fallback: number, min = 1): number {
    const v = this.hf[key] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new Error(`fromPretrained: ${this.where}: "${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  }

  num(key: string, fallback: number): number {
    const v = this.hf[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new Error(`fromPretrained: ${this.where}: "${key}" must be a non-negative number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.hf[key] ?? fallback;
    if (typeof v !== "boolean") throw new Error(`fromPretrained: ${this.where}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[], why = ""): T {
    const v = this.hf[key] ?? fallback;
    if (!allowed.includes(v as T)) throw new Error(`fromPretrained: ${this.where}: "${key}" is ${JSON.stringify(v)}; tsformer supports ${allowed.map((a) => JSON.stringify(a)).join(", ")}${why}`);
    return v as T;
  }

  /** Must equal `expected` when present. */
  require(key: string, expected: unknown, why: string): void {
    const v = this.hf[key];
    if (v !== undefined && v !== null && v !== expected) throw new Error(`fromPretrained: ${this.where}: "${key}" is ${JSON.stringify(v)}; ${why}`);
  }

  /** num_labels from id2label (as transformers does), else num_labels, else 2. */
  numLabels(): number {
    const id2label = this.hf.id2label;
    if (id2label !== undefined && id2label !== null) {
      if (typeof id2label !== "object" || Array.isArray(id2label)) throw new Error(`fromPretrained: ${this.where}: "id2label" must be an object`);
      return Object.keys(id2label).length;
    }
    return this.int("num_labels", 2);
  }
}

/** transformers' default id2label / label2id for n classes (LABEL_0, LABEL_1, ...). */
export function labelMaps(n: number): HFConfig {
  const id2label: Record<string, string> = {}, label2id: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    id2label[String(i)] = `LABEL_${i}`;
    label2id[`LABEL_${i}`] = i;
  }
  return { id2label, label2id };
}

/** The loaded config.json of a model (if it came from fromPretrained). */
export function loadedHFConfig(model: Module): HFConfig | undefined {
  return loadedConfigs.get(model);
}
