// Property-based finite-difference checks of every differentiable op in src/ops: random shapes
// (rank 0..4, sizes 1..5), broadcasting, random dims, both keepdim modes. See helpers/ for the
// harness (FC_SEED / FC_RUNS env vars replay or widen the search).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as T from "../src/index.js";
import { Tensor, tensor } from "../src/index.js";
import { assertClose, gradcheck } from "./helpers/gradcheck.js";
import {
  Rng, broadcastPairArb, distinctTensor, fc, property, randInts, randTensor, seedArb, shapeArb, shapeWithDimArb,
  shapeWithDimsArb, sizeOf, type ValueOptions,
} from "./helpers/random.js";

// --- elementwise unary -----------------------------------------------------------------------

const UNARY: [string, (x: Tensor) => Tensor, ValueOptions][] = [
  ["neg", T.neg, {}],
  ["exp", T.exp, {}],
  ["log", T.log, { lo: 0.3, hi: 3 }],
  ["sqrt", T.sqrt, { lo: 0.3, hi: 3 }],
  ["rsqrt", T.rsqrt, { lo: 0.3, hi: 3 }],
  ["abs", T.abs, { awayFromZero: 0.05 }],
  ["tanh", T.tanh, {}],
  ["sigmoid", T.sigmoid, { lo: -4, hi: 4 }],
  ["relu", T.relu, { awayFromZero: 0.05 }],
  ["gelu", (x) => T.gelu(x), { lo: -3, hi: 3 }],
  ["gelu tanh", (x) => T.gelu(x, "tanh"), { lo: -3, hi: 3 }],
  ["silu", T.silu, { lo: -4, hi: 4 }],
  ["sin", T.sin, { lo: -3, hi: 3 }],
  ["cos", T.cos, { lo: -3, hi: 3 }],
  ["square", T.square, {}],
  ["reciprocal", T.reciprocal, { awayFromZero: 0.4 }],
  // method forms go through the same code; check a few so the wiring is covered
  ["x.exp().tanh() (methods)", (x) => x.exp().tanh(), { lo: -1, hi: 1 }],
  ["x.sigmoid().mul(x.relu()) (methods)", (x) => x.sigmoid().mul(x.relu()), { awayFromZero: 0.05 }],
];

describe("gradcheck harness", () => {
  test("catches a wrong backward rule", () => {
    // d(x^2)/dx claimed as x instead of 2x
    const badSquare = (x: Tensor): Tensor => Tensor.fromOp("badSquare", (x.data as Float32Array).map((v) => v * v), x.shape, [x], (g) => [g.mul(x)]);
    assert.throws(() => gradcheck(badSquare, [tensor([0.5, -1, 2])], { label: "badSquare" }), /badSquare: gradient mismatch/);
    gradcheck((x) => x.mul(x), [tensor([0.5, -1, 2])]);
  });
  test("catches a missing gradient", () => {
    const noGradOp = (x: Tensor): Tensor => Tensor.fromOp("noGradOp", (x.data as Float32Array).map((v) => 3 * v), x.shape, [x], () => [null]);
    assert.throws(() => gradcheck(noGradOp, [tensor([1, 2])]), /noGradOp|gradcheck: gradient mismatch[^]*analytic 0, numeric/);
  });
});

describe("grad: elementwise unary", () => {
  for (const [name, f, vo] of UNARY) {
    test(name, () => {
      property(name, fc.record({ shape: shapeArb(), seed: seedArb }), ({ shape, seed }) => {
        const x = randTensor(new Rng(seed), shape, vo);
        const y = f(x);
        assert.deepEqual(y.shape, shape);
        gradcheck(f, [x], { seed, label: name });
      });
    });
  }

  test("forward values match Math (float64) on a grid", () => {
    const xs = Float32Array.from({ length: 41 }, (_, i) => -2 + i * 0.1 + 0.013);
    const x = tensor(xs);
    const erf = (v: number): number => {
      // Abramowitz-Stegun 7.1.26 is too coarse; integrate exp(-t^2) with Simpson's rule instead
      const n = 2000, h = v / n;
      let s = 1 + Math.exp(-v * v);
      for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
      return (2 / Math.sqrt(Math.PI)) * (h / 3) * s;
    };
    const ref: [string, Tensor, (v: number) => number][] = [
      ["exp", T.exp(x), Math.exp], ["tanh", T.tanh(x), Math.tanh], ["sigmoid", T.sigmoid(x), (v) => 1 / (1 + Math.exp(-v))],
      ["gelu", T.gelu(x), (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))],
      ["gelu tanh", T.gelu(x, "tanh"), (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))],
      ["silu", T.silu(x), (v) => v / (1 + Math.exp(-v))], ["abs", T.abs(x), Math.abs], ["relu", T.relu(x), (v) => Math.max(v, 0)],
      ["sin", T.sin(x), Math.sin], ["cos", T.cos(x), Math.cos], ["square", T.square(x), (v) => v * v],
      ["neg", T.neg(x), (v) => -v], ["sign", T.sign(x), Math.sign],
    ];
    for (const [name, y, f] of ref) assertClose(y.data, Array.from(xs, f), 2e-6, 2e-6, name);
  });

  test("sign has zero gradient", () => {
    const x = tensor([-1.5, 0.5, 2], { requiresGrad: true });
    T.sign(x).mul(tensor([1, 2, 3])).sum().backward();
    assert.deepEqual(Array.from(x.grad!.data), [0, 0, 0]);
  });
});

// --- elementwise binary with broadcasting ------------------------------------------------------

const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, ValueOptions, ValueOptions][] = [
  ["add", T.add, {}, {}],
  ["sub", T.sub, {}, {}],
  ["mul", T.mul, {}, {}],
  ["div", T.div, {}, { awayFromZero: 0.5 }],
  ["pow", T.pow, { lo: 0.5, hi: 2 }, { lo: -1.5, hi: 1.5 }],
  // |a| >= 0.5 > |b|: never within eps of a tie, and both operands win somewhere
  ["maximum", T.maximum, { awayFromZero: 0.5 }, { lo: -0.3, hi: 0.3 }],
  ["minimum", T.minimum, { awayFromZero: 0.5 }, { lo: -0.3, hi: 0.3 }],
  ["maximum (b first)", (a, b) => T.maximum(b, a), { awayFromZero: 0.5 }, { lo: -0.3, hi: 0.3 }],
  ["a.add(b).mul(b) (methods)", (a, b) => a.add(b).mul(b), {}, {}],
];

