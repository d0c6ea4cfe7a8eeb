// Bad inputs: every op names itself and the offending shapes, rejects wrong dtypes and
// out-of-range indices, and never broadcasts where it should not.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as T from "../src/index.js";
import { tensor } from "../src/index.js";

const ints = (v: number[], shape?: number[]): T.Tensor => tensor(new Int32Array(v), shape ?? [v.length]);

describe("shape mismatches name the op and both shapes", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["add", () => T.add(T.ones([2, 3]), T.ones([4])), /add: shapes \[2, 3\] and \[4\] do not broadcast/],
    ["sub", () => T.sub(T.ones([2]), T.ones([3])), /sub: shapes \[2\] and \[3\]/],
    ["mul", () => T.ones([2, 1, 3]).mul(T.ones([4, 2])), /mul: shapes \[2, 1, 3\] and \[4, 2\]/],
    ["div", () => T.div(T.ones([5]), T.ones([2, 4])), /div: shapes \[5\] and \[2, 4\]/],
    ["pow", () => T.pow(T.ones([2]), T.ones([3])), /pow: shapes/],
    ["maximum", () => T.maximum(T.ones([2]), T.ones([3])), /max: shapes \[2\] and \[3\]/],
    ["where", () => T.where(T.ones([2]), T.ones([3]), 0), /where: shapes \[2\] and \[3\]/],
    ["matmul inner", () => T.matmul(T.ones([2, 3]), T.ones([4, 5])), /matmul: inner sizes differ: \[2, 3\] @ \[4, 5\] \(3 vs 4\)/],
    ["matmul transB", () => T.matmul(T.ones([2, 3]), T.ones([3, 5]), { transB: true }), /matmul: inner sizes differ: \[2, 3\] @ \[3, 5\]\^T/],
    ["matmul batch", () => T.matmul(T.ones([2, 2, 3]), T.ones([3, 3, 4])), /matmul: shapes \[2\] and \[3\] do not broadcast/],
    ["matmul vectors", () => T.matmul(T.ones([2]), T.ones([3])), /matmul: vectors of different lengths \[2\] and \[3\]/],
    ["matmul 0-d", () => T.matmul(T.ones([]), T.ones([3])), /matmul: both operands need at least one dim/],
    ["linear", () => T.linear(T.ones([2, 3]), T.ones([4, 2])), /linear: input \[2, 3\] has 3 features, weight \[4, 2\] expects 2/],
    ["linear residual", () => T.linear(T.ones([2, 3]), T.ones([4, 3]), null, { residual: T.ones([2, 3]) }),
      /linear: residual must have the output's shape \[2, 4\], got \[2, 3\]/],
    ["reshape", () => T.reshape(T.ones([2, 3]), [4]), /reshape: cannot reshape \[2, 3\] \(6 elements\) into \[4\]/],
    ["reshape -1", () => T.ones([2, 3]).reshape(4, -1), /reshape: cannot reshape \[2, 3\] \(6 elements\) into \[4, -1\]/],
    ["reshape two -1", () => T.ones([2, 3]).reshape(-1, -1), /reshape: only one dim can be -1/],
    ["expand", () => T.expand(T.ones([2, 3]), [4, 3]), /expand: cannot expand \[2, 3\] to \[4, 3\] \(dim 0: 2 vs 4\)/],
    ["expand rank", () => T.expand(T.ones([2, 3]), [3]), /expand: target \[3\] has fewer dims than \[2, 3\]/],
    ["expand -1 leading", () => T.expand(T.ones([3]), [-1, 3]), /expand: -1 is not allowed for the new leading dim 0/],
    ["permute", () => T.permute(T.ones([2, 3]), [0]), /permute: got 1 dims \[0\] for a tensor of rank 2/],
    ["permute repeat", () => T.permute(T.ones([2, 3]), [1, 1]), /permute: repeated dim/],
    ["cat", () => T.cat([T.ones([2, 3]), T.ones([2, 4])], 0), /cat: shapes \[2, 3\] and \[2, 4\] differ outside dim 0/],
    ["cat rank", () => T.cat([T.ones([2, 3]), T.ones([3])]), /cat: shapes \[2, 3\] and \[3\] differ/],
    ["cat 0-d", () => T.cat([tensor(1), tensor(2)]), /cat: zero-dimensional tensors cannot be concatenated/],
    ["cat empty", () => T.cat([]), /cat: expected at least one tensor/],
    ["stack", () => T.stack([T.ones([2]), T.ones([3])]), /stack: all tensors need one shape, got \[2\] and \[3\]/],
    ["split", () => T.split(T.ones([3]), [1, 1]), /split: sizes \[1, 1\] sum to 2, but dim 0 has size 3/],
    ["narrow", () => T.narrow(T.ones([2, 3]), 1, 2, 2), /narrow: start 2 \+ length 2 exceeds size 3 of dim 1 in \[2, 3\]/],
    ["slice step", () => T.slice(T.ones([3]), 0, 0, 3, 0), /slice: step must be a positive integer, got 0/],
    ["pad", () => T.pad(T.ones([3]), [1, 1, 1, 1]), /pad: expected an even number of pads for at most 1 dims, got \[1, 1, 1, 1\]/],
    ["pad negative", () => T.pad(T.ones([3]), [-1, 0]), /pad: pads must be integers >= 0/],
    ["gather rank", () => T.gather(T.ones([2, 3]), 1, ints([0])), /gather: index \[1\] must have the same rank as the input \[2, 3\]/],
    ["gather size", () => T.gather(T.ones([2, 3]), 1, ints([0, 0, 0], [3, 1])), /gather: index \[3, 1\] is larger than input \[2, 3\] at dim 0/],
    ["scatterAdd", () => T.scatterAdd(T.ones([3]), 0, ints([0, 1]), T.ones([3])), /scatterAdd: index \[2\] and src \[3\] must have the same shape/],
    ["layerNorm input", () => T.layerNorm(T.ones([2, 3]), 4), /layerNorm: input \[2, 3\] does not end with normalized shape \[4\]/],
    ["unfold rank", () => T.unfold(T.ones([3, 4]), 2), /unfold: expected \[N, C, \.\.\.spatial\], got \[3, 4\]/],
    ["unfold too small", () => T.unfold(T.ones([1, 1, 2]), 3), /unfold: input size \[2\] is too small for kernel \[3\]/],
    ["conv channels", () => T.conv2d(T.ones([1, 3, 4, 4]), T.ones([2, 2, 3, 3])), /conv2d: input has 3 channels but weight \[2, 2, 3, 3\] with groups=1 expects 2/],
    ["conv groups", () => T.conv1d(T.ones([1, 4, 5]), T.ones([3, 2, 3]), null, { groups: 2 }), /conv1d: input has 4 channels but weight \[3, 2, 3\] with groups=2/],
    ["conv input rank", () => T.conv3d(T.ones([1, 1, 4, 4]), T.ones([1, 1, 1, 1, 1])), /conv3d: input must be \[N, C, D, H, W\], got \[1, 1, 4, 4\]/],
    ["conv bias", () => T.conv1d(T.ones([1, 1, 4]), T.ones([2, 1, 3]), T.ones([3])), /conv1d: bias must be \[2\], got \[3\]/],
    ["conv stride tuple", () => T.conv2d(T.ones([1, 1, 4, 4]), T.ones([1, 1, 2, 2]), null, { stride: [1, 1, 1] }), /conv2d: stride needs 2 values, got \[1, 1, 1\]/],
    ["pool rank", () => T.maxPool2d(T.ones([1, 1, 4]), 2), /maxPool2d: input must have rank 4 \(\[N, C, \.\.\.\]\), got \[1, 1, 4\]/],
    ["sdpa rank", () => T.scaledDotProductAttention(T.ones([2, 3]), T.ones([2, 3]), T.ones([2, 3])), /scaledDotProductAttention: q must be \[B, H, T, D\], got \[2, 3\]/],
    ["sdpa k", () => T.scaledDotProductAttention(T.ones([1, 1, 2, 3]), T.ones([1, 1, 2, 4]), T.ones([1, 1, 2, 3])), /scaledDotProductAttention: k \[1, 1, 2, 4\] does not match q \[1, 1, 2, 3\]/],
    ["sdpa v", () => T.scaledDotProductAttention(T.ones([1, 1, 2, 3]), T.ones([1, 1, 2, 3]), T.ones([1, 1, 3, 3])), /scaledDotProductAttention: v \[1, 1, 3, 3\] does not match k \[1, 1, 2, 3\]/],
    ["sdpa mask", () => T.scaledDotProductAttention(T.ones([1, 1, 2, 3]), T.ones([1, 1, 2, 3]), T.ones([1, 1, 2, 3]), { mask: T.ones([3, 3]) }),
      /scaledDotProductAttention: mask \[3, 3\] does not broadcast to \[B, H, Tq, Tk\] = \[1, 1, 2, 2\]/],
    ["crossEntropy targets", () => T.crossEntropy(T.ones([2, 3]), ints([1, 1, 1])), /crossEntropy: targets \[3\] do not match logits \[2, 3\] \(expected targets \[2\]\)/],
    ["crossEntropy [N,C,d]", () => T.crossEntropy(T.ones([2, 3, 4]), ints([0, 0], [2])), /crossEntropy: targets \[2\] do not match logits \[2, 3, 4\] \(expected targets \[2, 4\]\)/],
    ["embedding weight", () => T.embedding(ints([0]), T.ones([3])), /embedding: weight must be \[numEmbeddings, dim\], got \[3\]/],
  ];
  for (const [name, f, re] of cases) test(name, () => assert.throws(f, re));
});

