#!/usr/bin/env node
// Builds the native CPU backend (build/Release/tsformer_native.node) with node-gyp.
// Run by `npm install` (the root "install" script) and by `npm run build:native` (--verbose).
// It never makes the install fail: when the addon cannot be built, the reason goes to
// build/native-build-error.txt and the pure-JS backend serves instead.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const verbose = process.argv.includes("--verbose");
const buildDir = join(root, "build");
const errorFile = join(buildDir, "native-build-error.txt");
const platformTag = `${process.platform}-${process.arch}`;

function log(msg) {
  if (verbose) console.log(`[tsformer native] ${msg}`);
}

function fail(reason) {
  try {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(errorFile, `${reason}\n`);
  } catch {
    // nothing more we can do
  }
  console.warn(
    `tsformer: the native backend was not built (${reason.split("\n")[0].slice(0, 200)}); ` +
      `the JavaScript backend will be used. Details: ${errorFile}`,
  );
  process.exit(0);
}

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    // npm's own dependency, next to the npm that runs us.
    if (process.env.npm_execpath) {
      const req = createRequire(process.env.npm_execpath);
      candidates.push(req.resolve("node-gyp/bin/node-gyp.js"));
    }
  } catch {}
  const nodePrefix = resolve(dirname(process.execPath), "..");
  candidates.push(
    join(nodePrefix, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
    "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    "/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    "/usr/share/nodejs/node-gyp/bin/node-gyp.js",
  );
  try {
    candidates.push(createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js"));
  } catch {}
  for (const c of candidates) if (c && existsSync(c)) return { cmd: process.execPath, args: [c] };
  return null;
}

function main() {
  if (process.env.TSFORMER_SKIP_NATIVE === "1") {
    log("TSFORMER_SKIP_NATIVE=1: skipping");
    return fail("skipped because TSFORMER_SKIP_NATIVE=1");
  }
  if (existsSync(join(root, "prebuilds", platformTag, "tsformer_native.node")) && !process.argv.includes("--force")) {
    log(`prebuilt addon found for ${platformTag}; not compiling`);
    return;
  }
  if (!existsSync(join(root, "binding.gyp"))) return fail("binding.gyp is missing");
  const gyp = findNodeGyp();
  let cmd, args;
  if (gyp) {
    ({ cmd, args } = gyp);
  } else {
    cmd = process.platform === "win32" ? "npx.cmd" : "npx";
    args = ["--no-install", "node-gyp"];
  }
  args = [...args, "rebuild", "--release"];
  if (!process.env.npm_config_nodedir && existsSync("/usr/include/node/node_api.h") &&
      process.execPath.startsWith("/usr/bin")) {
    args.push("--nodedir=/usr");
  }
  if (verbose) args.push("--loglevel=info");
  log(`running: ${cmd} ${args.join(" ")}`);
  try { rmSync(errorFile, { force: true }); } catch {}
  const r = spawnSync(cmd, args, {
    cwd: root,
    encoding: "utf8",
    stdio: verbose ? "inherit" : "pipe",
    env: process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) return fail(`could not run node-gyp: ${r.error.message}`);
  if (r.status !== 0) {
    const out = verbose ? "(see output above)" : `${r.stdout ?? ""}\n${r.stderr ?? ""}`.trim().slice(-8000);
    return fail(`node-gyp exited with status ${r.status}\n${out}`);
  }
  const built = join(buildDir, "Release", "tsformer_native.node");
  if (!existsSync(built)) return fail(`node-gyp succeeded but ${built} is missing`);
  // Smoke test: load it in a child process so a crash cannot take down npm.
  const t = spawnSync(process.execPath, ["-e", `const a=require(${JSON.stringify(built)});` +
    `const c=new Float32Array(4);a.gemm(false,false,2,2,2,1,new Float32Array([1,2,3,4]),0,2,0,` +
    `new Float32Array([1,0,0,1]),0,2,0,0,c,0,2,0,1);if(c[3]!==4)throw new Error('gemm smoke test failed');` +
    `console.log(a.isa()+' '+a.numThreads())`], { encoding: "utf8" });
  if (t.status !== 0) {
    try { rmSync(built, { force: true }); } catch {}
    return fail(`the built addon failed its smoke test:\n${t.stderr}`);
  }
  log(`built ${built} (isa ${t.stdout.trim().split(" ")[0]}, threads ${t.stdout.trim().split(" ")[1]})`);
}

try {
  main();
} catch (e) {
  fail(`unexpected error: ${e && e.stack ? e.stack : e}`);
}
