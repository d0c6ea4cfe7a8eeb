// One T5-style model trained on two tasks at once, told apart by a text prefix:
// "g2p: word" -> ARPAbet phonemes (CMUdict) and "reverse: word" -> the word backwards, with
// each task's exact-match accuracy on unseen test words. The numbers in docs/TEXT.md come from
// (same as `tsformer train t5 ...`):
//
//   npm run build && node dist/examples/text-t5.js --steps 1200 --out runs/t5-tasks
//
// Every option of `tsformer train t5 --help` works here.

import { trainT5Command } from "../src/cli/train-t5.js";

process.exitCode = await trainT5Command(process.argv.slice(2));
