// Module: automatic discovery of parameters and children, dotted names (a public contract that
// checkpoints rely on), train/eval, state dicts and their errors.

import assert from "node:assert/strict";
import { test } from "node:test";

import { nn, F, manualSeed, ones, tensor, Tensor, zeros, randn } from "../src/index.js";

class Block extends nn.Module {
  norm = new nn.LayerNorm(4);
  ff = new nn.Sequential(new nn.Linear(4, 8), new nn.GELU(), new nn.Dropout(0.1), new nn.Linear(8, 4));

  forward(x: Tensor): Tensor {
    return F.add(x, this.ff.forward(this.norm.forward(x)));
  }
}

class Net extends nn.Module {
  embed: nn.Embedding;
  layers: nn.ModuleList<Block>;
  scale: nn.Parameter;
  head: nn.Linear;
  skipped: nn.Linear | null = null;
  notAModule = { weight: new nn.Parameter(new Float32Array(3)) };

  constructor(nLayers = 2) {
    super();
    this.embed = new nn.Embedding(10, 4);
    this.layers = new nn.ModuleList(Array.from({ length: nLayers }, () => new Block()));
    this.scale = new nn.Parameter(ones([1]));
    this.head = new nn.Linear(4, 10, { bias: false });
    this.registerBuffer("positions", tensor(Int32Array.from([0, 1, 2, 3, 4, 5]), [6]));
  }

  forward(ids: Tensor): Tensor {
    let h = this.embed.forward(ids);
    for (const b of this.layers) h = b.forward(h);
    return this.head.forward(F.mul(h, this.scale));
  }
}

const BLOCK_NAMES = (i: number): string[] => [
  `layers.${i}.norm.weight`, `layers.${i}.norm.bias`,
  `layers.${i}.ff.0.weight`, `layers.${i}.ff.0.bias`, `layers.${i}.ff.3.weight`, `layers.${i}.ff.3.bias`,
];
const NET_NAMES = ["embed.weight", ...BLOCK_NAMES(0), ...BLOCK_NAMES(1), "scale", "head.weight"];

test("namedParameters: declaration order, dotted names through ModuleList and Sequential", () => {
  const net = new Net();
  assert.deepEqual(net.namedParameters().map(([n]) => n), NET_NAMES);
  assert.deepEqual(net.parameters(), net.namedParameters().map(([, p]) => p));
  assert.ok(net.parameters().every((p) => p instanceof nn.Parameter && p.requiresGrad));
  // a prefix is prepended to every name
  assert.deepEqual(net.layers.get(1).namedParameters("layers.1").map(([n]) => n), BLOCK_NAMES(1));
  // null slots and plain objects holding parameters are not part of the module tree
  assert.ok(!net.namedParameters().some(([n]) => n.startsWith("skipped") || n.startsWith("notAModule")));
});

test("namedModules and namedChildren use the same dotted names", () => {
  const net = new Net();
  assert.deepEqual([...net.namedChildren()].map(([n]) => n), ["embed", "layers", "head"]);
  const names = [...net.namedModules()].map(([n]) => n);
  assert.deepEqual(names.slice(0, 6), ["", "embed", "layers", "layers.0", "layers.0.norm", "layers.0.ff"]);
  assert.ok(names.includes("layers.1.ff.2"));
  assert.equal(net.modules().length, names.length);
  assert.equal(net.children().length, 3);
});

test("a shared (tied) parameter is listed once, under its first name", () => {
  const net = new Net();
  const tied = new nn.Linear(4, 10, { bias: false });
  tied.weight = new nn.Parameter(zeros([10, 4]));
  net.head = tied;
  // tie the output projection to the embedding table (same [10, 4] shape)
  net.head.weight = net.embed.weight;
  const names = net.namedParameters().map(([n]) => n);
  assert.ok(names.includes("embed.weight"));
  assert.ok(!names.includes("head.weight"));
  assert.equal(new Set(net.parameters()).size, net.parameters().length);
  assert.equal(net.numParameters(), net.parameters().reduce((s, p) => s + p.numel, 0));
});

test("numParameters counts every trainable value", () => {
  const net = new Net();
  const block = 4 + 4 + (4 * 8 + 8) + (8 * 4 + 4);
  assert.equal(net.numParameters(), 10 * 4 + 2 * block + 1 + 4 * 10);
  assert.equal(new nn.Conv2d(3, 8, 3).numParameters(), 8 * 3 * 9 + 8);
  assert.equal(new nn.Conv3d(2, 4, [1, 2, 2], { groups: 2 }).numParameters(), 4 * 1 * 4 + 4);
  assert.equal(new nn.ReLU().numParameters(), 0);
});

