// `tsformer average --out DIR CHECKPOINT...`: average the weights of checkpoints of one run
// (Vaswani et al. 2017, section 6.1, averaged the last checkpoints of each run).

import { parseArgs } from "node:util";
import { averageCheckpoints } from "../io/checkpoint.js";

export const AVERAGE_HELP = `Usage: tsformer average --out DIR CHECKPOINT_DIR CHECKPOINT_DIR...

Average the weights of two or more checkpoints of the same model (same config and tensors),
for example the last epochs of one run (node dist/examples/g2p.js --epoch-checkpoints), into DIR.`;

export async function averageCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(AVERAGE_HELP);
    return 0;
  }
  if (!values.out || positionals.length < 2) {
    console.error(`tsformer average: --out DIR and at least two checkpoint directories are required\n\n${AVERAGE_HELP}`);
    return 2;
  }
  averageCheckpoints(positionals, values.out);
  console.log(`averaged ${positionals.length} checkpoints into ${values.out}`);
  return 0;
}
