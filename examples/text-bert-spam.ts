// BERT pretrained with the masked LM on the unlabelled SpamAssassin training emails, then
// fine-tuned to tell spam from ham, against the same model trained from scratch with the same
// number of steps, at several sizes of labelled data. The numbers in docs/TEXT.md come from
// (same as `tsformer train bert ...`):
//
//   npm run build && node dist/examples/text-bert-spam.js --pretrain-steps 400 --finetune-steps 80 --out runs/bert-spam
//
// Every option of `tsformer train bert --help` works here.

import { trainBertCommand } from "../src/cli/train-bert.js";

process.exitCode = await trainBertCommand(process.argv.slice(2));