describe("grad: elementwise binary with broadcasting", () => {
  for (const [name, f, va, vb] of BINARY) {
    test(name, () => {
      property(name, fc.record({ shapes: broadcastPairArb(), seed: seedArb }), ({ shapes: [sa, sb], seed }) => {
        const rng = new Rng(seed);
        const a = randTensor(rng, sa, va), b = randTensor(rng, sb, vb);
        const y = f(a, b);
        const n = Math.max(sa.length, sb.length);
        const pa = [...Array(n - sa.length).fill(1), ...sa], pb = [...Array(n - sb.length).fill(1), ...sb];
        assert.deepEqual(y.shape, pa.map((d, i) => Math.max(d, pb[i])));
        gradcheck(f, [a, b], { seed, label: `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}` });
      }, 32);
    });
  }

  test("scalar operands on either side", () => {
    property("scalars", fc.record({ shape: shapeArb(), seed: seedArb }), ({ shape, seed }) => {
      const x = randTensor(new Rng(seed), shape, { lo: 0.5, hi: 2 });
      const fns: [string, (x: Tensor) => Tensor][] = [
        ["x+2", (t) => T.add(t, 2)], ["3-x", (t) => T.sub(3, t)], ["3*x", (t) => T.mul(3, t)], ["1/x", (t) => T.div(1, t)],
        ["x/4", (t) => t.div(4)], ["x^2.5", (t) => T.pow(t, 2.5)], ["2^x", (t) => T.pow(2, t)],
        ["max(x,1)", (t) => T.maximum(t, 1.25)], ["min(0.9,x)", (t) => T.minimum(0.9, t)],
      ];
      for (const [name, f] of fns) {
        // keep x away from the maximum/minimum thresholds
        const xv = tensor(Float32Array.from(x.data, (v) => (Math.abs(v - 1.25) < 0.05 || Math.abs(v - 0.9) < 0.05 ? v + 0.12 : v)), shape);
        gradcheck(f, [xv], { seed, label: name });
      }
    }, 16);
  });

  test("int32 operands: add/mul stay int32, div becomes float32, comparisons are int32 0/1", () => {
    const a = tensor(new Int32Array([1, 2, 3])), b = tensor(new Int32Array([2, 2, 2]));
    assert.equal(T.add(a, b).dtype, "int32");
    assert.equal(T.mul(a, 2).dtype, "int32");
    const q = T.div(a, b);
    assert.equal(q.dtype, "float32");
    assert.deepEqual(Array.from(q.data), [0.5, 1, 1.5]);
    assert.deepEqual(Array.from(T.lt(a, b).data), [1, 0, 0]);
    assert.deepEqual(Array.from(T.ge(tensor([1, 2, 3]), 2).data), [0, 1, 1]);
    assert.deepEqual(Array.from(T.eq(a, b).data), [0, 1, 0]);
    assert.deepEqual(Array.from(T.ne(a, b).data), [1, 0, 1]);
    assert.deepEqual(Array.from(T.le(a, b).data), [1, 1, 0]);
    assert.deepEqual(Array.from(T.gt(a, b).data), [0, 0, 1]);
    assert.deepEqual(Array.from(T.neg(a).data), [-1, -2, -3]);
  });
});

// --- where, maskedFill, clamp ---------------------------------------------------------------------

describe("grad: where / maskedFill / clamp", () => {
  test("where(cond, a, b) with all three broadcasting", () => {
    property("where", fc.record({ shapes: broadcastPairArb(), condShape: fc.nat(), seed: seedArb }), ({ shapes: [sa, sb], seed }) => {
      const rng = new Rng(seed);
      const a = randTensor(rng, sa), b = randTensor(rng, sb);
      const out = T.add(a, b).shape;
      const cShape = out.map((d) => (rng.next() < 0.3 ? 1 : d)).slice(rng.int(0, out.length + 1));
      const cond = randInts(rng, cShape, 0, 2);
      const y = T.where(cond, a, b);
      assert.deepEqual(y.shape, out);
      gradcheck((p, q) => T.where(cond, p, q), [a, b], { seed, label: "where" });
      // forward: picks a where cond else b
      const ea = T.add(a, T.zeros(out)).data, eb = T.add(b, T.zeros(out)).data, ec = T.add(cond, T.zeros(out)).data;
      assertClose(y.data, Array.from(ea, (v, i) => (ec[i] ? v : eb[i])), 0, 0, "where forward");
    });
  });

  test("where with scalar branches", () => {
    const x = tensor([1, -2, 3], { requiresGrad: true });
    const y = T.where(T.gt(x, 0), x, 0);
    assert.deepEqual(Array.from(y.data), [1, 0, 3]);
    y.sum().backward();
    assert.deepEqual(Array.from(x.grad!.data), [1, 0, 1]);
  });

  test("maskedFill with a broadcast mask", () => {
    property("maskedFill", fc.record({ shapes: broadcastPairArb(), seed: seedArb }), ({ shapes: [sx], seed }) => {
      const rng = new Rng(seed);
      const x = randTensor(rng, sx);
      const mShape = sx.map((d) => (rng.next() < 0.4 ? 1 : d)).slice(rng.int(0, sx.length + 1));
      const mask = randInts(rng, mShape, 0, 2);
      const y = T.maskedFill(x, mask, -7);
      const m = T.add(mask, T.zeros(sx)).data;
      assertClose(y.data, Array.from(x.data, (v, i) => (m[i] ? -7 : v)), 0, 0, "maskedFill forward");
      const [g] = gradcheck((t) => t.maskedFill(mask, -7), [x], { seed, label: "maskedFill" });
      for (let i = 0; i < m.length; i++) if (m[i]) assert.equal(g.data[i], 0);
    });
  });

  test("clamp with both bounds, min only, max only", () => {
    property("clamp", fc.record({ shape: shapeArb(), seed: seedArb }), ({ shape, seed }) => {
      const raw = randTensor(new Rng(seed), shape);
      // keep inputs away from the bounds -0.5 and 0.7 (kinks)
      const x = tensor(Float32Array.from(raw.data, (v) => (Math.abs(v + 0.5) < 0.03 || Math.abs(v - 0.7) < 0.03 ? v + 0.07 : v)), shape);
      gradcheck((t) => T.clamp(t, -0.5, 0.7), [x], { seed, label: "clamp" });
      gradcheck((t) => T.clamp(t, -0.5), [x], { seed, label: "clamp min" });
      gradcheck((t) => t.clamp(null, 0.7), [x], { seed, label: "clamp max" });
      assertClose(T.clamp(x, -0.5, 0.7).data, Array.from(x.data, (v) => Math.min(Math.max(v, -0.5), Math.fround(0.7))), 0, 0, "clamp forward");
    });
  });
});

// --- reductions ------------------------------------------------------------------------------------

function reducedShape(shape: number[], dims: number[] | undefined, keepdim: boolean): number[] {
  const ds = dims === undefined ? shape.map((_, i) => i) : dims.map((d) => (d < 0 ? d + shape.length : d));
  return shape.flatMap((d, i) => (ds.includes(i) ? (keepdim ? [1] : []) : [d]));
}

