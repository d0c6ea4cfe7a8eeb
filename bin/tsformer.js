#!/usr/bin/env node
// The `tsformer` command: the compiled CLI lives in dist/ (built by `npm install`).
import { main } from "../dist/src/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code ?? 0),
  (err) => {
    console.error(`tsformer: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
