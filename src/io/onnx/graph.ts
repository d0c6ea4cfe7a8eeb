// An ONNX graph builder and its serialisation to a ModelProto (onnx/onnx.proto, IR version 8,
// default-domain opset 17: the first with LayerNormalization).
//
//   const g = new OnnxGraph("vit");
//   const x = g.input("pixel_values", "float", ["batch", 3, 224, 224]);
//   const y = g.node("Relu", [x]);
//   g.output(y, "float", ["batch", 3, 224, 224], "out");
//   writeFileSync("m.onnx", g.toModel());

import type { Tensor } from "../../tensor/tensor.js";
import { ProtoWriter } from "./protobuf.js";

export const OPSET = 17;
const IR_VERSION = 8;

/** TensorProto.DataType values. */
const DTYPE = { float: 1, int32: 6, int64: 7, bool: 9 } as const;
export type OnnxDType = keyof typeof DTYPE;

/** A dimension: a fixed size or a named symbolic one ("batch", "sequence"). */
export type Dim = number | string;

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | { tensor: ConstTensor };

export interface ConstTensor {
  dtype: OnnxDType;
  dims: number[];
  /** Little-endian raw bytes. */
  data: Uint8Array;
}

function tensorProto(name: string, t: ConstTensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d); // dims
  w.int(2, DTYPE[t.dtype]); // data_type
  w.string(8, name); // name
  w.bytes(9, t.data); // raw_data
  return w;
}

function valueInfo(name: string, dtype: OnnxDType, dims: Dim[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === "number" ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, DTYPE[dtype]).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

function attribute(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  // AttributeProto.type: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7
  if (typeof v === "number") return w.int(3, v).int(20, 2);
  if (typeof v === "string") return w.string(4, v).int(20, 3);
  if (Array.isArray(v)) {
    for (const i of v) w.int(8, i);
    return w.int(20, 7);
  }
  if ("float" in v) return w.float(2, v.float).int(20, 1);
  if ("floats" in v) {
    for (const f of v.floats) w.float(7, f);
    return w.int(20, 6);
  }
  return w.message(5, tensorProto("", v.tensor)).int(20, 4);
}

/** float32 values as a constant tensor. */
export function floatConst(values: ArrayLike<number>, dims: number[]): ConstTensor {
  const f = Float32Array.from(values);
  return { dtype: "float", dims, data: new Uint8Array(f.buffer) };
}

/** int64 values as a constant tensor. */
export function int64Const(values: number[], dims = [values.length]): ConstTensor {
  const b = new BigInt64Array(values.map((v) => BigInt(v)));
  return { dtype: "int64", dims, data: new Uint8Array(b.buffer) };
}

export class OnnxGraph {
  private nodes: ProtoWriter[] = [];
  private initializers: ProtoWriter[] = [];
  private inputs: ProtoWriter[] = [];
  private outputs: ProtoWriter[] = [];
  private names = new Set<string>();
  private counter = 0;
  /** Bytes of initializer data so far (a protobuf file must stay under 2 GiB). */
  initializerBytes = 0;

  constructor(readonly name: string) {}

  private fresh(hint: string): string {
    let n = hint;
    while (this.names.has(n)) n = `${hint}_${++this.counter}`;
    this.names.add(n);
    return n;
  }

  input(name: string, dtype: OnnxDType, dims: Dim[]): string {
    if (this.names.has(name)) throw new Error(`ONNX export: duplicate name "${name}"`);
    this.names.add(name);
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Mark `value` as a graph output called `name` (through an Identity when renamed). */
  output(value: string, dtype: OnnxDType, dims: Dim[], name = value): void {
    if (name !== value) {
      this.names.add(name);
      this.nodes.push(nodeProto("Identity", [value], [name], name, {}));
    }
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  /** A weight or constant stored in the file. */
  initializer(hint: string, t: ConstTensor): string {
    const name = this.fresh(hint);
    this.initializerBytes += t.data.length;
    this.initializers.push(tensorProto(name, t));
    return name;
  }

  /** A float32 tensor's values as an initializer (optionally transposed from [r, c] to [c, r]). */
  weight(hint: string, t: Tensor, options: { transpose?: boolean } = {}): string {
    if (!options.transpose) return this.initializer(hint, { dtype: "float", dims: [...t.shape], data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.numel * 4) });
    const [r, c] = t.shape;
    const out = new Float32Array(r * c), src = t.data;
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j];
    return this.initializer(hint, { dtype: "float", dims: [c, r], data: new Uint8Array(out.buffer) });
  }

  /** One operator; returns its (first) output's name. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = op.toLowerCase()): string {
    return this.nodeN(op, inputs, 1, attrs, hint)[0];
  }

  /** An operator with several outputs. */
  nodeN(op: string, inputs: string[], nOutputs: number, attrs: Record<string, AttrValue> = {}, hint = op.toLowerCase()): string[] {
    const outs = Array.from({ length: nOutputs }, (_, i) => this.fresh(nOutputs > 1 ? `${hint}_${i}` : hint));
    this.nodes.push(nodeProto(op, inputs, outs, this.fresh(`${op}_node`), attrs));
    return outs;
  }

  /** The ModelProto bytes of this graph. */
  toModel(producerVersion = "0"): Uint8Array {
    if (this.initializerBytes > 2 ** 31 - 2 ** 24) {
      throw new Error(`ONNX export: ${this.initializerBytes} bytes of weights exceed the 2 GiB limit of a single protobuf file`);
    }
    const graph = new ProtoWriter();
    for (const n of this.nodes) graph.message(1, n);
    graph.string(2, this.name);
    for (const t of this.initializers) graph.message(5, t);
    for (const i of this.inputs) graph.message(11, i);
    for (const o of this.outputs) graph.message(12, o);
    const model = new ProtoWriter()
      .int(1, IR_VERSION)
      .string(2, "tsformer")
      .string(3, producerVersion)
      .message(7, graph)
      .message(8, new ProtoWriter().string(1, "").int(2, OPSET));
    return model.finish();
  }
}

function nodeProto(op: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, AttrValue>): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, name).string(4, op);
  for (const [k, v] of Object.entries(attrs)) w.message(5, attribute(k, v));
  return w;
}
