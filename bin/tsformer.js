#!/usr/bin/env node
// The `tsformer` command: the compiled CLI lives in dist/ (built by `npm install`).
//
// It runs under `node --single-threaded-gc`: V8's concurrent garbage-collection threads
// otherwise compete for the cores the native kernels' threads are using, and a training step
// or forward pass took 5-18% longer on the 2-core development machine (docs/PERFORMANCE.md).
// Started without the flag, the command starts itself again with it and passes its exit code
// and signals on. TSFORMER_NODE_GC=concurrent keeps V8's default collector.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const GC_FLAG = "--single-threaded-gc";

if (!process.execArgv.includes(GC_FLAG) && process.env.TSFORMER_NODE_GC !== "concurrent") {
  const child = spawn(process.execPath, [...process.execArgv, GC_FLAG, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: "inherit" });
  // A terminal's Ctrl-C reaches the child itself (same process group); other signals sent to
  // this process are passed on.
  process.on("SIGINT", () => {});
  for (const sig of ["SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("error", (err) => {
    console.error(`tsformer: could not start node ${GC_FLAG}: ${err.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1)));
} else {
  const { main } = await import("../dist/src/cli/main.js");
  main(process.argv.slice(2)).then(
    (code) => process.exit(code ?? 0),
    (err) => {
      console.error(`tsformer: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