describe("grad: reductions over random dim subsets, keepdim both ways", () => {
  const cases: [string, (x: Tensor, dims: number[] | undefined, k: boolean) => Tensor, boolean][] = [
    ["sum", (x, d, k) => T.sum(x, d, k), false],
    ["mean", (x, d, k) => T.mean(x, d, k), false],
    ["max", (x, d, k) => T.max(x, d, k), true],
    ["min", (x, d, k) => T.min(x, d, k), true],
    ["logsumexp", (x, d, k) => T.logsumexp(x, d, k), false],
    ["var (correction 0)", (x, d, k) => T.variance(x, d, k, 0), false],
    ["x.var() (correction 1)", (x, d, k) => x.var(d, k), false],
  ];
  for (const [name, f, distinct] of cases) {
    test(name, () => {
      property(name, shapeWithDimsArb(1, 4), ({ shape, dims, keepdim, seed }) => {
        const rng = new Rng(seed);
        const x = distinct ? distinctTensor(rng, shape, 0.01) : randTensor(rng, shape);
        const count = dims === undefined ? sizeOf(shape) : dims.reduce((n, d) => n * shape[d < 0 ? d + shape.length : d], 1);
        if (name.includes("correction 1") && count < 2) return; // n - 1 = 0: undefined
        const y = f(x, dims, keepdim);
        assert.deepEqual(y.shape, reducedShape(shape, dims, keepdim), `${name} shape`);
        gradcheck((t) => f(t, dims, keepdim), [x], { seed, label: `${name} dims=${JSON.stringify(dims)} keepdim=${keepdim}`, eps: distinct ? 1e-3 : 3e-3 });
      }, 40);
    });
  }

  test("forward values against a float64 reference", () => {
    property("reductions forward", shapeWithDimsArb(1, 4), ({ shape, dims, keepdim, seed }) => {
      const x = randTensor(new Rng(seed), shape);
      const ds = dims === undefined ? shape.map((_, i) => i) : dims.map((d) => (d < 0 ? d + shape.length : d));
      const outShape = reducedShape(shape, dims, true);
      const groups = new Map<number, number[]>();
      const strides = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
      const oStrides = outShape.map((_, i) => sizeOf(outShape.slice(i + 1)));
      for (let p = 0; p < x.numel; p++) {
        let o = 0;
        for (let i = 0; i < shape.length; i++) {
          const c = Math.floor(p / strides[i]) % shape[i];
          if (!ds.includes(i)) o += c * oStrides[i];
        }
        if (!groups.has(o)) groups.set(o, []);
        groups.get(o)!.push(x.data[p]);
      }
      const g = [...groups.keys()].sort((a, b) => a - b).map((k) => groups.get(k)!);
      const sumR = g.map((v) => v.reduce((a, b) => a + b, 0));
      const meanR = g.map((v, i) => sumR[i] / v.length);
      const varR = g.map((v, i) => v.reduce((a, b) => a + (b - meanR[i]) ** 2, 0) / Math.max(v.length - 1, 1));
      const lse = g.map((v) => Math.log(v.reduce((a, b) => a + Math.exp(b), 0)));
      assertClose(T.sum(x, dims, keepdim).data, sumR, 1e-5, 1e-5, "sum");
      assertClose(T.mean(x, dims, keepdim).data, meanR, 1e-5, 1e-5, "mean");
      assertClose(T.max(x, dims, keepdim).data, g.map((v) => Math.max(...v)), 0, 0, "max");
      assertClose(T.min(x, dims, keepdim).data, g.map((v) => Math.min(...v)), 0, 0, "min");
      assertClose(T.logsumexp(x, dims, keepdim).data, lse, 1e-5, 1e-5, "logsumexp");
      if (g[0].length > 1) assertClose(T.variance(x, dims, keepdim).data, varR, 1e-5, 1e-4, "var");
    }, 60);
  });

  test("reductions of a 0-d tensor", () => {
    const x = tensor(1.5, { requiresGrad: true });
    for (const f of [T.sum, T.mean, T.max, T.min, T.logsumexp]) {
      const y = f(x);
      assert.deepEqual(y.shape, []);
      gradcheck((t) => f(t), [x], { label: "0-d reduction" });
    }
  });

  test("argmax / argmin along a dim and overall", () => {
    const x = tensor([[1, 5, 3], [7, 0, 2]]);
    assert.deepEqual(Array.from(T.argmax(x, 1).data), [1, 0]);
    assert.deepEqual(Array.from(T.argmin(x, 0).data), [0, 1, 1]);
    assert.deepEqual(T.argmax(x, -1, true).shape, [2, 1]);
    assert.equal(T.argmax(x).item(), 3);
    assert.equal(x.argmin().item(), 4);
    assert.equal(T.argmax(x).dtype, "int32");
  });
});

// --- shape ops --------------------------------------------------------------------------------------

