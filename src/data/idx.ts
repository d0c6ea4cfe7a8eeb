// The IDX file format of MNIST (LeCun et al.): a big-endian header (two zero bytes, a type
// code, the rank), one 32-bit size per dim, then the values. Files may be gzipped.

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

export interface IdxArray {
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: "uint8", bytes: 1 },
  0x09: { name: "int8", bytes: 1 },
  0x0b: { name: "int16", bytes: 2 },
  0x0c: { name: "int32", bytes: 4 },
  0x0d: { name: "float32", bytes: 4 },
  0x0e: { name: "float64", bytes: 8 },
};

/** Parse IDX bytes; `source` names the file in errors. */
export function parseIdx(bytes: Uint8Array, source = "<buffer>"): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`${source}: gzip data is corrupt (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${source}: not an IDX file (the first two bytes must be zero)`);
  }
  const type = TYPES[bytes[2]];
  if (!type) throw new Error(`${source}: unknown IDX type code 0x${bytes[2].toString(16)}`);
  const rank = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerEnd = 4 + 4 * rank;
  if (bytes.length < headerEnd) throw new Error(`${source}: IDX header is cut short (rank ${rank})`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerEnd + count * type.bytes;
  if (bytes.length !== expected) {
    throw new Error(`${source}: IDX header says shape [${shape.join(", ")}] (${expected} bytes) but the file has ${bytes.length} bytes`);
  }
  let data: IdxArray["data"];
  switch (type.name) {
    case "uint8": data = bytes.slice(headerEnd, expected); break;
    case "int8": data = new Int8Array(bytes.slice(headerEnd, expected).buffer); break;
    default: {
      const Ctor = { int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[type.name as "int16"]!;
      const out = new Ctor(count);
      const get = {
        int16: (o: number) => view.getInt16(o, false),
        int32: (o: number) => view.getInt32(o, false),
        float32: (o: number) => view.getFloat32(o, false),
        float64: (o: number) => view.getFloat64(o, false),
      }[type.name as "int16"]!;
      for (let i = 0; i < count; i++) out[i] = get(headerEnd + i * type.bytes);
      data = out;
    }
  }
  return { shape, data };
}

export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read IDX file ${path}: ${(e as Error).message}`);
  }
  return parseIdx(bytes, path);
}
