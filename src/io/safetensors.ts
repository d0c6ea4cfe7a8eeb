// safetensors: the tensor file format of Hugging Face (https://github.com/huggingface/safetensors).
//
//   [8 bytes]  N, the header length, unsigned 64-bit little-endian
//   [N bytes]  a UTF-8 JSON object: { "__metadata__"?: { string: string },
//                                      name: { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ... }
//   [rest]     the data buffer; each tensor's little-endian row-major bytes lie at [begin, end)
//              of it, and the tensors tile the buffer exactly (no gaps, no overlaps).
//
// Reading is lazy: SafetensorsFile reads the header only, then each tensor's bytes from their
// offsets on demand, so a large checkpoint never sits in memory twice. tsformer computes in
// float32 and int32: F16, BF16 and F64 convert to float32; I64, U64, U32, I16, U16, I8, U8 and
// BOOL to int32 (integers that do not fit int32 are an error, never a silent wrap).
//
// Everything a malformed file can get wrong is checked before any tensor is read, and each
// error names the file, the tensor and what was expected.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { Tensor } from "../tensor/tensor.js";
import { writeFileAtomic } from "./atomic.js";

export type SafetensorsDType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U64" | "U32" | "U16" | "U8" | "BOOL";

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** The order of the reference writer's dtype enum; it writes tensors by dtype descending, then name. */
const DTYPE_RANK: readonly SafetensorsDType[] = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

/** Header lengths above this are refused before anything is allocated (the reference library's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Tensor name -> info, in data-offset order. */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string> | null;
}

/** A tensor in any safetensors dtype, as raw little-endian bytes (for writing dtypes tsformer does not compute in). */
export interface RawTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: Uint8Array;
}

function fail(source: string, msg: string): never {
  throw new Error(`safetensors: ${source}: ${msg}`);
}

function isDType(d: unknown): d is SafetensorsDType {
  return typeof d === "string" && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, d);
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/**
 * Parse and validate a header against the size of the data buffer that follows it.
 * Throws an Error naming `source` and the tensor at fault for anything malformed.
 */
export function parseHeader(headerBytes: Uint8Array, dataBytes: number, source: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    fail(source, "the header is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(source, `the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail(source, "the header is not a JSON object");
  let metadata: Record<string, string> | null = null;
  const entries: [string, TensorInfo][] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (v === null) continue;
      if (typeof v !== "object" || Array.isArray(v)) fail(source, "__metadata__ must be an object of strings");
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== "string") fail(source, `__metadata__ value for "${k}" is ${JSON.stringify(s)}, not a string`);
      }
      metadata = { ...(v as Record<string, string>) };
      continue;
    }
    const where = `tensor "${name}"`;
    // "__proto__" would set a prototype instead of a key in the records we return
    if (name === "__proto__") fail(source, `"__proto__" is not allowed as a tensor name`);
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(source, `${where}: its entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = v as Record<string, unknown>;
    if (!isDType(dtype)) fail(source, `${where}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(", ")})`);
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(source, `${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail(source, `${where}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(source, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataBytes) fail(source, `${where}: data_offsets [${begin}, ${end}] lie beyond the data buffer of ${dataBytes} bytes`);
    let numel = 1;
    for (const d of shape as number[]) {
      numel *= d;
      if (!Number.isSafeInteger(numel * 8)) fail(source, `${where}: shape [${shape.join(", ")}] is too large`);
    }
    const need = numel * DTYPE_BYTES[dtype];
    if (need !== end - begin) {
      fail(source, `${where}: ${dtype} [${shape.join(", ")}] needs ${need} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.push([name, { dtype, shape: [...(shape as number[])], dataOffsets: [begin, end] }]);
  }
  // The tensors must tile the data buffer: sorted by offset, each starts where the last ended.
  entries.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let pos = 0, prev = "the start of the data buffer";
  for (const [name, info] of entries) {
    const [begin, end] = info.dataOffsets;
    if (begin < pos) fail(source, `tensor "${name}" at [${begin}, ${end}] overlaps ${prev} (which ends at ${pos})`);
    if (begin > pos) fail(source, `a gap of ${begin - pos} bytes lies between ${prev} and tensor "${name}" at [${begin}, ${end}]`);
    pos = end;
    prev = `tensor "${name}"`;
  }
  if (pos !== dataBytes) fail(source, `the data buffer holds ${dataBytes} bytes but the tensors cover ${pos} (${dataBytes - pos} bytes unaccounted for)`);
  return { tensors: new Map(entries), metadata };
}

