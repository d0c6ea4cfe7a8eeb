// The report of an image classifier's training run in one call: curves from the per-epoch
// history, the final metrics, the configuration, and for a few sample images the prediction
// with its rollout, gradient-weighted attention and the last layer's heads. What `npm start`'s
// demo and the training commands call at the end of a run.

import type { Module } from "../nn/module.js";
import type { Tensor } from "../tensor/tensor.js";
import { explainImage } from "./pictures.js";
import { tensorToImage, type RGBImage } from "./image.js";
import { writeReport, type ReportCurve, type ReportSection, type WrittenReport } from "./report.js";

export interface ImageClassifierReportOptions {
  title: string;
  summary?: string;
  config?: Record<string, unknown>;
  metrics?: Record<string, number | string>;
  /**
   * Per-epoch values by name, e.g. { "train loss": [...], "test loss": [...],
   * "test accuracy": [...] }. Names containing "acc" go on an accuracy chart (0..1), the
   * rest on a loss chart.
   */
  history?: Record<string, readonly number[]>;
  /** The trained model; its attention is drawn for each sample. */
  model: Module;
  /** A few inputs [1, C, H, W] (as the model takes them) with, optionally, the true class. */
  samples?: { input: Tensor; image?: RGBImage; label?: number }[];
  labels?: readonly string[];
  /** How model inputs map back to 0..1 pixels for display (value * std + mean). */
  mean?: number[];
  std?: number[];
}

/** Write dir/index.html and its pictures; returns what was written. */
export async function writeImageClassifierReport(dir: string, o: ImageClassifierReportOptions): Promise<WrittenReport> {
  const curves: ReportCurve[] = [];
  const entries = Object.entries(o.history ?? {}).filter(([, v]) => v.length > 0);
  const acc = entries.filter(([k]) => /acc/i.test(k)), loss = entries.filter(([k]) => !/acc/i.test(k));
  if (loss.length) curves.push({ name: "loss", title: "loss", xLabel: "epoch", yLabel: "loss", series: loss.map(([name, y]) => ({ name, y })) });
  if (acc.length) curves.push({ name: "accuracy", title: "accuracy", xLabel: "epoch", yLabel: "accuracy", yRange: [0, 1], series: acc.map(([name, y]) => ({ name, y })) });
  const sections: ReportSection[] = [];
  for (const [i, s] of (o.samples ?? []).entries()) {
    const image = s.image ?? tensorToImage(s.input, { mean: o.mean, std: o.std });
    const e = await explainImage(o.model, s.input, image, { labels: o.labels });
    const last = e.layers.length - 1;
    const truth = s.label === undefined ? "" : `, true class ${o.labels?.[s.label] ?? s.label}`;
    const order = ["input.png", "rollout.png", "gradient.png", `layer${last}-heads.png`];
    sections.push({
      title: `Sample ${i + 1}: predicted ${e.label} (p = ${e.probabilities[e.predicted].toFixed(3)}${truth})`,
      pictures: e.pictures
        .filter((p) => order.includes(p.name))
        .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
        .map((p) => ({ ...p, name: `sample${i + 1}-${p.name}` })),
    });
  }
  return writeReport(dir, { title: o.title, summary: o.summary, config: o.config, metrics: o.metrics, curves, sections });
}
