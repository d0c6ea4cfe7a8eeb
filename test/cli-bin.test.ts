// bin/tsformer.js, the installed command: it restarts node with --single-threaded-gc (unless
// TSFORMER_NODE_GC=concurrent), and passes the exit code on.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/tsformer.js", import.meta.url)); // dist/test -> bin

function run(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("the tsformer command runs under node --single-threaded-gc, or the default collector when asked", () => {
  const plain = run(["info", "--json"], { TSFORMER_NODE_GC: "" });
  assert.equal(plain.code, 0, plain.err);
  assert.equal(JSON.parse(plain.out).gc, "single-threaded");
  const concurrent = run(["info", "--json"], { TSFORMER_NODE_GC: "concurrent" });
  assert.equal(concurrent.code, 0, concurrent.err);
  assert.equal(JSON.parse(concurrent.out).gc, "concurrent");
});

test("the tsformer command passes its exit code and messages through the restart", () => {
  const r = run(["no-such-command"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command "no-such-command"/);
});