/** Read the 8-byte length; validate it against the total size. */
function headerLength(prefix: Uint8Array, totalBytes: number, source: string): number {
  if (totalBytes < 8) fail(source, `the file holds ${totalBytes} bytes, too few for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(source, `header length ${n} is absurdly large (the limit is ${MAX_HEADER_BYTES} bytes)`);
  if (Number(n) > totalBytes - 8) fail(source, `header length ${n} runs past the end of the file (${totalBytes} bytes)`);
  return Number(n);
}

// --- dtype conversion ------------------------------------------------------------------------

/** IEEE 754 half -> float32 value. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24; // subnormal (and zero)
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE 754 half bits, rounding to nearest even (as PyTorch's .half()). */
export function floatToHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf or NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    mant |= 0x800000; // make the implicit bit explicit, then shift into a subnormal
    const shift = 14 - e;
    const half = mant >>> shift, rem = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13), rem = mant & 0x1fff;
  // a carry out of the mantissa correctly bumps the exponent (up to inf)
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && (half & 1)) ? 1 : 0));
}

/** float32 -> bfloat16 bits, rounding to nearest even (as PyTorch's .bfloat16()). */
export function floatToBf16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff)) return ((x >>> 16) | 0x40) & 0xffff; // NaN stays NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Convert a tensor's bytes (their own buffer, starting at 0) to a float32 or int32 Tensor. */
function toTensor(info: TensorInfo, b: Uint8Array, name: string, source: string): Tensor {
  const n = info.shape.reduce((a, c) => a * c, 1);
  const where = `tensor "${name}" (${info.dtype})`;
  const int32 = (get: (i: number) => number): Tensor => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = get(i);
    return new Tensor(out, info.shape);
  };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (info.dtype) {
    case "F32":
      return new Tensor(new Float32Array(b.buffer, b.byteOffset, n), info.shape);
    case "I32":
      return new Tensor(new Int32Array(b.buffer, b.byteOffset, n), info.shape);
    case "F16": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return new Tensor(out, info.shape);
    }
    case "BF16": {
      const out = new Float32Array(n), o32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) o32[i] = dv.getUint16(2 * i, true) << 16;
      return new Tensor(out, info.shape);
    }
    case "F64": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getFloat64(8 * i, true);
        out[i] = v;
        if (Number.isFinite(v) && !Number.isFinite(out[i])) fail(source, `${where} holds ${v} at index ${i}, beyond float32's range`);
      }
      return new Tensor(out, info.shape);
    }
    case "I64": case "U64":
      return int32((i) => {
        const lo = dv.getInt32(8 * i, true), hi = dv.getInt32(8 * i + 4, true);
        // fits int32 iff the high word is the sign extension of the low word (and, unsigned, non-negative)
        if (hi !== lo >> 31 || (info.dtype === "U64" && lo < 0)) {
          const v = info.dtype === "I64" ? dv.getBigInt64(8 * i, true) : dv.getBigUint64(8 * i, true);
          fail(source, `${where} holds ${v} at index ${i}, which does not fit int32`);
        }
        return lo;
      });
    case "U32":
      return int32((i) => {
        const v = dv.getUint32(4 * i, true);
        if (v > 0x7fffffff) fail(source, `${where} holds ${v} at index ${i}, which does not fit int32`);
        return v;
      });
    case "I16": return int32((i) => dv.getInt16(2 * i, true));
    case "U16": return int32((i) => dv.getUint16(2 * i, true));
    case "I8": return int32((i) => dv.getInt8(i));
    case "U8": return int32((i) => b[i]);
    case "BOOL":
      return int32((i) => {
        if (b[i] > 1) fail(source, `${where} holds byte ${b[i]} at index ${i}; a bool is 0 or 1`);
        return b[i];
      });
  }
}

