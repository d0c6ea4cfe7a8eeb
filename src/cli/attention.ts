// `tsformer attention --model DIR INPUT --out DIR`: the attention pictures for one input, and
// an index.html that shows them together.
//   image model (ViT): INPUT is an image file -> [CLS] heat maps per layer (head mean and a grid
//     of every head), rollout, gradient-weighted attention (PNG)
//   video model (ViViT, TimeSformer): INPUT is a clip -> the same maps per frame, as image
//     strips (PNG) and animated GIFs
//   GPT-2 / BERT: INPUT is a text -> self-attention matrices per layer and head over its tokens
//     (SVG, and the head mean as PNG)
//   text model (G2P): INPUT is a word -> encoder, decoder and cross-attention matrices per layer
//     and head (SVG), cross-attention as Bahdanau's alignment plot

import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { svgToPng, writeFileAtomic, writeReport, type HeadFusion } from "../explain/index.js";
import { setBackend } from "../index.js";
import { explainG2P, explainImageBytes, loadExplainable } from "./explain-model.js";
import { explainVideoFile } from "./explain-video.js";
import { explainSelfAttention } from "./explain-text.js";

export const ATTENTION_HELP = `Usage: tsformer attention --model DIR INPUT --out DIR [options]

Write the attention pictures of one input (and OUT/index.html showing them).
  image classifier (ViT checkpoint): INPUT is an image file (PNG, JPEG, GIF, WebP)
  video classifier (train video):     INPUT is a clip (MP4, WebM, AVI, GIF, ...)
  text model (G2P checkpoint):        INPUT is a word
  GPT-2 / BERT (train gpt, train bert): INPUT is a text (BERT: [MASK] tokens are filled in)

Options:
  --head-fusion mean|max|min   how rollout fuses heads (default mean)
  --discard R                  rollout drops this fraction of the lowest weights (default 0)
  --no-gradient                skip gradient-weighted attention (one backward pass)
  --json                       print the prediction and the files written as JSON`;

