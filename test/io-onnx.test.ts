// ONNX export: `tsformer export onnx` turns each Hugging Face fixture directory into an ONNX
// file that onnxruntime-node runs; its outputs match ours (and PyTorch's) within 1e-4, for the
// fixture's input and for other batch and sequence sizes (the dims are dynamic).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { Generator, Tensor, io, models, nn } from "../src/index.js";
import { main } from "../src/cli/main.js";

const FIX = fileURLToPath(new URL("../../test/fixtures/hf/", import.meta.url));
type Arr = { shape: number[]; data: number[] };
type Case = { class: string; input: Arr; attentionMask?: Arr; tokenTypeIds?: Arr; logits?: Arr; lastHiddenState?: Arr; poolerOutput?: Arr };
const expected = JSON.parse(readFileSync(join(FIX, "expected.json"), "utf8")) as Record<string, Case>;
const tmp = mkdtempSync(join(tmpdir(), "tsformer-onnx-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModel = { forward(...a: any[]): Record<string, Tensor | null> };
const classes = models as unknown as Record<string, { fromPretrained(dir: string): Promise<AnyModel> }>;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Inputs of a given size for a case: the fixture's own, or random ones of another shape. */
function inputsFor(c: Case, B: number, T: number, rng: Generator | null): { ours: unknown[]; feeds: Record<string, ort.Tensor> } {
  if (c.class.startsWith("ViT")) {
    const [, C, H, W] = c.input.shape;
    const data = rng ? Float32Array.from({ length: B * C * H * W }, () => rng.normal()) : Float32Array.from(c.input.data);
    return { ours: [new Tensor(data, [B, C, H, W])], feeds: { pixel_values: new ort.Tensor("float32", data, [B, C, H, W]) } };
  }
  const vocab = 97;
  const ids = rng ? Int32Array.from({ length: B * T }, () => 1 + rng.randint(0, vocab - 1)) : Int32Array.from(c.input.data);
  const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [B, T]) };
  if (!c.class.startsWith("Bert")) return { ours: [new Tensor(ids, [B, T])], feeds };
  const mask = rng ? Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i / T | 0) ? 1 : 0)) : Int32Array.from(c.attentionMask!.data);
  const types = rng ? Int32Array.from({ length: B * T }, (_, i) => (i % T >= T / 2 ? 1 : 0)) : Int32Array.from(c.tokenTypeIds!.data);
  feeds.attention_mask = new ort.Tensor("int64", BigInt64Array.from(mask, BigInt), [B, T]);
  feeds.token_type_ids = new ort.Tensor("int64", BigInt64Array.from(types, BigInt), [B, T]);
  return { ours: [new Tensor(ids, [B, T]), { attentionMask: new Tensor(mask, [B, T]), tokenTypeIds: new Tensor(types, [B, T]) }], feeds };
}

const OUT_NAMES: Record<string, string> = { logits: "logits", last_hidden_state: "lastHiddenState", pooler_output: "poolerOutput" };

for (const [name, c] of Object.entries(expected).filter(([, c]) => c.class in classes)) {
  test(`${name}: tsformer export onnx runs in onnxruntime and matches ours within 1e-4`, async () => {
    const out = join(tmp, `${name}.onnx`);
    const log = console.log;
    console.log = () => {};
    try {
      assert.equal(await main(["export", "onnx", "--model", join(FIX, name), "--out", out]), 0);
    } finally {
      console.log = log;
    }
    const model = await classes[c.class].fromPretrained(join(FIX, name));
    const session = await ort.InferenceSession.create(out);
    const rng = new Generator(5);
    const T0 = c.input.shape[1];
    for (const [B, T, r] of [[c.input.shape[0], T0, null], [3, Math.max(2, T0 - 3), rng]] as const) {
      const { ours, feeds } = inputsFor(c, B, T, r);
      const res = await session.run(feeds);
      const mine = model.forward(...ours);
      for (const outName of session.outputNames) {
        const key = OUT_NAMES[outName];
        const a = mine[key];
        assert.ok(a, `${outName} has no counterpart`);
        assert.deepEqual([...res[outName].dims], a!.shape, `${name} ${outName} shape`);
        const d = maxDiff(res[outName].data as Float32Array, a!.data);
        assert.ok(d <= 1e-4, `${name} ${outName} [${a!.shape}]: max |onnx - ours| = ${d}`);
        const ref = (c as Record<string, unknown>)[key] as Arr | undefined;
        if (!r && ref) assert.ok(maxDiff(res[outName].data as Float32Array, ref.data) <= 1e-4, `${name} ${outName} vs PyTorch`);
      }
    }
  });
}

test("export refuses models it has no graph for, and the command says what it needs", async () => {
  assert.throws(() => io.toOnnx(new nn.Linear(2, 2)), /no exporter for Linear \(supported: ViTModel, ViTForImageClassification, GPT2Model, GPT2LMHeadModel/);
  const err = console.error;
  const lines: string[] = [];
  console.error = (s: string) => lines.push(s);
  try {
    assert.equal(await main(["export", "onnx", "--model", join(FIX, "gpt2-lm")]), 2);
    assert.equal(await main(["export", "tflite", "--model", "x"]), 2);
    assert.equal(await main(["export", "onnx", "--model", join(tmp, "nothing"), "--out", join(tmp, "x.onnx")]), 2);
  } finally {
    console.error = err;
  }
  assert.match(lines[0], /--model DIR and --out FILE are both required/);
  assert.match(lines[1], /unknown format "tflite"/);
  assert.match(lines[2], /nothing\/config\.json is missing/);
});