describe("nothing silently broadcasts where it should not", () => {
  test("layerNorm weight / bias must have exactly the normalized shape", () => {
    assert.throws(() => T.layerNorm(T.ones([2, 3]), 3, T.ones([1, 3])), /RangeError: layerNorm: weight has shape \[1, 3\], expected \[3\]/);
    assert.throws(() => T.layerNorm(T.ones([2, 3]), 3, null, T.ones([1])), /layerNorm: bias has shape \[1\], expected \[3\]/);
  });
  test("losses need equal shapes", () => {
    assert.throws(() => T.mseLoss(T.ones([2, 3]), T.ones([3])), /mseLoss: input \[2, 3\] and target \[3\] differ/);
    assert.throws(() => T.mseLoss(T.ones([2, 1]), T.ones([2])), /mseLoss: input \[2, 1\] and target \[2\] differ/);
    assert.throws(() => T.binaryCrossEntropy(T.full([2], 0.5), T.ones([1])), /binaryCrossEntropy: input \[2\] and target \[1\] differ/);
    assert.throws(() => T.binaryCrossEntropyWithLogits(T.ones([2]), T.ones([2, 1])), /binaryCrossEntropyWithLogits: logits \[2\] and target \[2, 1\] differ/);
  });
  test("maskedFill does not grow the input; cat does not broadcast", () => {
    assert.throws(() => T.maskedFill(T.ones([3]), ints([1, 0, 1, 0, 1, 0], [2, 3]), 0), /maskedFill: mask shape \[2, 3\] must broadcast to the input shape \[3\]/);
    assert.throws(() => T.cat([T.ones([2, 3]), T.ones([1, 3])], 1), /cat: shapes \[2, 3\] and \[1, 3\] differ outside dim 1/);
  });
});

