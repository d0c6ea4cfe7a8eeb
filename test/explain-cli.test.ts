// `tsformer attention` and `tsformer serve` on a tiny ViT trained here (a bright square in one
// of four quadrants; the class is the quadrant) and on a small G2P Transformer: the pictures
// it writes, and the explorer's HTTP API answered with plain requests, bad uploads included.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { manualSeed } from "../src/index.js";
import { main } from "../src/cli/main.js";
import { startServer, type RunningServer } from "../src/cli/serve.js";
import { encodePng } from "../src/explain/index.js";
import { Vocabulary } from "../src/data/vocab.js";
import { saveG2PCheckpoint } from "../src/tasks/g2p-checkpoint.js";
import { Seq2Seq, defaultSpec } from "../src/tasks/seq2seq.js";
import { QUADRANTS, quadrantImage, quadrantOf, trainTinyViT } from "./helpers/tiny-vit.js";

const root = mkdtempSync(join(tmpdir(), "tsformer-explain-cli-"));
const vitDir = join(root, "vit"), g2pDir = join(root, "g2p");
let trained = { accuracy: 0, steps: 0 };

async function squarePng(pr: number, pc: number, seed = 3): Promise<Buffer> {
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const px = quadrantImage(pr, pc, rand);
  const data = new Uint8Array(256 * 3);
  px.forEach((v, i) => data.fill(Math.round(v * 255), i * 3, i * 3 + 3));
  return encodePng({ width: 16, height: 16, data });
}

async function quiet<T>(fn: () => Promise<T>): Promise<{ result: T; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = "", err = "";
  console.log = (...a: unknown[]) => { out += a.join(" ") + "\n"; };
  console.error = (...a: unknown[]) => { err += a.join(" ") + "\n"; };
  try {
    return { result: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

before(() => {
  trained = trainTinyViT(vitDir);
  manualSeed(12);
  const letters = new Vocabulary([..."abcdefghijklmnopqrstuvwxyz'"]), phonemes = new Vocabulary(["K", "AE1", "T", "D", "AO1", "G"]);
  const spec = defaultSpec("transformer", letters.size, phonemes.size, "tiny", 48);
  saveG2PCheckpoint(g2pDir, { model: new Seq2Seq(spec), vocabs: { letters, phonemes }, spec });
});
after(() => rmSync(root, { recursive: true, force: true }));

test("the tiny ViT learns where the square is", () => {
  assert.ok(trained.accuracy >= 0.9, `accuracy ${trained.accuracy} after ${trained.steps} steps`);
});

test("tsformer attention on an image writes every picture, the report and the right prediction", async () => {
  const img = join(root, "square.png"), out = join(root, "out-image");
  writeFileSync(img, await squarePng(3, 1));
  const { result, out: stdout } = await quiet(() => main(["attention", "--model", vitDir, img, "--out", out, "--json", "--head-fusion", "max", "--discard", "0.1"]));
  assert.equal(result, 0);
  const summary = JSON.parse(stdout) as { label: string; files: string[] };
  assert.equal(summary.label, QUADRANTS[quadrantOf(3, 1)]);
  for (const f of ["index.html", "input.png", "rollout.png", "gradient.png", "layer0-mean.png", "layer0-heads.png", "layer1-mean.png", "layer1-heads.png", "prediction.json"]) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const meta = await sharp(readFileSync(join(out, "rollout.png"))).metadata();
  assert.deepEqual([meta.width, meta.height, meta.format], [224, 224, "png"]);
  const html = readFileSync(join(out, "index.html"), "utf8");
  for (const m of html.matchAll(/<img src="([^"]+)"/g)) assert.ok(existsSync(join(out, m[1])), m[1]);
  assert.ok(html.includes(QUADRANTS[quadrantOf(3, 1)]));
});

test("tsformer attention on a word writes encoder, decoder and cross-attention matrices", async () => {
  const out = join(root, "out-text");
  const { result, out: stdout } = await quiet(() => main(["attention", "--model", g2pDir, "cat", "--out", out, "--json"]));
  assert.equal(result, 0);
  const summary = JSON.parse(stdout) as { output: string[]; files: string[] };
  const html = readFileSync(join(out, "index.html"), "utf8");
  assert.ok(html.includes("Cross-attention") && html.includes("Encoder self-attention") && html.includes("Decoder self-attention"));
  // 2 encoder + 2 decoder self + 2 cross layers, each a mean and 4 heads
  const svgs = summary.files.filter((f) => f.endsWith(".svg"));
  assert.equal(svgs.length, 6 * 5);
  // the cross-attention matrix has one row per output step (phonemes + </s>) and one column per letter
  const cross = readFileSync(join(out, "attn3-mean.svg"), "utf8");
  assert.match(cross, /decoder\.0\.crossAttn/);
  assert.equal((cross.match(/<rect class="cell"/g) ?? []).length, (summary.output.length + 1) * 3);
  await sharp(Buffer.from(cross)).png().toBuffer(); // renders, so it parses
});

test("tsformer attention names what is wrong", async () => {
  const notImage = join(root, "notes.txt");
  writeFileSync(notImage, "hello");
  await assert.rejects(main(["attention", "--model", vitDir, notImage, "--out", join(root, "x")]), /notes\.txt could not be decoded as an image/);
  await assert.rejects(main(["attention", "--model", join(root, "nowhere"), notImage, "--out", join(root, "x")]), /no checkpoint there/);
  await assert.rejects(main(["attention", "--model", g2pDir, "c4t", "--out", join(root, "x")]), /must be a non-empty word of letters/);
  await assert.rejects(main(["attention", "--model", vitDir, notImage, "--out", join(root, "x"), "--discard", "2"]), /--discard must be a number in \[0, 1\)/);
  const r = await quiet(() => main(["attention", "--model", vitDir, "--out", join(root, "x")]));
  assert.equal(r.result, 2);
  assert.match(r.err, /give exactly one INPUT/);
});

interface Reply { status: number; type: string; body: string }
function http(url: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url); // the path goes as it is (no URL normalisation of "..")
    const req = request({ host: u.hostname, port: u.port, path, method, headers, timeout: 20_000 }, (res) => {
      let s = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (s += c));
      res.on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), body: s }));
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