function randPerm(rng: Rng, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

const shapeSeed = fc.record({ shape: shapeArb(), seed: seedArb });
const shapeSeed1 = fc.record({ shape: shapeArb(1, 4), seed: seedArb });

describe("grad: shape ops", () => {
  test("reshape / view / flatten / squeeze / unsqueeze", () => {
    property("reshape family", shapeSeed, ({ shape, seed }) => {
      const rng = new Rng(seed);
      const x = randTensor(rng, shape);
      const rev = [...shape].reverse();
      gradcheck((t) => T.reshape(t, rev), [x], { seed, label: "reshape" });
      gradcheck((t) => t.view(-1), [x], { seed, label: "view -1" });
      gradcheck((t) => T.flatten(t), [x], { seed, label: "flatten" });
      if (shape.length >= 2) {
        const s = rng.int(0, shape.length), e = rng.int(s, shape.length);
        const y = T.flatten(x, s, e);
        assert.deepEqual(y.shape, [...shape.slice(0, s), sizeOf(shape.slice(s, e + 1)), ...shape.slice(e + 1)]);
        gradcheck((t) => t.flatten(s, e), [x], { seed, label: "flatten(s,e)" });
      }
      const d = rng.int(0, shape.length + 1);
      assert.deepEqual(T.unsqueeze(x, d).shape, [...shape.slice(0, d), 1, ...shape.slice(d)]);
      gradcheck((t) => T.unsqueeze(t, d), [x], { seed, label: "unsqueeze" });
      assert.deepEqual(T.squeeze(x).shape, shape.filter((v) => v !== 1));
      gradcheck((t) => T.squeeze(t), [x], { seed, label: "squeeze" });
      if (shape.length) {
        const sd = rng.int(0, shape.length);
        assert.deepEqual(T.squeeze(x, sd).shape, shape[sd] === 1 ? shape.filter((_, i) => i !== sd) : shape);
        gradcheck((t) => t.squeeze(sd), [x], { seed, label: "squeeze(d)" });
      }
    });
  });

  test("permute / transpose / T", () => {
    property("permute", shapeSeed1, ({ shape, seed }) => {
      const rng = new Rng(seed);
      const x = randTensor(rng, shape);
      const perm = randPerm(rng, shape.length);
      const y = T.permute(x, perm);
      assert.deepEqual(y.shape, perm.map((p) => shape[p]));
      // forward: y[i0..] = x[i_perm]
      const st = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
      const ys = y.shape.map((_, i) => sizeOf(y.shape.slice(i + 1)));
      for (let q = 0; q < y.numel; q++) {
        let p = 0;
        for (let i = 0; i < perm.length; i++) p += (Math.floor(q / ys[i]) % y.shape[i]) * st[perm[i]];
        assert.equal(y.data[q], x.data[p]);
      }
      gradcheck((t) => T.permute(t, perm), [x], { seed, label: "permute" });
      const a = rng.int(0, shape.length), b = rng.int(0, shape.length);
      gradcheck((t) => T.transpose(t, a, b - shape.length), [x], { seed, label: "transpose" });
      if (shape.length >= 2) gradcheck((t) => t.T, [x], { seed, label: ".T" });
    });
  });

  test("expand (with -1 and new leading dims)", () => {
    property("expand", fc.record({ shapes: broadcastPairArb(), seed: seedArb }), ({ shapes: [, sb], seed }) => {
      const rng = new Rng(seed);
      const target = [rng.int(1, 4), ...sb.map((d) => (d === 1 ? rng.int(1, 4) : d))];
      const x = randTensor(rng, sb);
      const arg = target.map((d, i) => (i > 0 && sb[i - 1] === d && rng.next() < 0.5 ? -1 : d));
      const y = T.expand(x, arg);
      assert.deepEqual(y.shape, target);
      gradcheck((t) => t.expand(arg), [x], { seed, label: "expand" });
    });
  });

  test("slice (negative bounds, steps) and narrow", () => {
    property("slice", shapeWithDimArb(1, 4), ({ shape, dim, seed }) => {
      const rng = new Rng(seed);
      const x = randTensor(rng, shape);
      const n = shape[dim < 0 ? dim + shape.length : dim];
      const start = rng.int(-n, n), end = rng.int(-n, n + 2), step = rng.int(1, 4);
      const y = T.slice(x, dim, start, end, step);
      const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
      const e = Math.min(Math.max(end < 0 ? end + n : end, s), n);
      const d = dim < 0 ? dim + shape.length : dim;
      assert.equal(y.shape[d], Math.ceil((e - s) / step));
      gradcheck((t) => T.slice(t, dim, start, end, step), [x], { seed, label: `slice(${dim},${start},${end},${step})` });
      const ns = rng.int(0, n), len = rng.int(0, n - ns + 1);
      gradcheck((t) => t.narrow(dim, ns, len), [x], { seed, label: "narrow" });
      assert.equal(T.narrow(x, dim, ns, len).shape[d], len);
    });
  });

  test("indexSelect (repeated and negative indices)", () => {
    property("indexSelect", shapeWithDimArb(1, 4), ({ shape, dim, seed }) => {
      const rng = new Rng(seed);
      const x = randTensor(rng, shape);
      const n = shape[dim < 0 ? dim + shape.length : dim];
      const idx = randInts(rng, [rng.int(1, 6)], -n, n);
      gradcheck((t) => T.indexSelect(t, dim, idx), [x], { seed, label: "indexSelect" });
      gradcheck((t) => t.indexSelect(dim, tensor(new Int32Array([n - 1]), [])), [x], { seed, label: "indexSelect 0-d" });
    });
  });

  test("gather and scatterAdd", () => {
    property("gather/scatterAdd", shapeWithDimArb(1, 4), ({ shape, dim, seed }) => {
      const rng = new Rng(seed);
      const d = dim < 0 ? dim + shape.length : dim;
      const x = randTensor(rng, shape);
      const iShape = shape.map((s, i) => (i === d ? rng.int(1, 6) : rng.int(1, s + 1)));
      const idx = randInts(rng, iShape, -shape[d], shape[d]);
      const y = T.gather(x, dim, idx);
      assert.deepEqual(y.shape, iShape);
      gradcheck((t) => T.gather(t, dim, idx), [x], { seed, label: "gather" });
      const src = randTensor(rng, iShape);
      gradcheck((t, s) => T.scatterAdd(t, dim, idx, s), [x, src], { seed, label: "scatterAdd" });
      // gather(scatterAdd(0, idx, src)) round trip on one coordinate: total mass is preserved
      const sc = T.scatterAdd(T.zeros(shape), dim, idx, src);
      assertClose([T.sum(sc).item()], [T.sum(src).item()], 1e-5, 1e-5, "scatterAdd mass");
    });
  });

  test("cat and stack of 1..3 tensors", () => {
    property("cat/stack", fc.record({ shape: shapeArb(1, 4), k: fc.integer({ min: 1, max: 3 }), seed: seedArb }), ({ shape, k, seed }) => {
      const rng = new Rng(seed);
      const d = rng.int(0, shape.length);
      const parts = Array.from({ length: k }, () => randTensor(rng, shape.map((s, i) => (i === d ? rng.int(1, 4) : s))));
      const y = T.cat(parts, d - (rng.next() < 0.5 ? shape.length : 0));
      assert.equal(y.shape[d], parts.reduce((n, p) => n + p.shape[d], 0));
      gradcheck((...ps) => T.cat(ps, d), parts, { seed, label: "cat" });
      const same = Array.from({ length: k }, () => randTensor(rng, shape));
      const sd = rng.int(0, shape.length + 1);
      assert.deepEqual(T.stack(same, sd).shape, [...shape.slice(0, sd), k, ...shape.slice(sd)]);
      gradcheck((...ps) => T.stack(ps, sd), same, { seed, label: "stack" });
    });
  });

  test("split (size and sizes) and chunk", () => {
    property("split/chunk", shapeWithDimArb(1, 4), ({ shape, dim, seed }) => {
      const rng = new Rng(seed);
      const x = randTensor(rng, shape);
      const d = dim < 0 ? dim + shape.length : dim;
      const n = shape[d];
      const size = rng.int(1, n + 1);
      const pieces = T.split(x, size, dim);
      assert.equal(pieces.length, Math.ceil(n / size));
      const weighted = (ps: Tensor[]): Tensor => T.cat(ps.map((p, i) => p.mul(i + 1)), d);
      gradcheck((t) => weighted(T.split(t, size, dim)), [x], { seed, label: "split size" });
      const cut = rng.int(0, n + 1);
      gradcheck((t) => weighted(t.split([cut, n - cut], dim).filter((p) => p.shape[d] > 0)), [x], { seed, label: "split sizes" });
      const chunks = rng.int(1, 5);
      const cs = T.chunk(x, chunks, dim);
      assert.ok(cs.length <= chunks);
      assert.equal(cs.reduce((a, p) => a + p.shape[d], 0), n);
      gradcheck((t) => weighted(t.chunk(chunks, dim)), [x], { seed, label: "chunk" });
    });
  });

  test("pad (F.pad order, constant value)", () => {
    property("pad", shapeSeed1, ({ shape, seed }) => {
      const rng = new Rng(seed);
      const x = randTensor(rng, shape);
      const nd = rng.int(1, shape.length + 1);
      const pads = Array.from({ length: 2 * nd }, () => rng.int(0, 3));
      const y = T.pad(x, pads, 0.5);
      const expShape = [...shape];
      for (let i = 0; i < nd; i++) expShape[shape.length - 1 - i] += pads[2 * i] + pads[2 * i + 1];
      assert.deepEqual(y.shape, expShape);
      assertClose([T.sum(y).item()], [T.sum(x).item() + 0.5 * (sizeOf(expShape) - sizeOf(shape))], 1e-4, 1e-5, "pad sum");
      gradcheck((t) => t.pad(pads, 0.5), [x], { seed, label: "pad" });
    });
  });

  test("unfold (1-D, 2-D, 3-D; stride, padding, dilation)", () => {
    const arb = fc.record({ nd: fc.integer({ min: 1, max: 3 }), seed: seedArb });
    property("unfold", arb, ({ nd, seed }) => {
      const rng = new Rng(seed);
      const kernel = Array.from({ length: nd }, () => rng.int(1, 4));
      const stride = Array.from({ length: nd }, () => rng.int(1, 3));
      const padding = Array.from({ length: nd }, () => rng.int(0, 2));
      const dilation = Array.from({ length: nd }, () => rng.int(1, 3));
      const spatial = kernel.map((k, i) => Math.max(1, dilation[i] * (k - 1) + 1 - 2 * padding[i]) + rng.int(0, nd === 3 ? 2 : 3));
      const x = randTensor(rng, [rng.int(1, 3), rng.int(1, 3), ...spatial]);
      const y = T.unfold(x, kernel, { stride, padding, dilation });
      const L = sizeOf(spatial.map((s, i) => Math.floor((s + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i]) + 1));
      assert.deepEqual(y.shape, [x.shape[0], x.shape[1] * sizeOf(kernel), L]);
      gradcheck((t) => T.unfold(t, kernel, { stride, padding, dilation }), [x], { seed, label: `unfold k=${kernel} s=${stride} p=${padding} d=${dilation}` });
    });
  });
});

// --- matmul ---------------------------------------------------------------------------------------

describe("grad: matmul", () => {
  test("batched with broadcast batch dims, transA/transB", () => {
    const arb = fc.record({ batch: broadcastPairArb(2, 3), m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }),
      n: fc.integer({ min: 1, max: 4 }), tA: fc.boolean(), tB: fc.boolean(), seed: seedArb });
    property("matmul", arb, ({ batch: [ba, bb], m, k, n, tA, tB, seed }) => {
      const rng = new Rng(seed);
      const a = randTensor(rng, [...ba, ...(tA ? [k, m] : [m, k])]);
      const b = randTensor(rng, [...bb, ...(tB ? [n, k] : [k, n])]);
      const y = T.matmul(a, b, { transA: tA, transB: tB });
      // forward against explicit transposes + the plain path
      const ref = T.matmul(tA ? T.transpose(a) : a, tB ? T.transpose(b) : b);
      assertClose(y.data, ref.data, 1e-5, 1e-5, "matmul trans forward");
      assert.deepEqual(y.shape, [...T.add(T.zeros(ba), T.zeros(bb)).shape, m, n]);
      gradcheck((p, q) => p.matmul(q, { transA: tA, transB: tB }), [a, b], { seed, label: `matmul ${a.shape}${tA ? "^T" : ""} @ ${b.shape}${tB ? "^T" : ""}` });
    }, 60);
  });

  test("forward against a float64 triple loop", () => {
    const rng = new Rng(7);
    const a = randTensor(rng, [2, 3, 4]), b = randTensor(rng, [4, 5]);
    const y = T.matmul(a, b);
    const ref: number[] = [];
    for (let bi = 0; bi < 2; bi++) for (let i = 0; i < 3; i++) for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let p = 0; p < 4; p++) s += a.data[bi * 12 + i * 4 + p] * b.data[p * 5 + j];
      ref.push(s);
    }
    assertClose(y.data, ref, 1e-5, 1e-5, "matmul forward");
  });

  test("1-D operands", () => {
    property("matmul 1-D", fc.record({ batch: shapeArb(0, 2, 1, 3), m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), seed: seedArb }),
      ({ batch, m, k, seed }) => {
        const rng = new Rng(seed);
        const v = randTensor(rng, [k]), w = randTensor(rng, [k]);
        const A = randTensor(rng, [...batch, m, k]), B = randTensor(rng, [...batch, k, m]);
        assert.deepEqual(T.matmul(v, w).shape, []);
        assert.deepEqual(T.matmul(A, v).shape, [...batch, m]);
        assert.deepEqual(T.matmul(v, B).shape, [...batch, m]);
        gradcheck((p, q) => T.matmul(p, q), [v, w], { seed, label: "vec @ vec" });
        gradcheck((p, q) => T.matmul(p, q), [A, v], { seed, label: "mat @ vec" });
        gradcheck((p, q) => T.matmul(p, q), [v, B], { seed, label: "vec @ mat" });
      });
  });

  test("linear (x W^T + b)", () => {
    property("linear", fc.record({ batch: shapeArb(0, 2, 1, 3), i: fc.integer({ min: 1, max: 4 }), o: fc.integer({ min: 1, max: 4 }), seed: seedArb }),
      ({ batch, i, o, seed }) => {
        const rng = new Rng(seed);
        const x = randTensor(rng, [...batch, i]), w = randTensor(rng, [o, i]), b = randTensor(rng, [o]);
        assert.deepEqual(T.linear(x, w, b).shape, [...batch, o]);
        gradcheck((p, q, r) => T.linear(p, q, r), [x, w, b], { seed, label: "linear" });
        gradcheck((p, q) => T.linear(p, q), [x, w], { seed, label: "linear no bias" });
        // the residual fused into the GEMM: x W^T + b + r, and as GPT-2's Conv1D (W [in, out])
        const res = randTensor(rng, [...batch, o]), wIO = randTensor(rng, [i, o]);
        const fused = T.linear(x, w, b, { residual: res }).data, separate = T.add(T.linear(x, w, b), res).data;
        fused.forEach((v, k) => assert.ok(Math.abs(v - separate[k]) <= 1e-5 * (1 + Math.abs(separate[k])), `linear + residual [${k}]`));
        gradcheck((p, q, r, s) => T.linear(p, q, r, { residual: s }), [x, w, b, res], { seed, label: "linear + residual" });
        gradcheck((p, q, s) => T.linear(p, q, null, { weightInOut: true, residual: s }), [x, wIO, res], { seed, label: "linear in-out + residual" });
      });
  });
});