test("registerParameter and registerModule add names that are not properties", () => {
  const m = new nn.Module();
  m.registerParameter("cls_token", new nn.Parameter(zeros([1, 1, 4])));
  m.registerModule("proj", new nn.Linear(4, 2));
  m.registerParameter("absent", null);
  assert.deepEqual(m.namedParameters().map(([n]) => n), ["cls_token", "proj.weight", "proj.bias"]);
});

test("train()/eval() recurse into every submodule; Dropout acts only in training", () => {
  const net = new Net();
  assert.ok(net.modules().every((m) => m.training));
  assert.equal(net.eval(), net);
  assert.ok(net.modules().every((m) => !m.training));
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  net.train(false);
  assert.ok(net.modules().every((m) => !m.training));

  const drop = new nn.Dropout(0.5);
  const seq = new nn.Sequential(new nn.Identity(), drop);
  const x = ones([1000]);
  manualSeed(1);
  const y = seq.forward(x);
  const zerosCount = Array.from(y.data).filter((v) => v === 0).length;
  assert.ok(zerosCount > 400 && zerosCount < 600, `about half dropped, got ${zerosCount}`);
  assert.ok(Array.from(y.data).every((v) => v === 0 || v === 2), "survivors scaled by 1/(1-p)");
  seq.eval();
  assert.equal(drop.training, false);
  assert.deepEqual(Array.from(seq.forward(x).data), Array.from(x.data));
  assert.throws(() => new nn.Dropout(1.5), /p must be in \[0, 1\]/);
});

test("forward of the whole net runs and is deterministic in eval mode", () => {
  manualSeed(3);
  const net = new Net().eval();
  const ids = tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const a = net.forward(ids), b = net.forward(ids);
  assert.deepEqual(a.shape, [2, 3, 10]);
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
});

test("stateDict holds parameters and buffers; a round trip reproduces the model", () => {
  manualSeed(5);
  const a = new Net().eval();
  manualSeed(6);
  const b = new Net().eval();
  const sd = a.stateDict();
  assert.deepEqual(Object.keys(sd), [...NET_NAMES, "positions"]);
  assert.equal(sd["positions"].dtype, "int32");
  assert.equal(sd["embed.weight"], a.embed.weight, "the tensors themselves, not copies");
  assert.deepEqual(a.namedBuffers().map(([n]) => n), ["positions"]);

  const ids = tensor(Int32Array.from([0, 9, 4]), [1, 3]);
  assert.notDeepEqual(Array.from(a.forward(ids).data), Array.from(b.forward(ids).data));
  const res = b.loadStateDict(sd);
  assert.deepEqual(res, { missing: [], unexpected: [] });
  assert.deepEqual(Array.from(a.forward(ids).data), Array.from(b.forward(ids).data));
  // loading copies values: editing b afterwards leaves a alone
  b.embed.weight.data[0] += 1;
  assert.notEqual(a.embed.weight.data[0], b.embed.weight.data[0]);
  assert.notEqual(a.embed.weight, b.embed.weight);
});

test("buffers of nested modules get dotted names and load from a state dict", () => {
  class WithStats extends nn.Module {
    lin = new nn.Linear(2, 2);
    constructor() {
      super();
      this.lin.registerBuffer("runningMean", zeros([2]));
    }
  }
  const outer = new nn.Sequential(new nn.Identity() as nn.UnaryModule, new WithStats() as unknown as nn.UnaryModule);
  assert.deepEqual(outer.namedBuffers().map(([n]) => n), ["1.lin.runningMean"]);
  assert.deepEqual(Object.keys(outer.stateDict()), ["1.lin.weight", "1.lin.bias", "1.lin.runningMean"]);
  const sd = { ...outer.stateDict(), "1.lin.runningMean": tensor([3, 4]) };
  outer.loadStateDict(sd);
  const stats = outer.get(1) as unknown as WithStats;
  assert.deepEqual(Array.from(stats.lin.getBuffer("runningMean").data), [3, 4]);
  assert.throws(() => stats.lin.getBuffer("nope"), /no buffer named "nope"/);
});