describe("wrong dtypes", () => {
  const f = T.ones([2, 2]);
  const i = ints([1, 0, 1, 0], [2, 2]);
  const cases: [string, () => unknown, RegExp][] = [
    ["matmul", () => T.matmul(i, f), /matmul: a must be float32, got int32/],
    ["matmul b", () => T.matmul(f, i), /matmul: b must be float32, got int32/],
    ["layerNorm", () => T.layerNorm(i, 2), /layerNorm: input must be float32, got int32/],
    ["embedding ids", () => T.embedding(tensor([1, 0]), f), /embedding: ids must be int32, got float32/],
    ["gather index", () => T.gather(f, 1, f), /gather: index must be int32, got float32/],
    ["indexSelect index", () => T.indexSelect(f, 0, tensor([0])), /indexSelect: index must be int32, got float32/],
    ["scatterAdd index", () => T.scatterAdd(f, 0, f, f), /scatterAdd: index must be int32, got float32/],
    ["crossEntropy targets", () => T.crossEntropy(f, tensor([0, 1])), /crossEntropy: targets must be int32, got float32/],
    ["crossEntropy logits", () => T.crossEntropy(i, ints([0, 1])), /crossEntropy: logits must be float32, got int32/],
    ["conv", () => T.conv1d(ints([1, 2, 3], [1, 1, 3]), T.ones([1, 1, 1])), /conv1d: input must be float32, got int32/],
    ["sdpa", () => T.scaledDotProductAttention(ints([1], [1, 1, 1, 1]), T.ones([1, 1, 1, 1]), T.ones([1, 1, 1, 1])), /scaledDotProductAttention: q must be float32, got int32/],
    ["cat", () => T.cat([f, i]), /cat: dtypes differ \(float32 and int32\)/],
    ["requiresGrad", () => T.zeros([2], { dtype: "int32", requiresGrad: true }), /only float32 tensors can require gradients/],
    ["unknown dtype", () => T.zeros([2], { dtype: "float16" as "float32" }), /unknown dtype "float16"/],
    ["lift", () => T.add(f, "1" as unknown as number), /expected a Tensor or a number, got string/],
  ];
  for (const [name, fn, re] of cases) test(name, () => assert.throws(fn, re));
});