export async function attentionCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      model: { type: "string" }, out: { type: "string" }, backend: { type: "string" }, json: { type: "boolean" },
      "head-fusion": { type: "string" }, discard: { type: "string" }, "no-gradient": { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(ATTENTION_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  if (!values.model || !values.out || positionals.length !== 1) {
    console.error(`tsformer attention: ${!values.model ? "--model DIR is required" : !values.out ? "--out DIR is required" : `give exactly one INPUT (got ${positionals.length})`}\n\n${ATTENTION_HELP}`);
    return 2;
  }
  const fusion = (values["head-fusion"] ?? "mean") as HeadFusion;
  if (!["mean", "max", "min"].includes(fusion)) throw new RangeError(`tsformer attention: --head-fusion must be mean, max or min, got "${fusion}"`);
  const discard = values.discard === undefined ? 0 : Number(values.discard);
  if (!(discard >= 0 && discard < 1)) throw new RangeError(`tsformer attention: --discard must be a number in [0, 1), got "${values.discard}"`);
  const input = positionals[0], out = values.out;
  const m = loadExplainable(values.model);
  let summary: Record<string, unknown>;
  let report: Parameters<typeof writeReport>[1];
  if (m.kind === "image") {
    if (!existsSync(input) || !statSync(input).isFile()) throw new Error(`tsformer attention: ${input} is not a file (an image classifier takes an image file)`);
    const e = await explainImageBytes(m, readFileSync(input), input, { gradient: !values["no-gradient"], rollout: { headFusion: fusion, discardRatio: discard } });
    summary = { input, predicted: e.predicted, label: e.label, probability: e.probabilities[e.predicted] };
    report = {
      title: `Attention of ${m.dir} on ${input}`,
      summary: `Predicted ${e.label} (p = ${e.probabilities[e.predicted].toFixed(3)}). Rollout: ${fusion} over heads, discard ${discard}.`,
      metrics: Object.fromEntries(e.probabilities.map((p, i) => [`p(${m.labels[i]})`, p]).sort((a, b) => (b[1] as number) - (a[1] as number)).slice(0, 5)),
      sections: [
        { title: "Input, rollout and gradient-weighted attention", pictures: e.pictures.filter((p) => !p.name.startsWith("layer")) },
        { title: "[CLS] attention per layer", text: "Mean of the heads, then each head.", pictures: e.pictures.filter((p) => p.name.startsWith("layer")) },
      ],
      config: { ...m.config, labels: m.labels.join(", ") },
    };
  } else if (m.kind === "video") {
    if (!existsSync(input) || !statSync(input).isFile()) throw new Error(`tsformer attention: ${input} is not a file (a video classifier takes a clip: MP4, WebM, AVI, GIF)`);
    const e = await explainVideoFile(m, input, { gradient: !values["no-gradient"], rollout: { headFusion: fusion, discardRatio: discard } });
    summary = { input, predicted: e.predicted, label: e.label, probability: e.probabilities[e.predicted], frames: e.numFrames };
    const [first, ...rest] = e.pictures;
    report = {
      title: `Attention of ${m.dir} on ${input}`,
      summary: `Predicted ${e.label} (p = ${e.probabilities[e.predicted].toFixed(3)}) from ${e.numFrames} frames. Rollout over ${e.rolloutOver}: ${fusion} over heads, discard ${discard}.`,
      metrics: Object.fromEntries(e.probabilities.map((p, i) => [`p(${m.labels[i] ?? i})`, p]).sort((a, b) => (b[1] as number) - (a[1] as number)).slice(0, 5)),
      sections: [
        { title: "Input and rollout", text: "Each frame shows the map of its temporal token (a tubelet covers its depth in frames); the clip is normalised jointly, so a frame the model ignores stays dark.", pictures: [first, ...rest.filter((p) => p.name.startsWith("rollout") || p.name.startsWith("gradient"))] },
        { title: "[CLS] attention per attention call, mean of heads", text: "Models without a [CLS] token (ViViT 3 and 4) show the mean over queries. Temporal-only calls have no spatial map and are left out.", pictures: rest.filter((p) => p.name.startsWith("attn")) },
      ],
      config: { family: m.spec.family, ...m.spec.config, labels: m.labels.join(", ") },
    };
  } else if (m.task !== "g2p") {
    const e = explainSelfAttention(m, input);
    summary = { input, tokens: e.tokens, output: e.output, top: e.top.map((t) => `${t.token} ${t.p.toFixed(3)}`) };
    const means = e.pictures.filter((p) => p.name.endsWith("-mean.svg"));
    const pngs = await Promise.all(means.map(async (p) => ({ name: p.name.replace(/\.svg$/, ".png"), title: `${p.title} (PNG)`, png: await svgToPng(p.svg!) })));
    report = {
      title: `Attention of ${m.dir} on "${input}"`,
      summary: m.task === "gpt2" ? `${input} -> next token ${e.output[0]} (p = ${e.top[0].p.toFixed(3)})` : e.output.length ? `[MASK] -> ${e.output.join(", ")}` : `${e.tokens.length} tokens (no [MASK] to fill in)`,
      sections: [
        { title: `Self-attention per layer, mean of heads (${m.task === "gpt2" ? "causal: each token sees itself and those before it" : "each token sees all"})`, pictures: [...means, ...pngs] },
        { title: "Self-attention per head", pictures: e.pictures.filter((p) => !p.name.endsWith("-mean.svg")) },
      ],
    };
  } else {
    const e = explainG2P(m, input);
    summary = { input, output: e.output };
    report = {
      title: `Attention of ${m.dir} on "${input}"`,
      summary: `${input} -> ${e.output.join(" ")}`,
      sections: [
        { title: "Cross-attention (phonemes attend to letters)", pictures: e.pictures.filter((p) => e.layers[Number(/attn(\d+)/.exec(p.name)![1])].role === "cross") },
        { title: "Encoder self-attention", pictures: e.pictures.filter((p) => e.layers[Number(/attn(\d+)/.exec(p.name)![1])].role === "encoder") },
        { title: "Decoder self-attention", pictures: e.pictures.filter((p) => e.layers[Number(/attn(\d+)/.exec(p.name)![1])].role === "decoder") },
      ].filter((s) => s.pictures.length > 0),
    };
  }
  const written = await writeReport(out, report);
  writeFileAtomic(join(out, "prediction.json"), JSON.stringify(summary, null, 2));
  if (values.json) console.log(JSON.stringify({ ...summary, files: written.files }));
  else {
    console.log(Object.entries(summary).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : v}`).join("\n"));
    console.log(`wrote ${written.files.length} files; open ${written.index}`);
  }
  return 0;
}
