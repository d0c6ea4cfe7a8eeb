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

test("a SIGKILL to the tsformer command takes its restarted child with it (no training run goes on alone)", async (t) => {
  if (process.platform !== "linux") { t.skip("reads /proc"); return; }
  const { spawn } = await import("node:child_process");
  const { existsSync, readFileSync } = await import("node:fs");
  const wrapper = spawn(process.execPath, [bin, "train", "mlp", "--epochs", "200", "--train-limit", "384", "--test-limit", "50",
    "--hidden", "48", "--json", "--backend", "js"], { stdio: "ignore", env: { ...process.env, TSFORMER_NODE_GC: "" } });
  const exited = new Promise((res) => wrapper.on("exit", res));
  const childrenOf = (pid: number): number[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
  let child = 0;
  for (let i = 0; i < 200 && !child; i++) { child = childrenOf(wrapper.pid!)[0] ?? 0; if (!child) await sleep(25); }
  assert.ok(child > 0, "the command did not start its child");
  await sleep(500); // the child is past start-up, loading data or training
  const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(alive(child), "the child ended before the kill");
  wrapper.kill("SIGKILL");
  await exited;
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) { try { gone = !alive(child); } catch { gone = true; } if (!gone) await sleep(50); }
  if (!gone) process.kill(child, "SIGKILL");
  assert.ok(gone, `the restarted child ${child} was still running 5 s after its parent was killed`);
});
