// Hugging Face layouts: directories written by scripts/fixtures/hf_models.py (each architecture
// written out in PyTorch as transformers computes it) load with fromPretrained and give the
// same outputs within 1e-4; what savePretrained writes loads back bit for bit, with the names,
// file layout and config keys transformers expects.

import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Tensor, defaultGenerator, io, models } from "../src/index.js";

const FIX = fileURLToPath(new URL("../../test/fixtures/hf/", import.meta.url));
type Arr = { shape: number[]; data: number[] };
type Case = { class: string; input: Arr; attentionMask?: Arr; tokenTypeIds?: Arr; logits?: Arr; lastHiddenState?: Arr; poolerOutput?: Arr };
const expected = JSON.parse(readFileSync(join(FIX, "expected.json"), "utf8")) as Record<string, Case>;
const tmp = mkdtempSync(join(tmpdir(), "tsformer-hf-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const f32 = (a: Arr) => new Tensor(Float32Array.from(a.data), a.shape);
const i32 = (a: Arr) => new Tensor(Int32Array.from(a.data), a.shape);

function close(got: Tensor, want: Arr, what: string, tol = 1e-4): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  let worst = 0, at = 0;
  for (let i = 0; i < want.data.length; i++) {
    const d = Math.abs(got.data[i] - want.data[i]);
    if (!(d <= worst)) (worst = d), (at = i);
  }
  assert.ok(worst <= tol, `${what}: max |diff| ${worst} at ${at} (got ${got.data[at]}, want ${want.data[at]})`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModel = { forward(...a: any[]): Record<string, Tensor | null>; training: boolean; stateDict(): Record<string, Tensor>; savePretrained(dir: string, o?: io.SavePretrainedOptions): Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const classes = models as unknown as Record<string, { fromPretrained(dir: string, o?: io.FromPretrainedOptions): Promise<AnyModel> }>;

function run(model: AnyModel, c: Case): Record<string, Tensor | null> {
  if (c.class.startsWith("ViT")) return model.forward(f32(c.input));
  if (c.class.startsWith("Bert")) return model.forward(i32(c.input), { attentionMask: c.attentionMask && i32(c.attentionMask), tokenTypeIds: c.tokenTypeIds && i32(c.tokenTypeIds) });
  return model.forward(i32(c.input));
}

const available = Object.entries(expected).filter(([, c]) => c.class in classes);

for (const [name, c] of available) {
  test(`${name}: ${c.class}.fromPretrained matches PyTorch within 1e-4`, async () => {
    const rng = defaultGenerator.getState();
    const model = await classes[c.class].fromPretrained(join(FIX, name));
    assert.equal(model.training, false, "models are in eval mode after loading");
    assert.deepEqual(defaultGenerator.getState(), rng, "loading skips the random init and leaves the generator alone");
    const out = run(model, c);
    for (const k of ["logits", "lastHiddenState", "poolerOutput"] as const) if (c[k] && out[k] !== undefined) close(out[k]!, c[k]!, `${name} ${k}`);
  });
}

test("a base model loads from a checkpoint with a head (prefix stripped, head dropped) and the reverse way", async () => {
  const vit = await models.ViTModel.fromPretrained(join(FIX, "vit-classifier"));
  const full = await models.ViTForImageClassification.fromPretrained(join(FIX, "vit-classifier"));
  const x = f32(expected["vit-classifier"].input);
  assert.deepEqual(vit.forward(x).lastHiddenState.data, full.vit.forward(x).lastHiddenState.data);

  const gpt = await models.GPT2Model.fromPretrained(join(FIX, "gpt2-lm"));
  close(gpt.forward(i32(expected["gpt2-lm"].input)).lastHiddenState, expected["gpt2-lm"].lastHiddenState!, "GPT2Model from transformer.*");
  const legacy = await models.GPT2Model.fromPretrained(join(FIX, "gpt2-legacy"));
  close(legacy.forward(i32(expected["gpt2-legacy"].input)).lastHiddenState, expected["gpt2-legacy"].lastHiddenState!, "GPT2Model from the OpenAI names");

  // a classifier from a base checkpoint: strict refuses the missing head, strict: false keeps its init
  await assert.rejects(models.ViTForImageClassification.fromPretrained(join(FIX, "vit-model")), /does not fit ViTForImageClassification: missing classifier\.weight, classifier\.bias/);
  const { model, report } = io.loadPretrained(io.vitForImageClassificationSpec, join(FIX, "vit-model"), { strict: false });
  assert.deepEqual(report.missing, ["classifier.weight", "classifier.bias"]);
  assert.ok(model.classifier.weight.data.some((v) => v !== 0), "a missing head keeps its random init");
  assert.deepEqual(report.unused, ["pooler.dense.bias", "pooler.dense.weight"]);
  const base = await models.ViTModel.fromPretrained(join(FIX, "vit-model"));
  const x2 = f32(expected["vit-model"].input);
  assert.deepEqual(model.vit.forward(x2).lastHiddenState.data, base.forward(x2).lastHiddenState.data);
});

/** A copy of a fixture directory whose config.json or weights a test can change. */
function variant(name: string, edit: (dir: string, config: Record<string, unknown>) => Record<string, unknown> | void): string {
  const dir = join(tmp, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(FIX, name), dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const out = edit(dir, cfg) ?? cfg;
  writeFileSync(join(dir, "config.json"), JSON.stringify(out));
  return dir;
}

test("checkpoints that do not fit are refused with the file, the tensor and both shapes", async () => {
  const wrong = variant("vit-classifier", (_, c) => ({ ...c, intermediate_size: 48 }));
  await assert.rejects(models.ViTForImageClassification.fromPretrained(wrong),
    /tensors do not fit ViTForImageClassification \(does config\.json match the weights\?\): .*"vit\.encoder\.layer\.0\.intermediate\.dense\.weight" is \[64, 32\], expected \[48, 32\]/);
  await assert.rejects(models.GPT2LMHeadModel.fromPretrained(join(FIX, "vit-classifier")), /config\.json has model_type "vit", but GPT2LMHeadModel reads "gpt2"/);
  await assert.rejects(models.GPT2LMHeadModel.fromPretrained(variant("gpt2-lm", (_, c) => ({ ...c, activation_function: "relu" }))),
    /"activation_function" is "relu"; tsformer supports "gelu_new", "gelu_pytorch_tanh"/);
  await assert.rejects(models.GPT2LMHeadModel.fromPretrained(variant("gpt2-lm", (_, c) => ({ ...c, n_layer: 3 }))), /missing transformer\.h\.2\.ln_1\.weight/);
  await assert.rejects(models.GPT2LMHeadModel.fromPretrained(variant("gpt2-lm", (_, c) => ({ ...c, n_layer: 1 }))), /unexpected .*transformer\.h\.1\.ln_1\.weight/);
  await assert.rejects(models.ViTModel.fromPretrained(join(tmp, "nowhere")), /nowhere\/config\.json is missing/);
  const noWeights = variant("gpt2-lm", (d) => rmSync(join(d, "model.safetensors")));
  await assert.rejects(models.GPT2LMHeadModel.fromPretrained(noWeights), /holds neither model\.safetensors nor model\.safetensors\.index\.json/);
  // an lm_head that is not a copy of wte
  const untied = variant("gpt2-legacy", (d) => {
    const { tensors } = io.loadSafetensors(join(d, "model.safetensors"));
    const raw: Record<string, Tensor | io.RawTensor> = { ...tensors };
    (tensors["lm_head.weight"].data as Float32Array)[5] += 1;
    raw["h.0.attn.bias"] = { dtype: "U8", shape: tensors["h.0.attn.bias"].shape, data: Uint8Array.from(tensors["h.0.attn.bias"].data) };
    raw["h.1.attn.bias"] = raw["h.0.attn.bias"];
    io.saveSafetensors(join(d, "model.safetensors"), raw, { metadata: { format: "pt" } });
  });
  await assert.rejects(models.GPT2LMHeadModel.fromPretrained(untied), /"lm_head\.weight" differs from "wte\.weight"; GPT2LMHeadModel ties them/);
  // a shard index that names a tensor its shard does not hold
  const badIndex = variant("vit-model", (d) => {
    const p = join(d, "model.safetensors.index.json");
    const idx = JSON.parse(readFileSync(p, "utf8"));
    idx.weight_map["layernorm.weight"] = "model-00001-of-00002.safetensors";
    writeFileSync(p, JSON.stringify(idx));
  });
  await assert.rejects(models.ViTModel.fromPretrained(badIndex), /puts "layernorm\.weight" in model-00001-of-00002\.safetensors, which does not hold it/);
});

for (const [name, c] of available) {
  test(`${name}: savePretrained writes what transformers expects and loads back bit for bit`, async () => {
    const model = await classes[c.class].fromPretrained(join(FIX, name));
    const dir = join(tmp, `saved-${name}`);
    await model.savePretrained(dir);
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const src = JSON.parse(readFileSync(join(FIX, name, "config.json"), "utf8"));
    assert.deepEqual(cfg.architectures, [c.class]);
    assert.equal(cfg.model_type, src.model_type);
    for (const k of ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "layer_norm_eps", "qkv_bias", "image_size",
      "patch_size", "num_channels", "n_embd", "n_layer", "n_head", "n_positions", "vocab_size", "layer_norm_epsilon", "activation_function",
      "hidden_act", "max_position_embeddings", "type_vocab_size", "pad_token_id", "id2label", "label2id"]) {
      if (k in src || (k === "n_positions" && "n_ctx" in src)) assert.deepEqual(cfg[k], src[k] ?? src.n_ctx, `config key ${k}`);
    }
    const back = await classes[c.class].fromPretrained(dir);
    const a = model.stateDict(), b = back.stateDict();
    assert.deepEqual(Object.keys(b), Object.keys(a));
    for (const k of Object.keys(a)) assert.deepEqual(new Uint8Array(b[k].data.buffer, b[k].data.byteOffset, b[k].numel * 4), new Uint8Array(a[k].data.buffer, a[k].data.byteOffset, a[k].numel * 4), k);
    // the names are transformers' own: a checkpoint that transformers saved (no legacy names,
    // no buffers, tied copies dropped) has exactly these tensors in exactly this layout
    if (name === "vit-classifier" || name === "gpt2-lm" || name === "bert-model" || name === "bert-cls") {
      assert.deepEqual(readFileSync(join(dir, "model.safetensors")), readFileSync(join(FIX, name, "model.safetensors")), "model.safetensors byte for byte");
    }
  });
}

test("sharded saves: shards of at most maxShardSize bytes, an index transformers reads, and a bit-exact reload", async () => {
  const model = await models.GPT2LMHeadModel.fromPretrained(join(FIX, "gpt2-lm"));
  const dir = join(tmp, "sharded");
  await model.savePretrained(dir, { maxShardSize: 20_000 });
  const files = readdirSync(dir).sort();
  assert.ok(!files.includes("model.safetensors"));
  const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
  assert.ok(shards.length >= 3, files.join(", "));
  const idx = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
  assert.deepEqual(Object.keys(idx.weight_map).sort(), Object.keys(model.stateDict()).sort());
  assert.equal(idx.metadata.total_size, model.numParameters() * 4);
  for (const s of shards) {
    const f = io.SafetensorsFile.open(join(dir, s));
    const bytes = f.keys().reduce((n, k) => n + f.info(k).dataOffsets[1] - f.info(k).dataOffsets[0], 0);
    assert.equal(f.metadata?.format, "pt");
    f.close();
    assert.ok(bytes <= 20_000 || f.keys().length === 1, `${s} holds ${bytes} bytes`);
  }
  const back = await models.GPT2LMHeadModel.fromPretrained(dir);
  const ids = i32(expected["gpt2-lm"].input);
  assert.deepEqual(back.forward(ids).logits.data, model.forward(ids).logits.data);
  // saving again unsharded replaces the shards' index
  await model.savePretrained(dir);
  assert.ok(existsSync(join(dir, "model.safetensors")) && !existsSync(join(dir, "model.safetensors.index.json")));
  // F16 weights: half the bytes, values PyTorch's .half() gives
  await model.savePretrained(join(tmp, "half"), { floatDType: "F16" });
  const half = io.SafetensorsFile.open(join(tmp, "half", "model.safetensors"));
  assert.equal(half.info("transformer.wte.weight").dtype, "F16");
  half.close();
  assert.equal(JSON.parse(readFileSync(join(tmp, "half", "config.json"), "utf8")).torch_dtype, "float16");
  const h = await models.GPT2LMHeadModel.fromPretrained(join(tmp, "half"));
  const w = h.transformer.wte.weight.data, w0 = model.transformer.wte.weight.data;
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i] - w0[i]) <= Math.abs(w0[i]) * 2 ** -11 + 2 ** -24);
});

test("a hybrid ViT (CNN patch embeddings) is refused by savePretrained, fromPretrained and ONNX export, by name", async () => {
  const hybrid = new models.HybridViTForImageClassification(models.hybridVitPresets["hybrid-vit-mnist"]);
  await assert.rejects(hybrid.savePretrained(join(tmp, "hybrid")), /embeds patches with HybridPatchEmbeddings, not the linear projection/);
  await assert.rejects(models.HybridViTForImageClassification.fromPretrained(join(FIX, "vit-classifier")),
    /HybridViTForImageClassification\.fromPretrained: only ViTForImageClassification itself reads/);
  assert.throws(() => io.toOnnx(hybrid), /no exporter for HybridViTForImageClassification/);
  assert.ok(!existsSync(join(tmp, "hybrid")));
});
