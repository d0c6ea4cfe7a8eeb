// `tsformer train t5`: one T5-style model on two text-to-text tasks at once, told apart by
// their prefixes ("g2p: word" -> phonemes on CMUdict, "reverse: word" -> the word backwards),
// with each task's exact-match accuracy on unseen test words.

import { parseArgs } from "node:util";
import { backendName, setBackend } from "../index.js";
import { saveCheckpoint } from "../io/checkpoint.js";
import { trainT5Tasks } from "../tasks/t5-tasks.js";
import { positiveOption } from "./options.js";

export const TRAIN_T5_HELP = `Usage: tsformer train t5 [options]

  --steps N              optimisation steps over mixed batches of both tasks (default 1200)
  --train-per-task N     training words per task from CMUdict's train split (default 8000)
  --test-per-task N      test words per task from the test split (default 500)
  --dim N --layers N --heads N --ffn N   model size (default 128, 2 (+2 decoder), 4, 512)
  --batch-size N         (default 64)
  --lr X                 peak learning rate (default 2e-3)
  --seed N               (default 0)
  --out DIR              save the model
  --json                 machine-readable summary
  --backend js|native`;

export async function trainT5Command(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: "string" }, "train-per-task": { type: "string" }, "test-per-task": { type: "string" }, dim: { type: "string" },
      layers: { type: "string" }, heads: { type: "string" }, ffn: { type: "string" }, "batch-size": { type: "string" }, lr: { type: "string" },
      seed: { type: "string" }, out: { type: "string" }, json: { type: "boolean" }, backend: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(TRAIN_T5_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  const n = (name: string, dflt: number | undefined, integer = true): number | undefined =>
    positiveOption("tsformer train t5", values, name, dflt, integer);
  const dim = n("dim", 128)!, heads = n("heads", 4)!, layers = n("layers", 2)!;
  if (dim % heads !== 0) throw new RangeError(`tsformer train t5: --dim ${dim} is not divisible by --heads ${heads}`);
  const log = values.json ? (): void => {} : (s: string): void => console.log(s);
  const r = trainT5Tasks({
    steps: n("steps", 1200)!, trainPerTask: n("train-per-task", 8000), testPerTask: n("test-per-task", 500), batchSize: n("batch-size", 64),
    lr: n("lr", undefined, false), seed: n("seed", 0),
    config: { dModel: dim, numHeads: heads, dKv: dim / heads, dFf: n("ffn", 512)!, numLayers: layers, numDecoderLayers: layers, relativeAttentionNumBuckets: 16 },
    progress: !values.json, log,
  });
  if (values.out) saveCheckpoint(values.out, { config: { kind: "t5", config: r.config, vocab: r.vocab.tokens }, stateDict: r.model.stateDict(), meta: { tasks: r.tasks } });
  const summary = { model: "t5", backend: backendName(), config: r.config, parameters: r.parameters, seconds: r.seconds, final_loss: r.finalLoss, tasks: r.tasks, examples: r.examples, out: values.out ?? null };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    for (const [task, m] of Object.entries(r.tasks)) log(`${task}: exact match ${(100 * m.accuracy).toFixed(1)}%, token error rate ${(100 * m.tokenErrorRate).toFixed(1)}% on ${m.words} test words`);
    for (const e of r.examples) log(`  ${e.input} -> ${e.output}   (expected ${e.target})`);
  }
  return 0;
}
