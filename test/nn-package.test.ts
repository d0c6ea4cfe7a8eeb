// The package contract: the public names import from "tsformer" itself (a self-reference
// through package.json "exports", which resolves to dist/src/index.js after the build).

import assert from "node:assert/strict";
import { test } from "node:test";

import { tensor, Tensor, noGrad, manualSeed, nn, optim } from "tsformer";
import * as local from "../src/index.js";

test('import { tensor, Tensor, noGrad, manualSeed, nn, optim } from "tsformer" works end to end', () => {
  for (const [name, v] of Object.entries({ tensor, Tensor, noGrad, manualSeed, nn, optim })) {
    assert.ok(v !== undefined, `${name} is exported`);
  }
  // the same module instance as the relative import (one engine, one tape, one generator)
  assert.equal(Tensor, local.Tensor);
  assert.equal(nn.Module, local.nn.Module);
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(2, 4), new nn.ReLU(), new nn.Linear(4, 1));
  const opt = new optim.AdamW(optim.weightDecayGroups(model, 0.01), { lr: 0.01 });
  const x = tensor([[1, 2], [3, 4]]);
  const y = model.forward(x);
  assert.ok(y instanceof Tensor);
  assert.deepEqual(y.shape, [2, 1]);
  y.sum().backward();
  opt.step();
  assert.equal(noGrad(() => model.forward(x)).requiresGrad, false);
  for (const name of ["Module", "Parameter", "Linear", "Embedding", "LayerNorm", "Dropout", "Conv2d", "Conv3d",
    "Sequential", "ModuleList", "GELU", "ReLU", "CrossEntropyLoss", "MSELoss", "BCELoss", "BCEWithLogitsLoss"]) {
    assert.equal(typeof (nn as Record<string, unknown>)[name], "function", `nn.${name}`);
  }
  for (const name of ["xavierUniform_", "xavierNormal_", "kaimingUniform_", "kaimingNormal_", "truncNormal_"]) {
    assert.equal(typeof (nn.init as Record<string, unknown>)[name], "function", `nn.init.${name}`);
  }
  for (const name of ["SGD", "Adam", "AdamW", "weightDecayGroups", "clipGradNorm", "constantSchedule",
    "warmupCosineSchedule", "warmupLinearSchedule", "inverseSqrtSchedule", "LRScheduler"]) {
    assert.equal(typeof (optim as Record<string, unknown>)[name], "function", `optim.${name}`);
  }
});
