// A character-level GPT on Moby Dick: validation bits per character and a sample. The numbers
// in docs/TEXT.md come from (same as `tsformer train gpt ...`):
//
//   npm run build && node dist/examples/text-gpt.js --dim 128 --layers 4 --heads 4 --context 128 \
//     --batch-size 16 --steps 600 --dropout 0 --out runs/gpt-moby
//   npx tsformer generate --model runs/gpt-moby --prompt "Call me Ishmael."
//
// Every option of `tsformer train gpt --help` works here.

import { trainGptCommand } from "../src/cli/train-gpt.js";

process.exitCode = await trainGptCommand(process.argv.slice(2));
