// The benchmark's workloads (bench/workloads.ts) measure what a PyTorch loop measures: memory a
// call made and dropped is there for the next call, as PyTorch's allocator hands it back.

import assert from "node:assert/strict";
import { test } from "node:test";
import { workloads } from "../bench/workloads.js";
import { freeArrays } from "../src/tensor/memory.js";

test("the sgemm workload gives its product back to the pool for the next call", () => {
  const w = workloads().find((x) => x.name === "sgemm_512");
  assert.ok(w?.setup, "sgemm_512 is a workload");
  const phase = w.setup().phases[0]!;
  freeArrays.clear();
  phase.fn();
  // the 512 x 512 product was dropped into the pool (outside tidy() it waited for the collector)
  const given = freeArrays.take(512 * 512);
  assert.ok(given instanceof Float32Array, "the product is in the pool after the call");
  freeArrays.put(given);
  phase.fn(); // and the next call takes it
  assert.equal(freeArrays.take(512 * 512), given);
});
