// safetensors: files written by an independent Python implementation of the spec
// (scripts/fixtures/hf_safetensors.py) load with PyTorch's values; what we write is byte for
// byte what the reference layout gives; random valid files round-trip; malformed and randomly
// mutated files are refused with an Error (never a crash, hang or silent wrong result).

import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Tensor, io } from "../src/index.js";
import { BASE_SEED, fc } from "./helpers/random.js";

const { SafetensorsFile, decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors, floatToBf16Bits, floatToHalfBits, DTYPE_BYTES } = io;
type SafetensorsDType = io.SafetensorsDType;
type RawTensor = io.RawTensor;

const FIX = fileURLToPath(new URL("../../test/fixtures/safetensors/", import.meta.url));
const expected = JSON.parse(readFileSync(join(FIX, "expected.json"), "utf8")) as {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; values: number[] }>;
  rounding: { float32Bits: number[]; halfBits: number[]; bf16Bits: number[] };
};
const tmp = mkdtempSync(join(tmpdir(), "tsformer-st-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A file from a header (object or raw string) and a data buffer; the length prefix may lie. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test("reads every dtype of a file written by the Python reference, with PyTorch's values", () => {
  const { tensors, metadata } = loadSafetensors(join(FIX, "reference.safetensors"));
  assert.deepEqual(metadata, expected.metadata);
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected.tensors).sort());
  for (const [name, e] of Object.entries(expected.tensors)) {
    const t = tensors[name];
    assert.deepEqual(t.shape, e.shape, name);
    assert.equal(t.dtype, e.dtype.startsWith("F") || e.dtype === "BF16" ? "float32" : "int32", name);
    assert.deepEqual(Array.from(t.data), e.values, name);
  }
});

test("the lazy reader gives each tensor's dtype, shape and raw bytes without reading the rest", () => {
  const f = SafetensorsFile.open(join(FIX, "reference.safetensors"));
  try {
    assert.equal(f.info("bf16.weight").dtype, "BF16");
    assert.deepEqual(f.info("i64.ids").shape, [2, 3]);
    assert.equal(f.readRaw("i64.ids").data.length, 48);
    assert.throws(() => f.get("nope"), /has no tensor "nope"/);
  } finally {
    f.close();
  }
  assert.throws(() => f.get("f32.weight"), /is closed/);
});

test("re-encoding the reference file's tensors gives the same bytes (same layout as the reference writer)", () => {
  const path = join(FIX, "reference.safetensors");
  const f = SafetensorsFile.open(path);
  const raws: Record<string, RawTensor> = {};
  for (const k of f.keys()) raws[k] = f.readRaw(k);
  f.close();
  const ours = encodeSafetensors(raws, { metadata: expected.metadata });
  assert.deepEqual(Buffer.from(ours), readFileSync(path));
});