// --- reading -----------------------------------------------------------------------------------

/** An open safetensors file: header parsed and validated, tensors read on demand by offset. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private fd: number | null,
    readonly header: SafetensorsHeader,
    /** Byte position of the data buffer in the file (8 + header length). */
    readonly dataStart: number,
  ) {}

  /** Open and validate; reads only the 8-byte length and the header. */
  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      throw new Error(`safetensors: cannot open ${path}: ${(e as Error).message}`);
    }
    try {
      const size = fstatSync(fd).size;
      const prefix = new Uint8Array(8);
      if (size >= 8) readExactly(fd, prefix, 0, path);
      const n = headerLength(prefix, size, path);
      const hb = new Uint8Array(n);
      readExactly(fd, hb, 8, path);
      const header = parseHeader(hb, size - 8 - n, path);
      return new SafetensorsFile(path, fd, header, 8 + n);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  get metadata(): Record<string, string> | null {
    return this.header.metadata;
  }

  /** Tensor names in file order. */
  keys(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const i = this.header.tensors.get(name);
    if (!i) throw new Error(`safetensors: ${this.path} has no tensor "${name}"`);
    return i;
  }

  /** One tensor's raw bytes, read from its offsets. */
  readRaw(name: string): RawTensor {
    const info = this.info(name);
    if (this.fd === null) throw new Error(`safetensors: ${this.path} is closed`);
    const [begin, end] = info.dataOffsets;
    const b = new Uint8Array(end - begin);
    readExactly(this.fd, b, this.dataStart + begin, this.path);
    return { dtype: info.dtype, shape: [...info.shape], data: b };
  }

  /** One tensor, converted to float32 or int32. */
  get(name: string): Tensor {
    const raw = this.readRaw(name);
    return toTensor(this.info(name), raw.data, name, this.path);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function readExactly(fd: number, into: Uint8Array, position: number, path: string): void {
  let off = 0;
  while (off < into.length) {
    const got = readSync(fd, into, off, into.length - off, position + off);
    if (got === 0) throw new Error(`safetensors: ${path} ended early (it changed while being read?)`);
    off += got;
  }
}

/** Every tensor of a file (read one at a time) and its metadata. */
export function loadSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> | null } {
  const f = SafetensorsFile.open(path);
  try {
    const tensors: Record<string, Tensor> = {};
    for (const k of f.keys()) tensors[k] = f.get(k);
    return { tensors, metadata: f.metadata };
  } finally {
    f.close();
  }
}

/** Parse a whole safetensors file held in memory. */
export function decodeSafetensors(bytes: Uint8Array, source = "buffer"): { tensors: Record<string, Tensor>; metadata: Record<string, string> | null } {
  const n = headerLength(bytes, bytes.length, source);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, source);
  const tensors: Record<string, Tensor> = {};
  for (const [name, info] of header.tensors) {
    const [b, e] = info.dataOffsets;
    tensors[name] = toTensor(info, bytes.slice(8 + n + b, 8 + n + e), name, source);
  }
  return { tensors, metadata: header.metadata };
}

// --- writing -----------------------------------------------------------------------------------

export interface SaveOptions {
  /** Free-form string metadata (`__metadata__`); Hugging Face writes { format: "pt" }. */
  metadata?: Record<string, string>;
  /** Store float32 tensors as this dtype (default F32). */
  floatDType?: "F32" | "F16" | "BF16" | "F64";
  /** Store int32 tensors as this dtype (default I32). */
  intDType?: "I32" | "I64";
}

