// Chapter 1: why attention replaced recurrence. An RNN reads a sequence one step at a time,
// so its training cannot run the positions in parallel; a Transformer layer handles all
// positions in one batch of matrix products. Measured here: seconds per training epoch of the
// GRU + Bahdanau attention baseline and the Transformer, at (nearly) equal parameter counts,
// on the reverse task, for growing sequence lengths.
//
//   node dist/examples/guide/01-rnn-drawbacks.js [--small] [--out docs/guide/img]

import { explain, manualSeed, tasks } from "../../src/index.js";
import { cliOptions, type GuideOptions, isMain, resolve, saveSvg } from "./common.js";

export interface SpeedRow {
  length: number;
  transformerParams: number;
  gruParams: number;
  /** Fastest epoch after the first (the first pays for warm-up), seconds. */
  transformerSeconds: number;
  gruSeconds: number;
  /** gruSeconds / transformerSeconds: > 1 means the GRU is slower. */
  ratio: number;
}

/** The two models of the comparison: the tiny Transformer (d 64, 2 + 2 layers) and a GRU sized to match it. */
export function specs(vocabSize: number, maxLen: number): { transformer: tasks.Seq2SeqSpec; gru: tasks.Seq2SeqSpec } {
  const transformer = tasks.defaultSpec("transformer", vocabSize, vocabSize, "tiny", maxLen);
  const gru = tasks.defaultSpec("gru", vocabSize, vocabSize, "tiny");
  transformer.config.dropout = 0;
  gru.config.dropout = 0;
  if (gru.kind === "gru") Object.assign(gru.config, { embedDim: 48, encoderHidden: 96, decoderHidden: 96, attentionDim: 96, readoutDim: 96 });
  return { transformer, gru };
}

export async function run(options: GuideOptions = {}): Promise<{ rows: SpeedRow[]; pictures: string[] }> {
  const { setting, out, log } = resolve(options);
  const lengths = setting === "full" ? [8, 16, 32, 64] : [8, 24];
  const examples = setting === "full" ? 1024 : 256, epochs = setting === "full" ? 3 : 2;
  const rows: SpeedRow[] = [];
  for (const length of lengths) {
    const data = tasks.copyData({ mode: "reverse", train: examples, test: 1, minLen: length, maxLen: length, seed: 1 });
    const s = specs(data.vocab.size, 2 * length + 4);
    const seconds = (spec: tasks.Seq2SeqSpec): { params: number; seconds: number } => {
      manualSeed(1);
      const model = new tasks.Seq2Seq(spec);
      const stats = tasks.trainSeq2Seq(model, data.train, { epochs, batchSize: 64, seed: 1 });
      return { params: model.module.numParameters(), seconds: Math.min(...stats.slice(1).map((e) => e.seconds)) };
    };
    const t = seconds(s.transformer), g = seconds(s.gru);
    const row = { length, transformerParams: t.params, gruParams: g.params, transformerSeconds: t.seconds, gruSeconds: g.seconds, ratio: g.seconds / t.seconds };
    rows.push(row);
    log(`length ${String(length).padStart(3)}: Transformer (${t.params} parameters) ${t.seconds.toFixed(2)} s/epoch, ` +
      `GRU (${g.params}) ${g.seconds.toFixed(2)} s/epoch: GRU / Transformer = ${row.ratio.toFixed(2)}`);
  }
  const x = rows.map((r) => r.length);
  const pictures = [
    saveSvg(out, "01-epoch-time.svg", explain.lineChartSvg([
      { name: "GRU + attention", x, y: rows.map((r) => r.gruSeconds) },
      { name: "Transformer", x, y: rows.map((r) => r.transformerSeconds) },
    ], { title: `seconds per epoch (${examples} sequences, equal size)`, xLabel: "sequence length", yLabel: "s" })),
  ].filter((p): p is string => p !== null);
  return { rows, pictures };
}

if (isMain(import.meta.url)) await run(cliOptions());