test("I64 values beyond int32 are refused, naming the tensor and the value", () => {
  assert.throws(() => loadSafetensors(join(FIX, "int64-overflow.safetensors")),
    /int64-overflow\.safetensors: tensor "ids" \(I64\) holds 1099511627776 at index 1, which does not fit int32/);
  const u32 = craft({ x: { dtype: "U32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array([0, 0, 0, 0x80]));
  assert.throws(() => decodeSafetensors(u32), /tensor "x" \(U32\) holds 2147483648/);
  const bool = craft({ m: { dtype: "BOOL", shape: [2], data_offsets: [0, 2] } }, new Uint8Array([1, 2]));
  assert.throws(() => decodeSafetensors(bool), /tensor "m" \(BOOL\) holds byte 2 at index 1/);
  const f64 = new Uint8Array(8);
  new DataView(f64.buffer).setFloat64(0, 1e300, true);
  assert.throws(() => decodeSafetensors(craft({ d: { dtype: "F64", shape: [1], data_offsets: [0, 8] } }, f64)), /beyond float32's range/);
});

test("float32 -> F16 and BF16 round to nearest even exactly as PyTorch does", () => {
  const { float32Bits, halfBits, bf16Bits } = expected.rounding;
  const float32 = new Float32Array(Uint32Array.from(float32Bits).buffer);
  for (let i = 0; i < float32.length; i++) {
    assert.equal(floatToHalfBits(float32[i]), halfBits[i], `half(${float32[i]})`);
    assert.equal(floatToBf16Bits(float32[i]), bf16Bits[i], `bf16(${float32[i]})`);
  }
  // saving as F16/BF16 then loading gives PyTorch's rounded values
  const t = new Tensor(Float32Array.from(float32), [float32.length]);
  for (const [dtype, bits] of [["F16", halfBits], ["BF16", bf16Bits]] as const) {
    const back = decodeSafetensors(encodeSafetensors({ t }, { floatDType: dtype })).tensors.t;
    const ref = decodeSafetensors(encodeSafetensors({ t: { dtype, shape: [bits.length], data: new Uint8Array(Uint16Array.from(bits).buffer) } })).tensors.t;
    assert.deepEqual(Array.from(back.data), Array.from(ref.data));
  }
});

test("saving writes atomically and loads back bit for bit (F32, I32, F64, I64)", () => {
  const path = join(tmp, "rt.safetensors");
  const w = new Tensor(Float32Array.from([1.5, -0, NaN, Infinity, 1e-45, 3.4e38]), [2, 3]);
  const ids = new Tensor(Int32Array.from([0, -1, 2147483647, -2147483648]), [4]);
  for (const o of [{}, { floatDType: "F64" as const, intDType: "I64" as const }]) {
    saveSafetensors(path, { w, ids }, { ...o, metadata: { format: "pt" } });
    const back = loadSafetensors(path);
    assert.deepEqual(back.metadata, { format: "pt" });
    assert.deepEqual(new Uint8Array(back.tensors.w.data.buffer, back.tensors.w.data.byteOffset, 24), new Uint8Array(w.data.buffer));
    assert.deepEqual(Array.from(back.tensors.ids.data), Array.from(ids.data));
  }
  assert.throws(() => saveSafetensors(path, { __metadata__: w }), /reserved/);
  assert.throws(() => encodeSafetensors({ r: { dtype: "F32", shape: [3], data: new Uint8Array(8) } }), /F32 \[3\] \(12 bytes\) but holds 8 bytes/);
});

test("opening a file reads only the header: a 256 MB tensor beside a small one costs nothing to skip", () => {
  // A sparse file: header, then 256 MB of (unwritten) zeros for "big", then 16 bytes for "small".
  const big = 64 * 1024 * 1024;
  const header = JSON.stringify({ big: { dtype: "F32", shape: [big], data_offsets: [0, 4 * big] }, small: { dtype: "F32", shape: [4], data_offsets: [4 * big, 4 * big + 16] } });
  const prefix = craft(header);
  const path = join(tmp, "sparse.safetensors");
  const fd = openSync(path, "w");
  writeSync(fd, prefix);
  ftruncateSync(fd, prefix.length + 4 * big + 16);
  writeSync(fd, new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer), 0, 16, prefix.length + 4 * big);
  closeSync(fd);
  const before = process.memoryUsage().arrayBuffers;
  const f = SafetensorsFile.open(path);
  const small = f.get("small");
  const grew = process.memoryUsage().arrayBuffers - before;
  f.close();
  assert.deepEqual(Array.from(small.data), [1, 2, 3, 4]);
  assert.ok(grew < 8 * 1024 * 1024, `reading one small tensor allocated ${grew} bytes`);
  rmSync(path);
});

// --- malformed files -------------------------------------------------------------------------

const f32x2 = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
const malformed: [string, Uint8Array, RegExp][] = [
  ["shorter than 8 bytes", new Uint8Array(5), /holds 5 bytes, too few for the 8-byte header length/],
  ["header length beyond the file", craft({ a: f32x2 }, new Uint8Array(8), 1000n), /header length 1000 runs past the end of the file/],
  ["absurd header length", craft({}, new Uint8Array(0), 2n ** 63n), /header length 9223372036854775808 is absurdly large/],
  ["invalid JSON", craft("{\"a\": ", new Uint8Array(0)), /header is not valid JSON/],
  ["invalid UTF-8", craft('{"xx":{}}').map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8/],
  ["not an object", craft("[1, 2]"), /header is not a JSON object/],
  ["unknown dtype", craft({ a: { ...f32x2, dtype: "F31" } }, new Uint8Array(8)), /tensor "a": unknown dtype "F31"/],
  ["offsets out of range", craft({ a: { ...f32x2, data_offsets: [0, 12], shape: [3] } }, new Uint8Array(8)), /tensor "a": data_offsets \[0, 12\] lie beyond the data buffer of 8 bytes/],
  ["offsets reversed", craft({ a: { ...f32x2, data_offsets: [8, 0] } }, new Uint8Array(8)), /end before they begin/],
  ["size does not match bytes", craft({ a: { ...f32x2, shape: [3] } }, new Uint8Array(8)), /tensor "a": F32 \[3\] needs 12 bytes but data_offsets \[0, 8\] hold 8/],
  ["overlap", craft({ a: f32x2, b: { ...f32x2, data_offsets: [4, 12] } }, new Uint8Array(12)), /tensor "b" at \[4, 12\] overlaps tensor "a"/],
  ["gap", craft({ a: f32x2, b: { ...f32x2, data_offsets: [12, 20] } }, new Uint8Array(20)), /a gap of 4 bytes lies between tensor "a" and tensor "b"/],
  ["gap at start", craft({ a: { ...f32x2, data_offsets: [4, 12] } }, new Uint8Array(12)), /a gap of 4 bytes lies between the start of the data buffer and tensor "a"/],
  ["trailing bytes", craft({ a: f32x2 }, new Uint8Array(12)), /data buffer holds 12 bytes but the tensors cover 8/],
  ["negative shape", craft({ a: { ...f32x2, shape: [-2] } }, new Uint8Array(8)), /shape \[-2\] is not a list of non-negative integers/],
  ["fractional offset", craft({ a: { ...f32x2, data_offsets: [0, 7.5] } }, new Uint8Array(8)), /data_offsets \[0,7.5\] is not a pair/],
  ["missing offsets", craft({ a: { dtype: "F32", shape: [2] } }, new Uint8Array(8)), /data_offsets undefined is not a pair/],
  ["metadata not strings", craft({ __metadata__: { epoch: 3 } }), /__metadata__ value for "epoch" is 3, not a string/],
  ["entry not an object", craft({ a: 5 }), /tensor "a": its entry is not an object/],
  ["__proto__ as a name", craft('{"__proto__":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'), /"__proto__" is not allowed as a tensor name/],
  ["huge shape", craft({ a: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, new Uint8Array(8)), /is too large/],
];

test("malformed files are refused with an error naming the file and what is wrong", () => {
  for (const [what, bytes, re] of malformed) {
    assert.throws(() => decodeSafetensors(bytes, "mem.safetensors"), (e: Error) => {
      assert.ok(e.message.startsWith("safetensors: mem.safetensors: "), `${what}: ${e.message}`);
      assert.match(e.message, re, what);
      return true;
    });
    const path = join(tmp, "bad.safetensors");
    writeFileSync(path, bytes);
    assert.throws(() => SafetensorsFile.open(path), (e: Error) => e.message.includes(path) && re.test(e.message), `${what} (file)`);
  }
  assert.throws(() => SafetensorsFile.open(join(tmp, "missing.safetensors")), /cannot open .*missing\.safetensors/);
});

// --- property tests --------------------------------------------------------------------------

const DTYPES = Object.keys(DTYPE_BYTES) as SafetensorsDType[];

/** Random bytes that are a valid value of the dtype for tsformer (ints that fit int32, bools 0/1, finite F64 in float32 range). */
function validBytes(dtype: SafetensorsDType, n: number, seed: number): Uint8Array {
  let x = seed | 1;
  const next = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x >>> 0);
  const out = new Uint8Array(n * DTYPE_BYTES[dtype]);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const r = next();
    switch (dtype) {
      case "F64": dv.setFloat64(8 * i, ((r / 2 ** 32) - 0.5) * 10 ** ((r % 60) - 30), true); break;
      case "I64": dv.setBigInt64(8 * i, BigInt(r | 0), true); break;
      case "U64": dv.setBigUint64(8 * i, BigInt(r >>> 1), true); break;
      case "U32": dv.setUint32(4 * i, r >>> 1, true); break;
      case "BOOL": out[i] = r & 1; break;
      default: for (let b = 0; b < DTYPE_BYTES[dtype]; b++) out[i * DTYPE_BYTES[dtype] + b] = (r >>> (8 * b)) & 0xff;
    }
  }
  return out;
}

const rawTensorArb = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
}).map(({ dtype, shape, seed }): RawTensor => ({ dtype, shape, data: validBytes(dtype, shape.reduce((a, b) => a * b, 1), seed) }));