test("loadStateDict strict: one error lists missing, unexpected and mis-shaped names together", () => {
  const net = new Net();
  const sd: Record<string, Tensor> = { ...net.stateDict() };
  delete sd["layers.1.norm.bias"];
  delete sd["scale"];
  sd["layers.2.norm.weight"] = zeros([4]);
  sd["extra"] = zeros([1]);
  sd["head.weight"] = zeros([10, 5]);
  sd["layers.0.ff.0.bias"] = zeros([9]);
  const before = Array.from(net.embed.weight.data);
  let message = "";
  assert.throws(() => net.loadStateDict(sd), (e: Error) => ((message = e.message), true));
  for (const name of ["layers.1.norm.bias", "scale", "layers.2.norm.weight", "extra", "head.weight", "layers.0.ff.0.bias"]) {
    assert.ok(message.includes(name), `error names ${name}: ${message}`);
  }
  assert.match(message, /missing/);
  assert.match(message, /unexpected/);
  assert.match(message, /mis-shaped/);
  assert.match(message, /head\.weight: expected \[10, ?4\], got \[10, ?5\]/);
  // nothing was loaded
  assert.deepEqual(Array.from(net.embed.weight.data), before);
});

test("loadStateDict non-strict returns missing and unexpected names and loads the rest", () => {
  manualSeed(7);
  const src = new Net();
  const dst = new Net();
  const sd: Record<string, Tensor> = { ...src.stateDict(), "extra.weight": zeros([2]) };
  delete sd["scale"];
  delete sd["positions"];
  const res = dst.loadStateDict(sd, { strict: false });
  assert.deepEqual(res.missing, ["scale", "positions"]);
  assert.deepEqual(res.unexpected, ["extra.weight"]);
  assert.deepEqual(Array.from(dst.head.weight.data), Array.from(src.head.weight.data));
  // a mis-shaped tensor is an error even when not strict
  assert.throws(() => dst.loadStateDict({ "head.weight": zeros([1]) }, { strict: false }), /mis-shaped.*head\.weight/);
  // so is a dtype mismatch
  assert.throws(() => dst.loadStateDict({ positions: zeros([6]) }, { strict: false }), /positions has dtype float32/);
});

test("zeroGrad clears every parameter's gradient", () => {
  const net = new Net();
  const ids = tensor(Int32Array.from([1, 2]), [1, 2]);
  F.sum(net.forward(ids)).backward();
  assert.ok(net.parameters().every((p) => p.grad !== null));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
});

test("gradients reach every parameter through the nested containers", () => {
  manualSeed(11);
  const net = new Net().eval();
  const ids = tensor(Int32Array.from([1, 2, 3]), [1, 3]);
  F.sum(F.square(net.forward(ids))).backward();
  for (const [n, p] of net.namedParameters()) {
    assert.ok(p.grad, `${n} has a grad`);
    assert.deepEqual(p.grad.shape, p.shape, `${n} grad shape`);
    if (n !== "embed.weight") assert.ok(Array.from(p.grad.data).some((v) => v !== 0), `${n} grad non-zero`);
  }
});

test("ModuleList indexing, length and errors", () => {
  const list = new nn.ModuleList([new nn.ReLU(), new nn.Tanh()]);
  list.append(new nn.Sigmoid());
  assert.equal(list.length, 3);
  assert.ok(list.get(-1) instanceof nn.Sigmoid);
  assert.throws(() => list.get(3), /index 3 out of range for 3 modules/);
  assert.deepEqual([...list.namedChildren()].map(([n]) => n), ["0", "1", "2"]);
});

test("Parameter copies a tensor's values and refuses int32", () => {
  const t = randn([2, 2]);
  const p = new nn.Parameter(t);
  assert.ok(p.requiresGrad && p.isLeaf);
  p.data[0] = 42;
  assert.notEqual(t.data[0], 42);
  assert.throws(() => new nn.Parameter(tensor(Int32Array.from([1]), [1])), /must be float32/);
});

test("layer constructors check their arguments and shapes", () => {
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /must divide by groups 2/);
  const ln = new nn.LayerNorm([2, 3], 1e-5, { elementwiseAffine: false });
  assert.deepEqual(ln.namedParameters(), []);
  assert.deepEqual(new nn.LayerNorm(4, 1e-5, { bias: false }).namedParameters().map(([n]) => n), ["weight"]);
  assert.deepEqual(new nn.Conv1d(2, 3, 5).weight.shape, [3, 2, 5]);
  assert.deepEqual(new nn.Conv3d(4, 6, [1, 2, 3], { groups: 2 }).weight.shape, [6, 2, 1, 2, 3]);
  assert.throws(() => new nn.Linear(3, 2).forward(zeros([2, 4])), /linear: input \[2, ?4\] has 4 features/);
});