describe("out-of-range indices and arguments", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["embedding id too large", () => T.embedding(ints([0, 3]), T.ones([3, 2])), /embedding: id 3 at position 1 is out of range for 3 embeddings/],
    ["embedding negative id", () => T.embedding(ints([-1]), T.ones([3, 2])), /embedding: id -1 at position 0 is out of range for 3 embeddings/],
    ["gather", () => T.gather(T.ones([2, 3]), 1, ints([0, 3], [1, 2])), /gather: index 3 is out of range for dim 1 of size 3/],
    ["gather negative", () => T.gather(T.ones([2, 3]), 1, ints([-4], [1, 1])), /gather: index -4 is out of range/],
    ["scatterAdd", () => T.scatterAdd(T.ones([3]), 0, ints([5]), T.ones([1])), /scatterAdd: index 5 is out of range for dim 0 of size 3/],
    ["indexSelect", () => T.indexSelect(T.ones([2, 3]), 1, ints([5])), /indexSelect: index 5 is out of range for a dim of size 3/],
    ["indexSelect rank", () => T.indexSelect(T.ones([2, 3]), 1, ints([0, 1], [1, 2])), /indexSelect: index must have rank 0 or 1, got shape \[1, 2\]/],
    ["crossEntropy target", () => T.crossEntropy(T.ones([2, 3]), ints([1, 3])), /crossEntropy: target 3 at row 1 is out of range for 3 classes/],
    ["crossEntropy negative target", () => T.crossEntropy(T.ones([2, 3]), ints([1, -2])), /crossEntropy: target -2 at row 1 is out of range for 3 classes/],
    ["crossEntropy labelSmoothing", () => T.crossEntropy(T.ones([2, 3]), ints([1, 1]), { labelSmoothing: 2 }), /crossEntropy: labelSmoothing must be in \[0, 1\], got 2/],
    ["dim", () => T.softmax(T.ones([2, 3]), 2), /softmax: dim 2 is out of range for a tensor of rank 2 \(expected -2\.\.1\)/],
    ["dims", () => T.sum(T.ones([2, 3]), [0, -2]), /sum: repeated dim/],
    ["unsqueeze", () => T.unsqueeze(T.ones([3]), 3), /unsqueeze: dim 3 is out of range for a tensor of rank 2/],
    ["max empty", () => T.max(T.ones([0])), /max: cannot reduce an empty tensor/],
    ["dropout p", () => T.dropout(T.ones([2]), 1.5), /dropout: p must be in \[0, 1\], got 1\.5/],
    ["clamp", () => T.clamp(T.ones([2]), 2, 1), /clamp: min \(2\) is greater than max \(1\)/],
    ["split size", () => T.split(T.ones([3]), 0), /split: size must be positive, got 0/],
  ];
  for (const [name, fn, re] of cases) test(name, () => assert.throws(fn, re));

  test("ignoreIndex rows are skipped, not range-checked", () => {
    const y = T.crossEntropy(T.ones([2, 3]), ints([-100, 1]));
    assert.ok(Math.abs(y.item() - Math.log(3)) < 1e-6);
  });
});

describe("backward misuse", () => {
  test("non-scalar without a gradient says so", () => {
    const x = T.ones([2, 2], { requiresGrad: true });
    assert.throws(() => x.mul(2).backward(), /backward: grad can be implicitly created only for scalar outputs; this tensor has shape \[2, 2\], pass a gradient of that shape/);
  });
  test("wrong gradient shape, no grad, second pass", () => {
    const x = T.ones([2], { requiresGrad: true });
    assert.throws(() => x.mul(2).backward(T.ones([3])), /gradient shape \[3\] does not match tensor shape \[2\]/);
    assert.throws(() => T.ones([1]).backward(), /does not require grad/);
    const l = x.mul(2).sum();
    l.backward();
    assert.throws(() => l.backward(), /second time/);
  });
});