let server: RunningServer | null = null;
test("the explorer's server: assets, model info, an image explained, and bad requests answered clearly", async (t) => {
  server = await startServer({ model: vitDir, port: 0, maxUploadBytes: 64 * 1024 });
  t.after(() => server?.close());
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await http(server.url, "GET", "/");
  assert.equal(page.status, 200);
  assert.match(page.body, /<script type="module" src="\/explorer.js">/);
  assert.equal((await http(server.url, "GET", "/explorer.js")).status, 200);
  const info = JSON.parse((await http(server.url, "GET", "/api/model")).body) as { kind: string; labels: string[]; layers: number; heads: number };
  assert.deepEqual([info.kind, info.labels, info.layers, info.heads], ["image", QUADRANTS, 2, 2]);

  const png = await squarePng(0, 3);
  const ok = await http(server.url, "POST", "/api/explain/image", png, { "content-type": "image/png" });
  assert.equal(ok.status, 200, ok.body);
  const r = JSON.parse(ok.body) as { label: string; layers: { heads: { rows: number; cols: number; data: number[] }[] }[]; rollout: { data: number[] }; input: string };
  assert.equal(r.label, QUADRANTS[quadrantOf(0, 3)]);
  assert.equal(r.layers.length, 2);
  assert.equal(r.layers[1].heads.length, 2);
  assert.equal(r.rollout.data.length, 16);
  assert.match(r.input, /^data:image\/png;base64,/);

  // nothing outside the assets, however the path is spelled
  for (const p of ["/../package.json", "/%2e%2e/package.json", "/web/explorer.ts", "/dist/src/index.js", "/explorer.js.map", "//etc/passwd"]) {
    const res = await http(server.url, "GET", p);
    assert.equal(res.status, 404, p);
    assert.match(res.type, /application\/json/);
  }
  const bad = await http(server.url, "POST", "/api/explain/image", Buffer.from("this is not a picture"), { "content-type": "image/png", "x-file-name": "fake.png" });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).error, /the upload "fake.png" could not be decoded as an image/);
  const empty = await http(server.url, "POST", "/api/explain/image", Buffer.alloc(0), { "content-type": "image/png" });
  assert.equal(empty.status, 400);
  assert.match(JSON.parse(empty.body).error, /the upload is empty/);
  const big = await http(server.url, "POST", "/api/explain/image", Buffer.alloc(100 * 1024, 1), { "content-type": "image/png" });
  assert.equal(big.status, 413);
  assert.match(JSON.parse(big.body).error, /over the limit of 65536 bytes/);
  const wrongType = await http(server.url, "POST", "/api/explain/image", "{}", { "content-type": "application/json" });
  assert.equal(wrongType.status, 415);
  const text = await http(server.url, "POST", "/api/explain/text", JSON.stringify({ text: "cat" }), { "content-type": "application/json" });
  assert.equal(text.status, 400);
  assert.match(JSON.parse(text.body).error, /explains images, not text/);
  assert.equal((await http(server.url, "DELETE", "/")).status, 405);
  // a client that hangs up halfway through an upload
  await new Promise<void>((resolve) => {
    const u = new URL(server!.url);
    const req = request({ host: u.hostname, port: u.port, path: "/api/explain/image", method: "POST", headers: { "content-type": "image/png", "content-length": "5000" } });
    req.on("error", () => resolve());
    req.write(Buffer.alloc(1000));
    setTimeout(() => { req.destroy(); resolve(); }, 50);
  });
  // still serving after all that
  assert.equal((await http(server.url, "POST", "/api/explain/image", png, { "content-type": "image/png" })).status, 200);
});

test("the explorer's server explains text for a G2P model and refuses bad text", async (t) => {
  const s = await startServer({ model: g2pDir, port: 0 });
  t.after(() => s.close());
  const res = await http(s.url, "POST", "/api/explain/text", JSON.stringify({ text: "dog" }), { "content-type": "application/json" });
  assert.equal(res.status, 200, res.body);
  const r = JSON.parse(res.body) as { output: string[]; layers: { role: string; heads: number[][][]; queries: string[]; keys: string[] }[] };
  assert.deepEqual(r.layers.map((l) => l.role), ["encoder", "encoder", "decoder", "cross", "decoder", "cross"]);
  const cross = r.layers[3];
  assert.deepEqual(cross.keys, ["d", "o", "g"]);
  assert.deepEqual(cross.queries, [...r.output, "</s>"]); // rows: the token each step produces
  assert.deepEqual(r.layers[2].keys, ["<s>", ...r.output]); // decoder self-attention: the tokens fed in
  for (const row of cross.heads[0]) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4);
  for (const [body, re] of [["not json", /expected a JSON body/], [JSON.stringify({ text: "" }), /non-empty text/], [JSON.stringify({ text: "d0g" }), /must be a non-empty word of letters/]] as const) {
    const b = await http(s.url, "POST", "/api/explain/text", body, { "content-type": "application/json" });
    assert.equal(b.status, 400);
    assert.match(JSON.parse(b.body).error, re);
  }
});
