// How much of a training step goes to V8's garbage collector, for the training runs that keep a
// large data set in memory (docs/PERFORMANCE.md, "Garbage collection"): the G2P Transformer on
// all of CMUdict's training pairs, and the T5 two-task run. Prints one JSON line per workload:
// CPU seconds for the steps, the collector's share (PerformanceObserver "gc" entries) and the
// live JavaScript heap after the steps.
//   TSFORMER_NUM_THREADS=1 node dist/bench/gc-share.js [g2p|t5] [--steps N]

import { PerformanceObserver } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { manualSeed } from "../src/index.js";
import { g2pData, toPairs } from "../src/tasks/g2p.js";
import { PairList, Seq2Seq, defaultSpec, trainSeq2Seq } from "../src/tasks/seq2seq.js";
import { trainT5Tasks } from "../src/tasks/t5-tasks.js";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { steps: { type: "string" } } });

function measure(name: string, steps: number, run: () => void): void {
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcMs += e.duration; });
  obs.observe({ entryTypes: ["gc"] });
  const c0 = process.cpuUsage(), t0 = performance.now();
  run();
  const cpu = process.cpuUsage(c0), wall = (performance.now() - t0) / 1000;
  // the observer is called asynchronously: report once the pending entries are in
  setTimeout(() => {
    obs.disconnect();
    console.log(JSON.stringify({
      workload: name, steps, cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(2), wall_s: +wall.toFixed(2),
      gc_share_of_wall: +(gcMs / 1000 / wall).toFixed(3), heap_mb: +(process.memoryUsage().heapUsed / 1e6).toFixed(1),
    }));
  }, 200);
}

const which = positionals[0] ?? "g2p";
if (which === "g2p") {
  // all of CMUdict's training pairs loaded, as trainG2P holds them; a d-128 2+2 Transformer
  const steps = Number(values.steps ?? 60), B = 128;
  const { train, letters, phonemes } = (() => {
    const d = g2pData();
    return { train: new PairList(toPairs(d, d.train)), letters: d.letters.size, phonemes: d.phonemes.size };
  })();
  // the model of docs/SEQ2SEQ.md (examples/g2p.ts's g2pSpec): d 128, 4 heads, FF 512, 2 + 2 layers
  const spec = defaultSpec("transformer", letters, phonemes, "small", 64);
  Object.assign(spec.config, { dModel: 128, numHeads: 4, dimFeedforward: 512, numEncoderLayers: 2, numDecoderLayers: 2, dropout: 0.1 });
  manualSeed(0);
  const model = new Seq2Seq(spec);
  const subset = new PairList(Array.from({ length: steps * B }, (_, i) => train.get(i)));
  measure("g2p_transformer_d128_b128", steps, () => trainSeq2Seq(model, subset, { epochs: 1, batchSize: B, lr: 1e-3 }));
  // keep the full pair list alive through the steps, as a real run does
  (globalThis as { keep?: unknown }).keep = train;
} else if (which === "t5") {
  const steps = Number(values.steps ?? 30);
  measure("t5_two_tasks_d128_b64", steps, () => trainT5Tasks({ steps, testPerTask: 20 }));
} else {
  throw new Error(`gc-share: unknown workload "${which}" (g2p or t5)`);
}