// --- softmax, layer norm, embedding, dropout ----------------------------------------------------------

describe("grad: softmax / logSoftmax / layerNorm / embedding / dropout", () => {
  test("softmax and logSoftmax along any dim", () => {
    property("softmax", shapeWithDimArb(1, 4), ({ shape, dim, seed }) => {
      const x = randTensor(new Rng(seed), shape, { lo: -3, hi: 3 });
      const y = T.softmax(x, dim);
      const s = T.sum(y, dim).data;
      assertClose(s, new Array(s.length).fill(1), 1e-5, 0, "softmax rows sum to 1");
      assertClose(T.logSoftmax(x, dim).data, Array.from(y.data, Math.log), 1e-5, 1e-5, "logSoftmax = log(softmax)");
      gradcheck((t) => T.softmax(t, dim), [x], { seed, label: "softmax" });
      gradcheck((t) => t.logSoftmax(dim), [x], { seed, label: "logSoftmax" });
    }, 40);
  });

  test("layerNorm with and without weight and bias", () => {
    const arb = fc.record({ lead: shapeArb(0, 2, 1, 3), norm: shapeArb(1, 2, 2, 5), seed: seedArb, useW: fc.boolean(), useB: fc.boolean() });
    property("layerNorm", arb, ({ lead, norm, seed, useW, useB }) => {
      const rng = new Rng(seed);
      const x = randTensor(rng, [...lead, ...norm]);
      // rescale each row to a std in [0.5, 1.5]: a row of nearly equal values has a tiny variance
      // and an ill-conditioned gradient that central differences cannot resolve
      const c0 = sizeOf(norm);
      for (let r = 0; r < x.numel / c0; r++) {
        const row = (x.data as Float32Array).subarray(r * c0, (r + 1) * c0);
        const mu = row.reduce((a, v) => a + v, 0) / c0;
        const sd = Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / c0) || 1;
        const target = rng.uniform(0.5, 1.5);
        for (let j = 0; j < c0; j++) row[j] = mu + ((row[j] - mu) / sd) * target;
      }
      const w = randTensor(rng, norm), b = randTensor(rng, norm);
      const inputs = [x, ...(useW ? [w] : []), ...(useB ? [b] : [])];
      const f = (...ts: Tensor[]): Tensor => T.layerNorm(ts[0], norm, useW ? ts[1] : null, useB ? ts[useW ? 2 : 1] : null);
      // forward against a float64 reference
      const cols = sizeOf(norm), y = f(...inputs);
      for (let r = 0; r < x.numel / cols; r++) {
        const row = Array.from(x.data.subarray(r * cols, (r + 1) * cols));
        const mu = row.reduce((a, v) => a + v, 0) / cols;
        const v = row.reduce((a, q) => a + (q - mu) ** 2, 0) / cols;
        const ref = row.map((q, j) => ((q - mu) / Math.sqrt(v + 1e-5)) * (useW ? w.data[j] : 1) + (useB ? b.data[j] : 0));
        assertClose(y.data.subarray(r * cols, (r + 1) * cols), ref, 1e-4, 1e-4, "layerNorm forward");
      }
      gradcheck(f, inputs, { seed, label: `layerNorm w=${useW} b=${useB}`, atol: 2e-2, rtol: 2e-2 });
    }, 40);
  });

  test("residual blocks: a gradient already summed for an input is folded into the op's own (layerNorm, linear)", () => {
    // x reaches the loss twice, through the sublayer and as the residual: the second path's
    // gradient is waiting when layerNorm (pre-norm) or linear (post-norm) runs its backward,
    // which takes it (PendingGradients) and adds it as it writes dx
    const rng = new Rng(31);
    const D = 6;
    const x = randTensor(rng, [2, 3, D]), w1 = randTensor(rng, [D, D]), w2 = randTensor(rng, [D, D]);
    const b1 = randTensor(rng, [D]), g1 = randTensor(rng, [D], { lo: 0.5, hi: 1.5 });
    const preNorm = (x0: Tensor, wa: Tensor, wb: Tensor, ba: Tensor, ga: Tensor): Tensor => {
      const z1 = T.linear(T.layerNorm(x0, D, ga, null), wa, ba, { residual: x0 }); // z1 = x + f(LN(x))
      return T.linear(T.layerNorm(z1, D), wb, null, { residual: z1 }); // z1 + g(LN(z1))
    };
    gradcheck(preNorm, [x, w1, w2, b1, g1], { seed: 31, label: "pre-norm blocks", atol: 2e-2, rtol: 2e-2 });
    const postNorm = (x0: Tensor, wa: Tensor, wb: Tensor, ba: Tensor, ga: Tensor): Tensor => {
      // LN(x + f(x)), f(x) = (x Wa^T + ba) Wb^T: the residual reaches x from f's last linear,
      // before f's first linear (x's other consumer) runs its backward
      const y = T.layerNorm(T.linear(T.linear(x0, wa, ba), wb, null, { residual: x0 }), D, ga, null);
      return T.layerNorm(T.linear(T.linear(y, wb, null), wa, ba, { residual: y }), D); // LN(y + f'(y))
    };
    gradcheck(postNorm, [x, w1, w2, b1, g1], { seed: 32, label: "post-norm blocks", atol: 2e-2, rtol: 2e-2 });
    // the same gradients whether or not the sums are folded in: each layerNorm here reads a copy
    // (x * 1), its only consumer, so the engine adds the two paths' gradients itself
    const viaAdd = (x0: Tensor): Tensor => {
      const z1 = T.linear(T.layerNorm(T.mul(x0, 1), D, g1, null), w1, b1, { residual: x0 });
      return T.linear(T.layerNorm(T.mul(z1, 1), D), w2, null, { residual: z1 });
    };
    const xa = x.detach().requiresGrad_(), xb = x.detach().requiresGrad_();
    T.sum(T.mul(preNorm(xa, w1, w2, b1, g1), 1.5)).backward();
    T.sum(T.mul(viaAdd(xb), 1.5)).backward();
    assertClose(xa.grad!.data, xb.grad!.data, 1e-5, 1e-5, "folded = separate adds");
  });

  test("embedding (ids of any rank, repeated ids accumulate)", () => {
    property("embedding", fc.record({ ids: shapeArb(0, 3, 1, 4), v: fc.integer({ min: 1, max: 6 }), c: fc.integer({ min: 1, max: 4 }), seed: seedArb }),
      ({ ids: is, v, c, seed }) => {
        const rng = new Rng(seed);
        const ids = randInts(rng, is, 0, v);
        const w = randTensor(rng, [v, c]);
        const y = T.embedding(ids, w);
        assert.deepEqual(y.shape, [...is, c]);
        for (let i = 0; i < ids.numel; i++) for (let j = 0; j < c; j++) assert.equal(y.data[i * c + j], w.data[ids.data[i] * c + j]);
        gradcheck((t) => T.embedding(ids, t), [w], { seed, label: "embedding" });
      });
  });

  test("dropout: gradient equals mask * scale, reproducible with a seeded generator", () => {
    property("dropout", fc.record({ shape: shapeArb(1, 4), p: fc.constantFrom(0.1, 0.5, 0.8), seed: seedArb }), ({ shape, p, seed }) => {
      const x = randTensor(new Rng(seed), shape, { awayFromZero: 0.1, requiresGrad: true });
      const y = T.dropout(x, p, true, new T.Generator(seed));
      const g = randTensor(new Rng(seed + 1), shape);
      y.backward(g);
      const scale = 1 / (1 - p);
      for (let i = 0; i < x.numel; i++) {
        const kept = y.data[i] !== 0;
        const m = kept ? scale : 0;
        assertClose([y.data[i]], [x.data[i] * m], 1e-6, 1e-6, "dropout output");
        assertClose([x.grad!.data[i]], [g.data[i] * m], 1e-6, 1e-6, "dropout grad = g * mask * scale");
      }
      const again = T.dropout(x.detach(), p, true, new T.Generator(seed));
      assert.deepEqual(Array.from(again.data), Array.from(y.data), "same seed, same mask");
    });
  });

  test("dropout: identity in eval mode and at p=0, zeros at p=1, keep-rate near 1-p", () => {
    const x = T.ones([4000]);
    assert.equal(T.dropout(x, 0.5, false), x);
    assert.equal(T.dropout(x, 0), x);
    assert.ok(T.dropout(x, 1, true).data.every((v) => v === 0));
    const kept = T.dropout(x, 0.3, true, new T.Generator(3)).data.filter((v) => v !== 0).length / 4000;
    assert.ok(Math.abs(kept - 0.7) < 0.03, `keep rate ${kept}`);
  });
});

