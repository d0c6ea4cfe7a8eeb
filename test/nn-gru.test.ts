// GRUCell and GRU against PyTorch 1.13 (fixtures from scripts/fixtures/gru.py) and against
// finite differences. Parameters load through loadStateDict with torch's own names, so this
// also checks the names (weight_ih_l0, bias_hh_l1_reverse, ...).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { nn, noGrad, randn, manualSeed, tensor, Tensor } from "../src/index.js";
import { assertClose, gradcheck } from "./helpers/gradcheck.js";

interface FT { shape: number[]; data: number[] }
interface Case {
  name: string; kind: "GRUCell" | "GRU"; config: { inputSize: number; hiddenSize: number; numLayers?: number; bidirectional?: boolean };
  params: Record<string, FT>; input: FT; h0?: FT; output: FT; hN?: FT; gradOutput: FT; gradHN?: FT;
  paramGrads: Record<string, FT>; inputGrad: FT; h0Grad?: FT; lengths?: number[];
}
const fixture = JSON.parse(readFileSync(new URL("../../test/fixtures/gru.json", import.meta.url), "utf8")) as { cases: Case[] };

const ft = (f: FT, requiresGrad = false): Tensor => tensor(Float32Array.from(f.data), f.shape, { requiresGrad });
const close = (t: Tensor | null, f: FT, what: string, tol = 2e-5): void => {
  assert.ok(t, `${what}: missing`);
  assert.deepEqual(t.shape, f.shape, `${what}: shape`);
  assertClose(t.data, f.data, tol, tol, what);
};

for (const c of fixture.cases) {
  test(`${c.name}: forward and backward match PyTorch`, () => {
    const x = ft(c.input, true);
    const h0 = c.h0 ? ft(c.h0, true) : null;
    let loss: Tensor;
    let mod: nn.Module;
    if (c.kind === "GRUCell") {
      const cell = new nn.GRUCell(c.config.inputSize, c.config.hiddenSize);
      cell.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, ft(v)])));
      const out = cell.forward(x, h0);
      close(out, c.output, "output");
      loss = out.mul(ft(c.gradOutput)).sum();
      mod = cell;
    } else {
      const gru = new nn.GRU(c.config.inputSize, c.config.hiddenSize, { numLayers: c.config.numLayers, bidirectional: c.config.bidirectional });
      assert.deepEqual(Object.keys(gru.stateDict()).sort(), Object.keys(c.params).sort(), "parameter names");
      gru.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, ft(v)])));
      const { output, hN } = gru.forward(x, h0, c.lengths);
      close(output, c.output, "output");
      close(hN, c.hN!, "h_n");
      loss = output.mul(ft(c.gradOutput)).sum().add(hN.mul(ft(c.gradHN!)).sum());
      mod = gru;
    }
    loss.backward();
    for (const [name, p] of mod.namedParameters()) close(p.grad, c.paramGrads[name], `grad ${name}`, 1e-4);
    close(x.grad, c.inputGrad, "input grad", 1e-4);
    if (h0) close(h0.grad, c.h0Grad!, "h0 grad", 1e-4);
  });
}

test("GRU: gradients of input, h0 and every parameter match finite differences (2 layers, bidirectional, padded)", () => {
  manualSeed(7);
  const gru = new nn.GRU(3, 4, { numLayers: 2, bidirectional: true });
  const lengths = [4, 2];
  const x = randn([2, 4, 3]), h0 = randn([4, 2, 4]);
  gradcheck((xi, hi) => {
    const { output, hN } = gru.forward(xi, hi, lengths);
    return output.sum(2).add(hN.sum(0).sum(1).unsqueeze(1)); // [2, 4]: mixes every output and final state
  }, [x, h0], { label: "GRU input/h0", maxPerInput: 12 });

  // parameters: central differences in place, against backward()
  const w = randn([2, 4, 8]), wh = randn([4, 2, 4]);
  const lossOf = (): Tensor => {
    const { output, hN } = gru.forward(x, h0, lengths);
    return output.mul(w).sum().add(hN.mul(wh).sum());
  };
  gru.zeroGrad();
  lossOf().backward();
  const eps = 3e-3;
  for (const [name, p] of gru.namedParameters()) {
    for (const i of [0, Math.floor(p.numel / 3), p.numel - 1]) {
      const x0 = p.data[i];
      p.data[i] = Math.fround(x0 + eps);
      const fp = noGrad(() => lossOf().item());
      p.data[i] = Math.fround(x0 - eps);
      const fm = noGrad(() => lossOf().item());
      p.data[i] = x0;
      const num = (fp - fm) / (2 * eps), ana = p.grad!.data[i];
      assert.ok(Math.abs(num - ana) <= 2e-2 + 2e-2 * Math.abs(num), `${name}[${i}]: analytic ${ana}, numeric ${num}`);
    }
  }
});

test("GRU: padded rows match the same rows run alone (lengths behave like a packed sequence)", () => {
  manualSeed(3);
  const gru = new nn.GRU(3, 5, { bidirectional: true });
  const x = randn([2, 6, 3]);
  const { output, hN } = noGrad(() => gru.forward(x, null, [6, 3]));
  const alone = noGrad(() => gru.forward(x.narrow(0, 1, 1).narrow(1, 0, 3)));
  assertClose(output.narrow(0, 1, 1).narrow(1, 0, 3).data, alone.output.data, 1e-5, 1e-5, "outputs");
  assertClose(hN.narrow(1, 1, 1).data, alone.hN.data, 1e-5, 1e-5, "h_n");
  assert.ok(output.narrow(0, 1, 1).narrow(1, 3, 3).data.every((v) => v === 0), "outputs past the length are zero");
});

test("GRU: bad input shapes are errors that name the sizes", () => {
  const gru = new nn.GRU(3, 5, { numLayers: 2 });
  assert.throws(() => gru.forward(randn([2, 4])), /GRU: input must be \[B, T, 3\] \(batch_first\), got \[2, 4\]/);
  assert.throws(() => gru.forward(randn([2, 4, 7])), /got \[2, 4, 7\]/);
  assert.throws(() => gru.forward(randn([2, 4, 3]), randn([1, 2, 5])), /h0 must be \[2, 2, 5\], got \[1, 2, 5\]/);
  assert.throws(() => gru.forward(randn([2, 4, 3]), null, [4]), /1 lengths for a batch of 2/);
  assert.throws(() => gru.forward(randn([2, 4, 3]), null, [4, 9]), /length 9 of row 1 is outside 0..4/);
  const cell = new nn.GRUCell(3, 5);
  assert.throws(() => cell.forward(randn([2, 4])), /GRUCell: input must be \[B, 3\], got \[2, 4\]/);
  assert.throws(() => cell.forward(randn([2, 3]), randn([3, 5])), /hidden state must be \[2, 5\], got \[3, 5\]/);
});