const fileArb = fc.record({
  tensors: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== "__metadata__" && s !== "__proto__"), rawTensorArb, { maxKeys: 6 }),
  metadata: fc.option(fc.dictionary(fc.string({ maxLength: 8 }).filter((s) => s !== "__proto__"), fc.string({ maxLength: 16 }), { maxKeys: 3 }), { nil: undefined }),
});

function check<T>(name: string, arb: fc.Arbitrary<T>, body: (v: T) => void, numRuns: number): void {
  const r = fc.check(fc.property(arb, (v) => { body(v); }), { seed: BASE_SEED, numRuns });
  if (r.failed) throw new Error(`property "${name}" failed (seed ${r.seed}, path "${r.counterexamplePath}"): ${fc.stringify(r.counterexample)}\n${(r.errorInstance as Error)?.message}`);
}

test("property: random valid files round-trip (raw bytes and converted values) in memory and on disk", () => {
  let i = 0;
  check("round trip", fileArb, ({ tensors, metadata }) => {
    const bytes = encodeSafetensors(tensors, { metadata });
    const path = join(tmp, `prop-${i++ % 4}.safetensors`);
    writeFileSync(path, bytes);
    const f = SafetensorsFile.open(path);
    try {
      assert.deepEqual(f.metadata, metadata ? { ...metadata } : null);
      assert.deepEqual(f.keys().sort(), Object.keys(tensors).sort());
      for (const [k, t] of Object.entries(tensors)) assert.deepEqual(f.readRaw(k), { dtype: t.dtype, shape: t.shape, data: t.data });
    } finally {
      f.close();
    }
    // converted values: each element decoded independently with DataView
    const dec = decodeSafetensors(bytes);
    for (const [k, t] of Object.entries(tensors)) {
      const got = dec.tensors[k], dv = new DataView(t.data.buffer), sz = DTYPE_BYTES[t.dtype];
      assert.deepEqual(got.shape, t.shape);
      for (let j = 0; j < got.numel; j++) {
        const ref = t.dtype === "F64" ? Math.fround(dv.getFloat64(8 * j, true))
          : t.dtype === "F32" ? dv.getFloat32(4 * j, true)
          : t.dtype === "BF16" ? new Float32Array(new Uint32Array([dv.getUint16(2 * j, true) << 16]).buffer)[0]
          : t.dtype === "F16" ? halfRef(dv.getUint16(2 * j, true))
          : t.dtype === "I64" || t.dtype === "U64" ? Number(dv.getBigInt64(8 * j, true))
          : t.dtype === "U32" ? dv.getUint32(4 * j, true) : t.dtype === "I32" ? dv.getInt32(4 * j, true)
          : t.dtype === "I16" ? dv.getInt16(2 * j, true) : t.dtype === "U16" ? dv.getUint16(2 * j, true)
          : t.dtype === "I8" ? dv.getInt8(j) : dv.getUint8(j * sz);
        assert.ok(Object.is(got.data[j], ref) || (Number.isNaN(got.data[j]) && Number.isNaN(ref)), `${k}[${j}] (${t.dtype}): ${got.data[j]} vs ${ref}`);
      }
    }
  }, 60);
});