// --- losses ------------------------------------------------------------------------------------------

describe("grad: losses", () => {
  test("crossEntropy: [N, C] and [N, C, d...], ignoreIndex, labelSmoothing, reductions", () => {
    const arb = fc.record({
      n: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 2, max: 5 }), extra: shapeArb(0, 2, 1, 3),
      ignore: fc.constantFrom(-100, 1), smoothing: fc.constantFrom(0, 0.1, 0.3),
      reduction: fc.constantFrom("mean" as const, "sum" as const, "none" as const), seed: seedArb,
    });
    property("crossEntropy", arb, ({ n, c, extra, ignore, smoothing, reduction, seed }) => {
      const rng = new Rng(seed);
      const logits = randTensor(rng, [n, c, ...extra], { lo: -3, hi: 3 });
      const t = randInts(rng, [n, ...extra], 0, c);
      // ignore roughly a quarter of the targets, but keep at least one
      for (let i = 1; i < t.numel; i++) if (rng.next() < 0.25) t.data[i] = ignore;
      if (t.data[0] === ignore) t.data[0] = ignore === 1 ? 0 : 1;
      const opts = { ignoreIndex: ignore, labelSmoothing: smoothing, reduction };
      const y = T.crossEntropy(logits, t, opts);
      assert.deepEqual(y.shape, reduction === "none" ? [n, ...extra] : []);
      // forward against log-softmax along dim 1
      const lsm = T.logSoftmax(logits, 1);
      const per: number[] = [];
      const inner = sizeOf(extra);
      let valid = 0;
      for (let b = 0; b < n; b++) for (let q = 0; q < inner; q++) {
        const tt = t.data[b * inner + q];
        if (tt === ignore) { per.push(0); continue; }
        valid++;
        let nll = 0, smooth = 0;
        for (let j = 0; j < c; j++) {
          const lp = lsm.data[(b * c + j) * inner + q];
          if (j === tt) nll = -lp;
          smooth -= lp / c;
        }
        per.push((1 - smoothing) * nll + smoothing * smooth);
      }
      const tot = per.reduce((a, v) => a + v, 0);
      const expected = reduction === "none" ? per : reduction === "sum" ? [tot] : [tot / valid];
      assertClose(y.data, expected, 1e-5, 1e-5, "crossEntropy forward");
      gradcheck((p) => T.crossEntropy(p, t, opts), [logits], { seed, label: `crossEntropy ${JSON.stringify(opts)}` });
    }, 48);
  });

  test("crossEntropy of a single [C] row with a 0-d target", () => {
    const x = tensor([0.5, -1, 2]);
    const y = T.crossEntropy(x, tensor(new Int32Array([2]), []));
    assertClose([y.item()], [-T.logSoftmax(x).data[2]], 1e-6, 1e-6, "1-D crossEntropy");
  });

  test("mseLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits (all reductions)", () => {
    // rank <= 3: a float32 "sum" of hundreds of terms rounds at ~1e-5, too coarse for central differences
    const arb = fc.record({ shape: shapeArb(0, 3), reduction: fc.constantFrom("mean" as const, "sum" as const, "none" as const), seed: seedArb });
    property("pointwise losses", arb, ({ shape, reduction, seed }) => {
      const rng = new Rng(seed);
      const a = randTensor(rng, shape), b = randTensor(rng, shape);
      const p = randTensor(rng, shape, { lo: 0.05, hi: 0.95 }), t = randTensor(rng, shape, { lo: 0, hi: 1 });
      const z = randTensor(rng, shape, { lo: -4, hi: 4, awayFromZero: 0.05 });
      const red = (v: number[]): number[] => (reduction === "none" ? v : reduction === "sum" ? [v.reduce((x, y) => x + y, 0)] : [v.reduce((x, y) => x + y, 0) / v.length]);
      assertClose(T.mseLoss(a, b, reduction).data, red(Array.from(a.data, (v, i) => (v - b.data[i]) ** 2)), 1e-5, 1e-5, "mse forward");
      assertClose(T.binaryCrossEntropy(p, t, reduction).data,
        red(Array.from(p.data, (v, i) => -(t.data[i] * Math.log(v) + (1 - t.data[i]) * Math.log(1 - v)))), 1e-5, 1e-5, "bce forward");
      assertClose(T.binaryCrossEntropyWithLogits(z, t, reduction).data,
        red(Array.from(z.data, (v, i) => -(t.data[i] * Math.log(1 / (1 + Math.exp(-v))) + (1 - t.data[i]) * Math.log(1 - 1 / (1 + Math.exp(-v)))))),
        1e-5, 1e-5, "bce logits forward");
      gradcheck((x, y) => T.mseLoss(x, y, reduction), [a, b], { seed, label: "mseLoss" });
      gradcheck((x, y) => T.binaryCrossEntropy(x, y, reduction), [p, t], { seed, label: "binaryCrossEntropy" });
      gradcheck((x, y) => T.binaryCrossEntropyWithLogits(x, y, reduction), [z, t], { seed, label: "binaryCrossEntropyWithLogits" });
    });
  });

  test("binaryCrossEntropyWithLogits is stable for large logits", () => {
    const y = T.binaryCrossEntropyWithLogits(tensor([100, -100]), tensor([0, 1]), "none");
    assertClose(y.data, [100, 100], 1e-4, 1e-6, "stable bce");
  });
});

