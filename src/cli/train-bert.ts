// `tsformer train bert`: the pretraining-then-fine-tuning story on SpamAssassin. A WordPiece
// vocabulary and a masked-LM BERT on the unlabelled training emails, then spam/ham
// classification fine-tuned from it versus trained from scratch with the same budget, at
// several sizes of labelled data, scored on the fixed test split (accuracy and F1 of spam).

import { parseArgs } from "node:util";
import { backendName, setBackend } from "../index.js";
import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import { BertForMaskedLM, type BertConfig } from "../models/bert.js";
import { WordPiece } from "../data/tokenizers/wordpiece.js";
import { runSpamStory } from "../tasks/text-classification.js";
import { positiveOption } from "./options.js";

export const TRAIN_BERT_HELP = `Usage: tsformer train bert [options]

  --pretrain-steps N     masked-LM steps on the unlabelled training emails (default 400; 0 runs
                         only the from-scratch arm)
  --finetune-steps N     classification steps per run, the same for fine-tuned and scratch (default 80)
  --sizes LIST           labelled-set sizes, "all" for the whole training split (default 50,200,1000,all)
  --dim N --layers N --heads N --ffn N   BERT size (default 128, 2, 2, 512)
  --vocab N              WordPiece vocabulary size (default 3000)
  --max-len N            tokens per email, [CLS] and [SEP] included (default 64)
  --batch-size N         (default 32)
  --pretrain-lr X --finetune-lr X --scratch-lr X   (defaults 1e-3, 3e-4, 3e-4)
  --test-limit N         score on N test emails (default all)
  --seed N               (default 0)
  --out DIR              save the pretrained masked-LM model and its tokenizer
  --from DIR             fine-tune a model saved with --out instead of pretraining
  --arms LIST            pretrained,scratch (default both)
  --json                 machine-readable summary
  --backend js|native`;

export async function trainBertCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "pretrain-steps": { type: "string" }, "finetune-steps": { type: "string" }, sizes: { type: "string" }, dim: { type: "string" },
      layers: { type: "string" }, heads: { type: "string" }, ffn: { type: "string" }, vocab: { type: "string" }, "max-len": { type: "string" },
      "batch-size": { type: "string" }, "pretrain-lr": { type: "string" }, "finetune-lr": { type: "string" }, "scratch-lr": { type: "string" },
      "test-limit": { type: "string" }, seed: { type: "string" }, out: { type: "string" }, from: { type: "string" }, arms: { type: "string" }, json: { type: "boolean" }, backend: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(TRAIN_BERT_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  const n = (name: string, dflt: number | undefined, integer = true): number | undefined =>
    positiveOption("tsformer train bert", values, name, dflt, integer);
  const sizes = (values.sizes ?? "50,200,1000,all").split(",").map((s) => {
    if (s === "all") return Infinity;
    const x = Number(s);
    if (!(Number.isInteger(x) && x >= 2)) throw new RangeError(`tsformer train bert: --sizes entries must be integers >= 2 or "all", got "${s}"`);
    return x;
  });
  const log = values.json ? (): void => {} : (s: string): void => console.log(s);
  let from: { model: BertForMaskedLM; tokenizer: WordPiece } | null = null;
  if (values.from) {
    const ck = loadCheckpoint<{ kind?: string; config?: BertConfig; tokenizer?: unknown }>(values.from);
    if (ck.config.kind !== "bert-mlm" || !ck.config.config) throw new Error(`tsformer train bert: ${values.from} is not a masked-LM BERT saved by train bert --out`);
    const model = new BertForMaskedLM(ck.config.config);
    model.loadStateDict(ck.stateDict);
    from = { model, tokenizer: WordPiece.fromJSON(ck.config.tokenizer) };
  }
  const arms = values.arms ? values.arms.split(",") : undefined;
  if (arms && !arms.every((a) => a === "pretrained" || a === "scratch")) throw new RangeError(`tsformer train bert: --arms takes pretrained and/or scratch, got "${values.arms}"`);
  const r = runSpamStory({
    from, arms: arms as ("pretrained" | "scratch")[] | undefined,
    config: { hiddenSize: n("dim", 128), numHiddenLayers: n("layers", 2), numAttentionHeads: n("heads", 2), intermediateSize: n("ffn", 512) },
    vocabSize: n("vocab", 3000), maxLen: n("max-len", 64), pretrainSteps: values["pretrain-steps"] === "0" ? 0 : n("pretrain-steps", 400)!, finetuneSteps: n("finetune-steps", 80)!,
    sizes, batchSize: n("batch-size", 32), pretrainLr: n("pretrain-lr", undefined, false), finetuneLr: n("finetune-lr", undefined, false),
    scratchLr: n("scratch-lr", undefined, false), testLimit: n("test-limit", undefined), seed: n("seed", 0), progress: !values.json, log,
  });
  if (values.out && r.pretrained) {
    saveCheckpoint(values.out, { config: { kind: "bert-mlm", config: r.config, tokenizer: r.tokenizer.toJSON() }, stateDict: r.pretrained.stateDict(), meta: { pretrain: r.pretrain } });
  }
  const summary = { model: "bert", backend: backendName(), config: r.config, parameters: r.parameters, split: r.split, pretrain: r.pretrain, rows: r.rows, out: values.out ?? null };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    log("labelled | fine-tuned acc / F1 | from scratch acc / F1");
    for (const row of r.rows) {
      const p = row.pretrained ? `${(100 * row.pretrained.accuracy).toFixed(1)}% / ${row.pretrained.f1.toFixed(3)}` : "-";
      const sc = row.scratch ? `${(100 * row.scratch.accuracy).toFixed(1)}% / ${row.scratch.f1.toFixed(3)}` : "-";
      log(`${String(row.labelled).padStart(8)} | ${p} | ${sc}`);
    }
  }
  return 0;
}
