// Export a model to an ONNX file: pick the family's graph builder by the model's class.

import type { Module } from "../../nn/module.js";
import { GPT2LMHeadModel, GPT2Model } from "../../models/gpt.js";
import { ViTForImageClassification, ViTModel } from "../../models/vit.js";
import { writeFileAtomic } from "../atomic.js";
import type { OnnxGraph } from "./graph.js";
import { gpt2ToOnnx } from "./gpt2.js";
import { vitToOnnx } from "./vit.js";

type Exporter = (model: Module) => OnnxGraph;

/** Model class -> graph builder; a family adds itself with registerOnnxExporter. */
const exporters = new Map<Function, Exporter>(); // eslint-disable-line @typescript-eslint/no-unsafe-function-type

export function registerOnnxExporter<M extends Module>(cls: new (...a: never[]) => M, fn: (model: M) => OnnxGraph): void {
  exporters.set(cls, fn as Exporter);
}

registerOnnxExporter(ViTModel, vitToOnnx);
registerOnnxExporter(ViTForImageClassification, vitToOnnx);
registerOnnxExporter(GPT2Model, gpt2ToOnnx);
registerOnnxExporter(GPT2LMHeadModel, gpt2ToOnnx);

/** The model's forward pass as ONNX ModelProto bytes (opset 17, weights inside the file). */
export function toOnnx(model: Module): Uint8Array {
  const fn = exporters.get(model.constructor);
  if (!fn) {
    const known = [...exporters.keys()].map((c) => c.name).join(", ");
    throw new Error(`ONNX export: no exporter for ${model.constructor.name} (supported: ${known})`);
  }
  return fn(model).toModel();
}

/** Write the model's ONNX file atomically; returns its size in bytes. */
export function saveOnnx(model: Module, path: string): number {
  const bytes = toOnnx(model);
  writeFileAtomic(path, bytes);
  return bytes.length;
}