// --- convolution and pooling ------------------------------------------------------------------------

describe("grad: convolution and pooling", () => {
  for (const nd of [1, 2, 3]) {
    test(`conv${nd}d (stride, padding, dilation, groups, bias)`, () => {
      property(`conv${nd}d`, fc.record({ seed: seedArb, useBias: fc.boolean() }), ({ seed, useBias }) => {
        const rng = new Rng(seed);
        const groups = rng.int(1, 3), cg = rng.int(1, 3), og = rng.int(1, 3);
        const kernel = Array.from({ length: nd }, () => rng.int(1, nd === 3 ? 3 : 4));
        const stride = Array.from({ length: nd }, () => rng.int(1, 3));
        const padding = Array.from({ length: nd }, () => rng.int(0, 2));
        const dilation = Array.from({ length: nd }, () => rng.int(1, 3));
        const spatial = kernel.map((k, i) => Math.max(1, dilation[i] * (k - 1) + 1 - 2 * padding[i]) + rng.int(0, nd === 3 ? 2 : 3));
        const x = randTensor(rng, [rng.int(1, 3), groups * cg, ...spatial]);
        const w = randTensor(rng, [groups * og, cg, ...kernel]);
        const b = randTensor(rng, [groups * og]);
        const conv = nd === 1 ? T.conv1d : nd === 2 ? T.conv2d : T.conv3d;
        const opts = { stride, padding, dilation, groups };
        const y = conv(x, w, useBias ? b : null, opts);
        // forward against a direct float64 loop
        const outSp = spatial.map((s, i) => Math.floor((s + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i]) + 1);
        assert.deepEqual(y.shape, [x.shape[0], groups * og, ...outSp]);
        const ref = directConv(x, w, useBias ? b : null, stride, padding, dilation, groups);
        assertClose(y.data, ref, 1e-4, 1e-4, `conv${nd}d forward`);
        const label = `conv${nd}d x=${x.shape} w=${w.shape} ${JSON.stringify(opts)}`;
        if (useBias) gradcheck((p, q, r) => conv(p, q, r, opts), [x, w, b], { seed, label });
        else gradcheck((p, q) => conv(p, q, null, opts), [x, w], { seed, label });
      }, nd === 3 ? 16 : 24);
    });
  }

  for (const nd of [1, 2, 3]) {
    test(`maxPool${nd}d / avgPool${nd}d (stride, padding)`, () => {
      property(`pool${nd}d`, fc.record({ seed: seedArb }), ({ seed }) => {
        const rng = new Rng(seed);
        const kernel = Array.from({ length: nd }, () => rng.int(1, 4));
        const stride = Array.from({ length: nd }, () => rng.int(1, 3));
        const padding = kernel.map((k) => rng.int(0, Math.floor(k / 2) + 1));
        const spatial = kernel.map((k) => k + rng.int(0, nd === 3 ? 2 : 3));
        const shape = [rng.int(1, 3), rng.int(1, 3), ...spatial];
        const x = distinctTensor(rng, shape, 0.01);
        const mp = [T.maxPool1d, T.maxPool2d, T.maxPool3d][nd - 1], ap = [T.avgPool1d, T.avgPool2d, T.avgPool3d][nd - 1];
        const opts = { stride, padding };
        const outSp = spatial.map((s, i) => Math.floor((s + 2 * padding[i] - kernel[i]) / stride[i]) + 1);
        const ym = mp(x, kernel, opts), ya = ap(x, kernel, opts);
        assert.deepEqual(ym.shape, [shape[0], shape[1], ...outSp]);
        assert.deepEqual(ya.shape, ym.shape);
        const [refMax, refAvg] = directPool(x, kernel, stride, padding);
        assertClose(ym.data, refMax, 0, 0, "maxPool forward");
        assertClose(ya.data, refAvg, 1e-5, 1e-5, "avgPool forward (count_include_pad)");
        gradcheck((t) => mp(t, kernel, opts), [x], { seed, eps: 1e-3, label: `maxPool${nd}d k=${kernel} ${JSON.stringify(opts)}` });
        gradcheck((t) => ap(t, kernel, opts), [x], { seed, label: `avgPool${nd}d` });
      }, nd === 3 ? 16 : 24);
    });
  }

  test("pooling with default stride = kernel", () => {
    const x = tensor(Float32Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
    assert.deepEqual(Array.from(T.maxPool2d(x, 2).data), [5, 7, 13, 15]);
    assert.deepEqual(Array.from(T.avgPool2d(x, 2).data), [2.5, 4.5, 10.5, 12.5]);
  });
});

/** Direct N-d convolution in float64 (reference). */
function directConv(x: Tensor, w: Tensor, b: Tensor | null, stride: number[], padding: number[], dilation: number[], groups: number): number[] {
  const [N, C, ...sp] = x.shape;
  const [O, Cg, ...k] = w.shape;
  const nd = sp.length;
  const outSp = sp.map((s, i) => Math.floor((s + 2 * padding[i] - dilation[i] * (k[i] - 1) - 1) / stride[i]) + 1);
  const out: number[] = [];
  const og = O / groups;
  const idx = (dims: number[], pos: number[]): number => pos.reduce((a, p, i) => a * dims[i] + p, 0);
  const forEach = (dims: number[], f: (p: number[]) => void): void => {
    const total = sizeOf(dims);
    for (let q = 0; q < total; q++) {
      const p: number[] = [];
      let r = q;
      for (let i = dims.length - 1; i >= 0; i--) { p.unshift(r % dims[i]); r = Math.floor(r / dims[i]); }
      f(p);
    }
  };
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
    const g = Math.floor(o / og);
    forEach(outSp, (op) => {
      let s = b ? b.data[o] : 0;
      for (let c = 0; c < Cg; c++) {
        forEach(k, (kp) => {
          const ip = op.map((v, i) => v * stride[i] - padding[i] + kp[i] * dilation[i]);
          if (ip.some((v, i) => v < 0 || v >= sp[i])) return;
          s += x.data[(n * C + g * Cg + c) * sizeOf(sp) + idx(sp, ip)] * w.data[(o * Cg + c) * sizeOf(k) + idx(k, kp)];
        });
      }
      out.push(s);
    });
  }
  void nd;
  return out;
}