/** Half -> number by the textbook formula, independent of the loader's bit tricks. */
function halfRef(h: number): number {
  const sign = h >> 15 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 31) return m ? NaN : sign * Infinity;
  return e === 0 ? sign * 2 ** -14 * (m / 1024) : sign * 2 ** (e - 15) * (1 + m / 1024);
}

/** Mutations: flip, set, insert or delete bytes, truncate, extend, or rewrite the length prefix. */
const mutationArb = fc.array(fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("length" as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ kind: fc.constant("digit" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 9 }) }),
), { minLength: 1, maxLength: 4 });

type Mutation = { kind: string; at?: number; bit?: number; value?: number | bigint };
function mutate(bytes: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Array.from(bytes);
  for (const m of muts) {
    const at = b.length ? (m.at ?? 0) % b.length : 0;
    switch (m.kind) {
      case "flip": if (b.length) b[at] ^= 1 << (m.bit ?? 0); break;
      case "set": if (b.length) b[at] = Number(m.value); break;
      case "insert": b.splice(at, 0, Number(m.value)); break;
      case "delete": b.splice(at, 1); break;
      case "truncate": b = b.slice(0, at); break;
      case "length": if (b.length >= 8) { const dv = new DataView(new ArrayBuffer(8)); dv.setBigUint64(0, BigInt(m.value ?? 0), true); for (let i = 0; i < 8; i++) b[i] = dv.getUint8(i); } break;
      case "digit": {
        // change one digit in the header: offsets and shapes are where mutations bite
        const digits = b.map((c, i) => (i >= 8 && c >= 48 && c <= 57 ? i : -1)).filter((i) => i >= 0);
        if (digits.length) b[digits[(m.at ?? 0) % digits.length]] = 48 + Number(m.value);
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

test("property: mutated files either load or are refused with a safetensors Error, in memory and on disk", () => {
  let refused = 0, loaded = 0, i = 0;
  check("mutations", fc.tuple(fileArb, mutationArb), ([file, muts]) => {
    const bytes = mutate(encodeSafetensors(file.tensors, { metadata: file.metadata }), muts);
    const outcome = (fn: () => unknown): string => {
      try {
        fn();
        return "ok";
      } catch (e) {
        assert.ok(e instanceof Error && e.constructor === Error, `not a plain Error: ${e}`);
        assert.match((e as Error).message, /^safetensors: /);
        return "refused";
      }
    };
    const mem = outcome(() => decodeSafetensors(bytes));
    const path = join(tmp, `mut-${i++ % 4}.safetensors`);
    writeFileSync(path, bytes);
    const disk = outcome(() => loadSafetensors(path));
    assert.equal(disk, mem, "file and memory readers disagree");
    if (mem === "ok") loaded++;
    else refused++;
  }, 300);
  assert.ok(refused > 100 && loaded > 5, `refused ${refused}, loaded ${loaded}: the mutations should exercise both outcomes`);
});
