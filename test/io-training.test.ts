// Training checkpoints: a training process killed with SIGKILL at random moments (saves
// included) always leaves a readable checkpoint, and `tsformer train mlp --resume DIR` run
// again after every kill ends with the same losses, step for step, as an uninterrupted run.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { F, Generator, defaultGenerator, io, manualSeed, optim, randn, randint, data as dataNs, tensor } from "../src/index.js";
import { MLP } from "../examples/mnist-mlp.js";

const BIN = fileURLToPath(new URL("../../bin/tsformer.js", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "tsformer-train-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

// 3 epochs of 12 batches: 36 steps, a checkpoint after every step
const ARGS = ["train", "mlp", "--epochs", "3", "--train-limit", "384", "--test-limit", "50", "--hidden", "48", "--batch-size", "32", "--json", "--backend", "js"];

function parts(hidden = [48]) {
  const model = new MLP(28 * 28, hidden, 10);
  const optimizer = new optim.AdamW(optim.weightDecayGroups(model, 1e-4), { lr: 1e-3 });
  const scheduler = new optim.LRScheduler(optimizer, optim.warmupCosineSchedule(50, 36, 0.05));
  return { model, optimizer, scheduler };
}

test("SIGKILL at random moments, saves included, always leaves the last good checkpoint; resumed losses equal the uninterrupted run's", async (t) => {
  const t0 = performance.now();
  const ref = spawnSync(process.execPath, [BIN, ...ARGS], { encoding: "utf8" });
  const wall = performance.now() - t0; // kill times scale with how long a run takes on this machine now
  assert.equal(ref.status, 0, ref.stderr);
  const expected = (JSON.parse(ref.stdout) as { losses: number[] }).losses;
  assert.equal(expected.length, 36);

  const dir = join(tmp, "run");
  const rng = new Generator(7);
  const KILLS = 8;
  let kills = 0, midSave = 0, lastStep = 0, finished: { losses: number[] } | null = null;
  for (let attempt = 0; attempt <= KILLS && !finished; attempt++) {
    const child = spawn(process.execPath, [BIN, ...ARGS, "--resume", dir, "--save-every", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    // KILLS runs die at a random moment within a run's length (start-up, steps and saves alike); the last one finishes
    const timer = attempt < KILLS ? setTimeout(() => child.kill("SIGKILL"), (0.2 + 0.8 * rng.random()) * wall) : undefined;
    const code = await exited;
    clearTimeout(timer);
    if (code === 0) {
      finished = JSON.parse(out);
      break;
    }
    assert.equal(code, null, `the run failed on its own: ${err}`);
    kills++;
    if (existsSync(dir) && readdirSync(dir).some((n) => n.startsWith(".tmp-"))) midSave++;
    // what is left is readable, and never older than what an earlier kill left
    const p = parts();
    const r = io.loadTrainingCheckpoint(dir, p);
    if (lastStep > 0) assert.ok(r, `no readable checkpoint after kill ${kills}`);
    if (r) {
      assert.ok(r.step >= lastStep, `checkpoint went back from step ${lastStep} to ${r.step}`);
      assert.equal((r.extra as { losses: number[] }).losses.length, r.step);
      lastStep = r.step;
    }
  }
  t.diagnostic(`${kills} kills, ${midSave} of them in the middle of a save, last checkpoint before finishing at step ${lastStep}`);
  assert.ok(finished, "the run never finished");
  assert.ok(kills >= 3, `only ${kills} kills landed`);
  assert.deepEqual(finished!.losses, expected);
});

test("a checkpoint whose files are corrupt or half written is skipped for the one before it", () => {
  const dir = join(tmp, "corrupt");
  manualSeed(1);
  const p = parts([16]);
  const x = randn([8, 1, 28, 28]), y = randint(0, 10, [8]);
  const stepOnce = () => {
    const loss = F.crossEntropy(p.model.forward(x), y);
    p.optimizer.zeroGrad();
    loss.backward();
    p.optimizer.step();
    p.scheduler.step();
  };
  stepOnce();
  io.saveTrainingCheckpoint(dir, p, { step: 1, data: io.startPosition, extra: { note: "one" } });
  const w1 = Float32Array.from(p.model.layers.children()[1].parameters()[0].data as Float32Array);
  const g1 = defaultGenerator.getState();
  stepOnce();
  const second = io.saveTrainingCheckpoint(dir, p, { step: 2, data: io.startPosition });
  // a save killed midway leaves a temporary directory: it is not a checkpoint
  mkdirSync(join(dir, ".tmp-999-checkpoint-00000003"));
  writeFileSync(join(dir, ".tmp-999-checkpoint-00000003", "model.safetensors"), "partial");
  assert.equal(io.latestTrainingCheckpoint(dir), second);
  truncateSync(join(second, "model.safetensors"), 100);
  assert.equal(io.latestTrainingCheckpoint(dir), join(dir, "checkpoint-00000001"));

  defaultGenerator.manualSeed(99);
  const q = parts([16]);
  const r = io.loadTrainingCheckpoint<{ note: string }>(dir, q);
  assert.equal(r?.step, 1);
  assert.equal(r?.extra?.note, "one");
  assert.deepEqual(q.model.layers.children()[1].parameters()[0].data, w1);
  assert.deepEqual(defaultGenerator.getState(), g1);
  assert.equal(q.scheduler.stepCount, 1);
  assert.deepEqual(q.optimizer.stateDict(), (() => { const o = parts([16]); io.loadTrainingCheckpoint(dir, o); return o.optimizer.stateDict(); })());

  // every checkpoint broken: an error listing each reason (never a silent fresh start)
  truncateSync(join(dir, "checkpoint-00000001", "optimizer.safetensors"), 10);
  assert.throws(() => io.loadTrainingCheckpoint(dir, parts([16])), /no readable checkpoint in .*\n.*checkpoint-00000002\/model\.safetensors does not match.*\n.*checkpoint-00000001\/optimizer\.safetensors does not match/);
  // a different model is refused by name and shape
  rmSync(dir, { recursive: true });
  io.saveTrainingCheckpoint(dir, p, { step: 2, data: io.startPosition });
  assert.throws(() => io.loadTrainingCheckpoint(dir, parts([8])), /mis-shaped: layers\.1\.weight: expected \[8, 784\], got \[16, 784\]/);
  assert.equal(io.loadTrainingCheckpoint(join(tmp, "empty"), parts([16])), null);
  assert.ok(!existsSync(join(tmp, "empty")));
});

test("resumableBatches: resuming at any batch gives the same batches and generator stream as going straight through", () => {
  const n = 23;
  const xs = tensor(Float32Array.from({ length: n }, (_, i) => i), [n, 1]);
  const g = new Generator(3);
  const loader = new dataNs.DataLoader([xs], { batchSize: 5, shuffle: true, generator: g });
  const run = (from: io.DataPosition, state: number[]) => {
    g.setState(state);
    const out: string[] = [];
    for (const b of io.resumableBatches(loader, 3, from)) out.push(`${b.epoch}.${b.batch}:${Array.from(b.tensors[0].data).join(",")}:${g.nextUint32()}`);
    return out;
  };
  const s0 = new Generator(3).getState();
  const full = run(io.startPosition, s0);
  assert.equal(full.length, 15);
  // walk through once recording the position and generator state after each batch
  g.setState(s0);
  const snaps: [io.DataPosition, number[]][] = [];
  for (const b of io.resumableBatches(loader, 3)) {
    g.nextUint32(); // what a training step would draw (dropout)
    snaps.push([b.next, g.getState()]);
  }
  snaps.forEach(([pos, st], i) => assert.deepEqual(run(pos, st), full.slice(i + 1), `resume after batch ${i}`));
});
