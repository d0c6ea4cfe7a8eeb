// The image models behind one spec, and their checkpoints: config.json holds the spec and the
// preprocessing (size, channels, mean/std, label names), weights.bin the tensors
// (src/io/checkpoint.ts). Loading checks that the weights fit the config and names the file.

import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import { zeros_ } from "../nn/init.js";
import { Linear } from "../nn/layers.js";
import { HybridViTForImageClassification, type HybridViTConfig, hybridVitPresets } from "../models/hybrid-vit.js";
import { ResNetForImageClassification, type ResNetConfig, resnetPresets } from "../models/resnet.js";
import { ViTForImageClassification, type ViTConfig, vitPresets } from "../models/vit.js";
import { formatShape, shapesEqual } from "../tensor/shape.js";
import type { ImageClassifier } from "./image-classification.js";

export type ImageModelSpec =
  | { kind: "vit"; config: ViTConfig }
  | { kind: "hybrid"; config: HybridViTConfig }
  | { kind: "cnn"; config: ResNetConfig };

export type ImageModelKind = ImageModelSpec["kind"];

/** How raw images become the model's input: resize to size x size, scale to [0, 1], (x - mean) / std per channel. */
export interface ImagePreprocessing {
  imageSize: number;
  numChannels: number;
  mean: number[];
  std: number[];
  /** Class names, index = class id. */
  labels: string[];
}

export function buildImageClassifier(spec: ImageModelSpec): ImageClassifier {
  switch (spec.kind) {
    case "vit": return new ViTForImageClassification(spec.config);
    case "hybrid": return new HybridViTForImageClassification(spec.config);
    case "cnn": return new ResNetForImageClassification(spec.config);
    default: throw new Error(`buildImageClassifier: unknown model kind ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}

/** The digit models of docs/VIT.md: vit-mnist, hybrid-vit-mnist (ResNet stem + the same encoder), resnet-mnist (CIFAR ResNet-14). */
export function mnistModelSpec(kind: ImageModelKind): ImageModelSpec {
  switch (kind) {
    case "vit": return { kind, config: { ...vitPresets["vit-mnist"] } };
    case "hybrid": return { kind, config: { ...hybridVitPresets["hybrid-vit-mnist"] } };
    case "cnn": return { kind, config: { ...resnetPresets["resnet-mnist"] } };
    default: throw new Error(`mnistModelSpec: unknown model kind ${JSON.stringify(kind)} (vit, hybrid, cnn)`);
  }
}

/** Replace the classification head with a fresh one of numLabels outputs (for fine-tuning on new classes). */
export function replaceHead(model: ImageClassifier, spec: ImageModelSpec, numLabels: number): ImageModelSpec {
  const m = model as unknown as { classifier: Linear };
  const inF = m.classifier.inFeatures;
  m.classifier = new Linear(inF, numLabels);
  if (spec.kind !== "cnn") {
    // the ViT head starts at zero (paper, section 3.1: "a zero-initialized D x K feedforward layer")
    zeros_(m.classifier.weight);
    zeros_(m.classifier.bias!);
  }
  return { ...spec, config: { ...spec.config, numLabels } } as ImageModelSpec;
}

export interface ImageCheckpointConfig {
  task: "image-classification";
  spec: ImageModelSpec;
  preprocessing: ImagePreprocessing;
}

export function saveImageCheckpoint(dir: string, model: ImageClassifier, spec: ImageModelSpec, preprocessing: ImagePreprocessing, meta: Record<string, unknown> = {}): void {
  saveCheckpoint<ImageCheckpointConfig, Record<string, unknown>>(dir, {
    config: { task: "image-classification", spec, preprocessing }, stateDict: model.stateDict(), meta,
  });
}

export interface LoadedImageModel {
  model: ImageClassifier;
  spec: ImageModelSpec;
  preprocessing: ImagePreprocessing;
  meta: Record<string, unknown> | undefined;
}

/** Load a checkpoint written by saveImageCheckpoint; a config that disagrees with the weights is an error naming both files. */
export function loadImageCheckpoint(dir: string): LoadedImageModel {
  const c = loadCheckpoint<ImageCheckpointConfig, Record<string, unknown>>(dir);
  const cfgPath = `${dir}/config.json`, wPath = `${dir}/weights.bin`;
  if (c.config.task !== "image-classification" || !c.config.spec || !c.config.preprocessing) {
    throw new Error(`loadImageCheckpoint: ${cfgPath} is not an image-classification checkpoint (task ${JSON.stringify(c.config.task)})`);
  }
  let model: ImageClassifier;
  try {
    model = buildImageClassifier(c.config.spec);
  } catch (e) {
    throw new Error(`loadImageCheckpoint: ${cfgPath} describes a model that cannot be built: ${(e as Error).message}`);
  }
  const own = model.stateDict();
  const problems: string[] = [];
  for (const [name, t] of Object.entries(own)) {
    const w = c.stateDict[name];
    if (!w) problems.push(`${name} ${formatShape(t.shape)} is missing`);
    else if (!shapesEqual(w.shape, t.shape)) problems.push(`${name} is ${formatShape(w.shape)} but the config needs ${formatShape(t.shape)}`);
  }
  for (const name of Object.keys(c.stateDict)) if (!(name in own)) problems.push(`${name} is not in the model`);
  if (problems.length) {
    const shown = problems.slice(0, 8).join("; ") + (problems.length > 8 ? `; ... (${problems.length - 8} more)` : "");
    throw new Error(`loadImageCheckpoint: the weights in ${wPath} do not fit the model in ${cfgPath}: ${shown}`);
  }
  model.loadStateDict(c.stateDict);
  model.eval();
  return { model, spec: c.config.spec, preprocessing: c.config.preprocessing, meta: c.meta };
}
