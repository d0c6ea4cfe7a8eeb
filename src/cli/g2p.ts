// `tsformer g2p --model DIR WORD...`: pronounce words with a trained checkpoint
// (from `tsformer train seq2seq --task g2p --out DIR`).

import { parseArgs } from "node:util";
import { setBackend } from "../index.js";
import { encodeWord, pronounce } from "../tasks/g2p.js";
import { loadG2PCheckpoint } from "../tasks/g2p-checkpoint.js";

export const G2P_HELP = `Usage: tsformer g2p --model DIR [--beam N] [--json] WORD...

Pronounce words (ARPAbet phonemes) with a checkpoint saved by
  tsformer train seq2seq --task g2p --out DIR`;

export async function g2pCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { model: { type: "string" }, beam: { type: "string" }, json: { type: "boolean" }, backend: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(G2P_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  if (!values.model) {
    console.error(`tsformer g2p: --model DIR is required\n\n${G2P_HELP}`);
    return 2;
  }
  if (positionals.length === 0) {
    console.error(`tsformer g2p: give at least one word\n\n${G2P_HELP}`);
    return 2;
  }
  const beam = values.beam === undefined ? 1 : Number(values.beam);
  if (!Number.isInteger(beam) || beam < 1) throw new RangeError(`tsformer g2p: --beam must be an integer >= 1, got "${values.beam}"`);
  const { model, vocabs } = loadG2PCheckpoint(values.model);
  for (const w of positionals) encodeWord(vocabs, w); // every word checked before any work
  const prons = pronounce(model, vocabs, positionals, { beamSize: beam });
  if (values.json) console.log(JSON.stringify(positionals.map((word, i) => ({ word, phonemes: prons[i] }))));
  else positionals.forEach((w, i) => console.log(`${w}\t${prons[i].join(" ")}`));
  return 0;
}
