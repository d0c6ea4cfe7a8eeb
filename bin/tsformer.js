#!/usr/bin/env node
// The `tsformer` command: the compiled CLI lives in dist/ (built by `npm install`).
//
// It runs under `node --single-threaded-gc`: V8's concurrent garbage-collection threads
// otherwise compete for the cores the native kernels' threads are using, and a training step
// or forward pass took 5-18% longer on the 2-core development machine (docs/PERFORMANCE.md).
// Started without the flag, the command starts itself again with it and passes its exit code
// and signals on. TSFORMER_NODE_GC=concurrent keeps V8's default collector. A SIGKILL cannot be
// passed on, so the child ends itself when this process is gone (the native addon's
// followParent on Linux, else a check of its parent pid every half second).
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const GC_FLAG = "--single-threaded-gc";

if (!process.execArgv.includes(GC_FLAG) && process.env.TSFORMER_NODE_GC !== "concurrent") {
  const child = spawn(process.execPath, [...process.execArgv, GC_FLAG, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: "inherit", env: { ...process.env, TSFORMER_PARENT_PID: String(process.pid) } });
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
  const parent = Number(process.env.TSFORMER_PARENT_PID);
  if (parent > 0) {
    delete process.env.TSFORMER_PARENT_PID; // not for the processes this one starts
    const { loadAddon } = await import("../dist/src/backend/native/addon.js");
    if (!loadAddon()?.followParent(parent)) {
      if (process.ppid !== parent) process.exit(1);
      setInterval(() => process.ppid !== parent && process.exit(1), 500).unref();
    }
  }
  const { main } = await import("../dist/src/cli/main.js");
  main(process.argv.slice(2)).then(
    (code) => process.exit(code ?? 0),
    (err) => {
      console.error(`tsformer: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
