// `tsformer generate --model DIR --prompt "..."`: continue a prompt with a saved GPT
// (tsformer train gpt --out DIR), greedy or sampled, using the key/value cache.

import { parseArgs } from "node:util";
import { setBackend } from "../index.js";
import { loadLM } from "../tasks/lm.js";
import { Generator } from "../tensor/random.js";

export const GENERATE_HELP = `Usage: tsformer generate --model DIR --prompt TEXT [options]

  --model DIR            a model saved by tsformer train gpt --out DIR
  --prompt TEXT          the text to continue
  --max-new-tokens N     tokens to generate (default 200)
  --temperature X        0 = greedy; default 0.8
  --top-k N              sample from the k most likely tokens
  --top-p X              nucleus sampling
  --seed N               sampling seed (default 0)
  --truncate             keep the last context-size tokens of a prompt that is too long
                         (without it, such a prompt is an error)
  --json                 {"prompt", "completion", "tokens"}
  --backend js|native`;

export async function generateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" }, prompt: { type: "string" }, "max-new-tokens": { type: "string" }, temperature: { type: "string" },
      "top-k": { type: "string" }, "top-p": { type: "string" }, seed: { type: "string" }, truncate: { type: "boolean" },
      json: { type: "boolean" }, backend: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(GENERATE_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  if (!values.model || values.prompt === undefined) {
    console.error(`tsformer generate: --model DIR and --prompt TEXT are required\n\n${GENERATE_HELP}`);
    return 2;
  }
  const number = (name: string, v: string | undefined, ok: (n: number) => boolean): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!ok(n)) throw new RangeError(`tsformer generate: --${name} got "${v}"`);
    return n;
  };
  const maxNewTokens = number("max-new-tokens", values["max-new-tokens"], (n) => Number.isInteger(n) && n >= 1) ?? 200;
  const temperature = number("temperature", values.temperature, (n) => n >= 0) ?? 0.8;
  const topK = number("top-k", values["top-k"], (n) => Number.isInteger(n) && n >= 0);
  const topP = number("top-p", values["top-p"], (n) => n > 0 && n <= 1);
  const seed = number("seed", values.seed, (n) => Number.isInteger(n) && n >= 0) ?? 0;
  const { model, tokenizer } = loadLM(values.model);
  const prompt = tokenizer.encode(values.prompt, { addSpecialTokens: false });
  const ids = model.generate(prompt, {
    maxNewTokens, temperature, topK, topP, eos: tokenizer.specials.eos, truncatePrompt: values.truncate, generator: new Generator(seed),
  });
  const completion = tokenizer.decode(ids);
  if (values.json) console.log(JSON.stringify({ prompt: values.prompt, completion, tokens: ids.length }));
  else console.log(values.prompt + completion);
  return 0;
}