function toRaw(name: string, t: Tensor | RawTensor, o: SaveOptions): RawTensor {
  if (!(t instanceof Tensor)) {
    if (!isDType(t.dtype)) throw new Error(`safetensors: tensor "${name}" has unknown dtype ${JSON.stringify(t.dtype)}`);
    const need = t.shape.reduce((a, c) => a * c, 1) * DTYPE_BYTES[t.dtype];
    if (t.data.length !== need) throw new Error(`safetensors: tensor "${name}" is ${t.dtype} [${t.shape.join(", ")}] (${need} bytes) but holds ${t.data.length} bytes`);
    return t;
  }
  const n = t.numel;
  const dtype = t.dtype === "float32" ? o.floatDType ?? "F32" : o.intDType ?? "I32";
  const src = t.data;
  // the tensor's own bytes, no copy (so saving never doubles memory)
  if (dtype === "F32" || dtype === "I32") return { dtype, shape: [...t.shape], data: new Uint8Array(src.buffer, src.byteOffset, n * 4) };
  const out = new Uint8Array(n * DTYPE_BYTES[dtype]);
  const dv = new DataView(out.buffer);
  switch (dtype) {
    case "F16": for (let i = 0; i < n; i++) dv.setUint16(2 * i, floatToHalfBits(src[i]), true); break;
    case "BF16": for (let i = 0; i < n; i++) dv.setUint16(2 * i, floatToBf16Bits(src[i]), true); break;
    case "F64": for (let i = 0; i < n; i++) dv.setFloat64(8 * i, src[i], true); break;
    case "I64": for (let i = 0; i < n; i++) dv.setBigInt64(8 * i, BigInt(src[i]), true); break;
  }
  return { dtype, shape: [...t.shape], data: out };
}

/**
 * Lay out the file: tensors ordered as the reference writer orders them (dtype descending,
 * then name), the header padded with spaces so the data buffer starts 8-byte aligned.
 */
function layout(tensors: Record<string, Tensor | RawTensor>, o: SaveOptions): { prefix: Uint8Array; chunks: RawTensor[] } {
  if (Object.prototype.hasOwnProperty.call(tensors, "__metadata__")) throw new Error(`safetensors: "__metadata__" is reserved and cannot name a tensor`);
  if (Object.prototype.hasOwnProperty.call(tensors, "__proto__")) throw new Error(`safetensors: "__proto__" is not allowed as a tensor name`);
  const raws = Object.entries(tensors).map(([k, t]) => [k, toRaw(k, t, o)] as const);
  raws.sort((a, b) => DTYPE_RANK.indexOf(b[1].dtype) - DTYPE_RANK.indexOf(a[1].dtype) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (o.metadata) {
    const md: Record<string, string> = {};
    for (const k of Object.keys(o.metadata).sort()) {
      if (typeof o.metadata[k] !== "string") throw new Error(`safetensors: metadata "${k}" must be a string`);
      md[k] = o.metadata[k];
    }
    header.__metadata__ = md;
  }
  let pos = 0;
  for (const [k, r] of raws) {
    header[k] = { dtype: r.dtype, shape: r.shape, data_offsets: [pos, pos + r.data.length] };
    pos += r.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const prefix = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
  return { prefix, chunks: raws.map(([, r]) => r) };
}

/** The bytes of a safetensors file holding these tensors. */
export function encodeSafetensors(tensors: Record<string, Tensor | RawTensor>, options: SaveOptions = {}): Uint8Array {
  const { prefix, chunks } = layout(tensors, options);
  const out = new Uint8Array(prefix.length + chunks.reduce((a, c) => a + c.data.length, 0));
  out.set(prefix);
  let pos = prefix.length;
  for (const c of chunks) {
    out.set(c.data, pos);
    pos += c.data.length;
  }
  return out;
}

/** Write a safetensors file atomically (temporary file, fsync, rename), one tensor at a time. */
export function saveSafetensors(path: string, tensors: Record<string, Tensor | RawTensor>, options: SaveOptions = {}): void {
  const { prefix, chunks } = layout(tensors, options);
  writeFileAtomic(path, (write) => {
    write(prefix);
    for (const c of chunks) write(c.data);
  });
}
