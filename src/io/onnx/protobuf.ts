// A small Protocol Buffers writer: just what ONNX files need (varints, 32-bit floats,
// length-delimited bytes, strings and nested messages). Wire format:
// https://protobuf.dev/programming-guides/encoding/
//
// A message is built as a list of byte chunks; a nested message is measured and then copied
// once into its parent, so the cost stays linear in the file size.

const VARINT = 0, I32 = 5, LEN = 2;

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private varint(v: number | bigint): void {
    // int64 fields: negative values take ten bytes (two's complement), as protobuf specifies
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** int32, int64, enum or bool field. */
  int(field: number, v: number | bigint | boolean): this {
    this.key(field, VARINT);
    this.varint(typeof v === "boolean" ? (v ? 1 : 0) : v);
    return this;
  }

  /** float field (fixed 32-bit). */
  float(field: number, v: number): this {
    this.key(field, I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, LEN);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    this.key(field, LEN);
    this.varint(m.size);
    for (const c of m.chunks) this.push(c);
    return this;
  }

  /** The encoded message. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}
