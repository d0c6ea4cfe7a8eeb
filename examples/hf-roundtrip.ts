// A GPT-2-sized checkpoint through every format of src/io: savePretrained (safetensors in the
// Hugging Face layout, one file or shards), fromPretrained, ONNX export, and onnxruntime-node
// running the exported file next to our own forward pass. Prints times, sizes and the largest
// difference; docs/CHECKPOINTS.md quotes the numbers.
//
//   npm run build && node dist/examples/hf-roundtrip.js [--preset gpt2] [--shard-mb 200]

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backendName, io, manualSeed, models, noGrad, randint } from "../src/index.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const preset = arg("preset", "gpt2");
  const shardMb = Number(arg("shard-mb", "200"));
  const dir = mkdtempSync(join(tmpdir(), "tsformer-hf-roundtrip-"));
  const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  try {
    manualSeed(0);
    const model = new models.GPT2LMHeadModel(models.gptPresets[preset]).eval();
    console.log(`${preset}: ${model.numParameters().toLocaleString()} parameters, backend ${backendName()}`);

    let t0 = performance.now();
    await model.savePretrained(join(dir, "single"));
    console.log(`savePretrained (one file):   ${ms(t0)}, model.safetensors ${mb(statSync(join(dir, "single", "model.safetensors")).size)}`);
    t0 = performance.now();
    await model.savePretrained(join(dir, "sharded"), { maxShardSize: shardMb * 1e6 });
    console.log(`savePretrained (${shardMb} MB shards): ${ms(t0)}`);

    const rssBefore = process.memoryUsage().rss;
    t0 = performance.now();
    const back = await models.GPT2LMHeadModel.fromPretrained(join(dir, "sharded"));
    console.log(`fromPretrained (shards):     ${ms(t0)}, resident memory grew by ${mb(process.memoryUsage().rss - rssBefore)} for ${mb(back.numParameters() * 4)} of weights`);

    t0 = performance.now();
    const bytes = io.saveOnnx(back, join(dir, "model.onnx"));
    console.log(`ONNX export:                 ${ms(t0)}, ${mb(bytes)}`);

    const ort = await import("onnxruntime-node");
    t0 = performance.now();
    const session = await ort.InferenceSession.create(join(dir, "model.onnx"));
    console.log(`onnxruntime session:         ${ms(t0)}`);
    const ids = randint(0, models.gptPresets[preset].vocabSize, [2, 32]);
    t0 = performance.now();
    const ours = noGrad(() => back.forward(ids).logits);
    const tOurs = ms(t0);
    t0 = performance.now();
    const res = await session.run({ input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.data, BigInt), [2, 32]) });
    const tOrt = ms(t0);
    const theirs = res.logits.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(theirs[i] - ours.data[i]));
    console.log(`forward [2, 32]: ours ${tOurs}, onnxruntime ${tOrt}; max |difference| of the logits ${worst.toExponential(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
