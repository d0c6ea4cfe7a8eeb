// averageCheckpoints and `tsformer average`: the average of checkpoints is the elementwise mean
// (computed here by hand), int32 tensors pass through when equal, and checkpoints of different
// models are refused with a message that names the file and the tensor.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Tensor, io } from "../src/index.js";
import { main } from "../src/cli/main.js";

const root = mkdtempSync(join(tmpdir(), "tsformer-avg-"));
after(() => rmSync(root, { recursive: true, force: true }));

function save(name: string, w: number[], step = 7, config: object = { d: 2 }): string {
  const dir = join(root, name);
  io.saveCheckpoint(dir, {
    config,
    stateDict: { "layer.weight": new Tensor(Float32Array.from(w), [2, 2]), step: new Tensor(Int32Array.of(step), [1]) },
    meta: { epoch: name },
  });
  return dir;
}

test("averageCheckpoints: the elementwise mean of the float tensors, int32 tensors kept, meta says where from", () => {
  const a = save("a", [1, 2, 3, 4]), b = save("b", [3, 2, 1, 0]), c = save("c", [2, 5, -1, 0.5]);
  const out = join(root, "avg");
  io.averageCheckpoints([a, b, c], out);
  const r = io.loadCheckpoint(out);
  assert.deepEqual([...r.stateDict["layer.weight"].data], [2, 3, 1, 1.5]);
  assert.deepEqual(r.stateDict["layer.weight"].shape, [2, 2]);
  assert.equal(r.stateDict.step.dtype, "int32");
  assert.deepEqual([...r.stateDict.step.data], [7]);
  assert.deepEqual(r.config, { d: 2 });
  assert.deepEqual(r.meta, { averagedFrom: [a, b, c] });
});

test("averageCheckpoints refuses one checkpoint, other configs, other shapes and differing int32 tensors", () => {
  const a = save("ra", [1, 2, 3, 4]);
  assert.throws(() => io.averageCheckpoints([a], join(root, "x")), /at least two checkpoint directories, got 1/);
  const other = save("rb", [1, 2, 3, 4], 7, { d: 3 });
  assert.throws(() => io.averageCheckpoints([a, other], join(root, "x")), /rb has another model config/);
  const step = save("rc", [1, 2, 3, 4], 8);
  assert.throws(() => io.averageCheckpoints([a, step], join(root, "x")), /int32 tensor "step" differs/);
  const dir = join(root, "rd");
  io.saveCheckpoint(dir, { config: { d: 2 }, stateDict: { "layer.weight": new Tensor(new Float32Array(6), [2, 3]), step: new Tensor(Int32Array.of(7), [1]) } });
  assert.throws(() => io.averageCheckpoints([a, dir], join(root, "x")), /"layer.weight" is float32 \[2, 3\] in .*rd but float32 \[2, 2\]/);
  assert.throws(() => io.averageCheckpoints([a, join(root, "missing")], join(root, "x")), /no checkpoint directory .*missing/);
});

test("tsformer average --out DIR CKPT CKPT writes the average; too few arguments is a usage error", async () => {
  const a = save("ca", [0, 0, 0, 4]), b = save("cb", [2, 2, 2, 0]);
  const out = join(root, "cli");
  assert.equal(await main(["average", "--out", out, a, b]), 0);
  assert.deepEqual([...io.loadCheckpoint(out).stateDict["layer.weight"].data], [1, 1, 1, 2]);
  assert.equal(await main(["average", "--out", out, a]), 2);
});