/** Direct max and average pooling (average counts padding, like PyTorch's default). */
function directPool(x: Tensor, k: number[], stride: number[], padding: number[]): [number[], number[]] {
  const [N, C, ...sp] = x.shape;
  const outSp = sp.map((s, i) => Math.floor((s + 2 * padding[i] - k[i]) / stride[i]) + 1);
  const mx: number[] = [], av: number[] = [];
  const coords = (dims: number[]): number[][] => {
    const res: number[][] = [];
    for (let q = 0; q < sizeOf(dims); q++) {
      const p: number[] = [];
      let r = q;
      for (let i = dims.length - 1; i >= 0; i--) { p.unshift(r % dims[i]); r = Math.floor(r / dims[i]); }
      res.push(p);
    }
    return res;
  };
  for (let nc = 0; nc < N * C; nc++) {
    for (const op of coords(outSp)) {
      let m = -Infinity, s = 0;
      for (const kp of coords(k)) {
        const ip = op.map((v, i) => v * stride[i] - padding[i] + kp[i]);
        if (ip.some((v, i) => v < 0 || v >= sp[i])) continue;
        const val = x.data[nc * sizeOf(sp) + ip.reduce((a, p, i) => a * sp[i] + p, 0)];
        m = Math.max(m, val);
        s += val;
      }
      mx.push(m);
      av.push(s / sizeOf(k));
    }
  }
  return [mx, av];
}

// --- attention -----------------------------------------------------------------------------------------

/** softmax(Q K^T * scale + mask) V built from primitive ops (reference for the fused kernel). */
function referenceSdpa(q: Tensor, k: Tensor, v: Tensor, o: T.SdpaOptions): Tensor {
  const [, , Tq, D] = q.shape;
  const Tk = k.shape[2];
  let s = T.mul(T.matmul(q, k, { transB: true }), o.scale ?? 1 / Math.sqrt(D));
  if (o.mask) s = o.mask.dtype === "int32" ? T.maskedFill(s, T.eq(o.mask, 0), -Infinity) : T.add(s, o.mask);
  if (o.causal) {
    const allowed = new Int32Array(Tq * Tk).map((_, p) => (p % Tk <= Math.floor(p / Tk) + (Tk - Tq) ? 0 : 1));
    s = T.maskedFill(s, tensor(allowed, [Tq, Tk]), -Infinity);
  }
  return T.matmul(T.softmax(s, -1), v);
}

describe("grad: scaledDotProductAttention", () => {
  test("causal, bool and additive masks, Tq != Tk, custom scale", () => {
    const arb = fc.record({
      b: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 1, max: 3 }), tq: fc.integer({ min: 1, max: 4 }),
      tk: fc.integer({ min: 1, max: 4 }), d: fc.integer({ min: 1, max: 4 }), dv: fc.integer({ min: 1, max: 4 }),
      causal: fc.boolean(), mask: fc.constantFrom("none", "bool", "additive"), maskShape: fc.constantFrom("2d", "b1", "bh", "1h"),
      scale: fc.constantFrom(undefined, 0.3), seed: seedArb,
    });
    property("sdpa", arb, ({ b, h, tq, tk, d, dv, causal, mask, maskShape, scale, seed }) => {
      const rng = new Rng(seed);
      if (causal) tq = Math.min(tq, tk); // avoid fully masked rows (their output is defined as 0 here)
      const q = randTensor(rng, [b, h, tq, d]), k = randTensor(rng, [b, h, tk, d]), v = randTensor(rng, [b, h, tk, dv]);
      const ms = maskShape === "2d" ? [tq, tk] : maskShape === "b1" ? [b, 1, tq, tk] : maskShape === "bh" ? [b, h, tq, tk] : [1, h, 1, tk];
      let m: Tensor | null = null;
      if (mask === "bool") {
        m = randInts(rng, ms, 0, 2);
        // every query row keeps its first allowed key, so no row is fully masked
        const last = ms[ms.length - 1];
        for (let r = 0; r < m.numel / last; r++) m.data[r * last] = 1;
      } else if (mask === "additive") m = randTensor(rng, ms, { lo: -2, hi: 1 });
      const opts: T.SdpaOptions = { causal, mask: m, scale };
      const y = T.scaledDotProductAttention(q, k, v, opts);
      assert.deepEqual(y.shape, [b, h, tq, dv]);
      assertClose(y.data, referenceSdpa(q, k, v, opts).data, 1e-5, 1e-4, "sdpa forward vs reference");
      gradcheck((a, bb, c) => T.scaledDotProductAttention(a, bb, c, opts), [q, k, v],
        { seed, label: `sdpa q=${q.shape} k=${k.shape} v=${v.shape} causal=${causal} mask=${mask}:${ms}` });
    }, 60);
  });

  test("a fully masked row gives zeros and no gradient", () => {
    const q = T.randn([1, 1, 2, 3], { requiresGrad: true }), k = T.randn([1, 1, 2, 3], { requiresGrad: true });
    const v = T.randn([1, 1, 2, 3], { requiresGrad: true });
    const mask = tensor(new Int32Array([0, 0, 1, 1]), [2, 2]);
    const y = T.scaledDotProductAttention(q, k, v, { mask });
    assert.deepEqual(Array.from(y.data.subarray(0, 3)), [0, 0, 0]);
    y.sum().backward();
    assert.deepEqual(Array.from(q.grad!.data.subarray(0, 3)), [0, 0, 0]);
  });
});
