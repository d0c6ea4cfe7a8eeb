// `tsformer export onnx --model DIR --out model.onnx`: a Hugging Face layout directory
// (config.json + model.safetensors) to an ONNX file for onnxruntime.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadPretrained } from "../io/hf/layout.js";
import { pretrainedSpecs } from "../io/hf/pretrained.js";
import { saveOnnx } from "../io/onnx/export.js";

export const EXPORT_HELP = `Usage: tsformer export onnx --model DIR --out FILE [--arch CLASS]

  --model DIR     a Hugging Face layout directory: config.json + model.safetensors (or shards)
  --out FILE      the ONNX file to write (opset 17, weights inside)
  --arch CLASS    the model class when config.json's "architectures" does not say
                  ({classes})

Inputs and outputs use transformers' names: pixel_values -> logits | last_hidden_state (ViT),
input_ids -> logits | last_hidden_state (GPT-2), input_ids, attention_mask, token_type_ids ->
last_hidden_state (+ pooler_output) | logits (BERT); batch and sequence sizes are dynamic.`;

function help(): string {
  return EXPORT_HELP.replace("{classes}", [...pretrainedSpecs.keys()].join(", "));
}

export async function exportCommand(argv: string[]): Promise<number> {
  const [format, ...rest] = argv;
  if (format === "--help" || format === "-h" || format === undefined) {
    console.log(help());
    return format === undefined ? 2 : 0;
  }
  if (format !== "onnx") {
    console.error(`tsformer export: unknown format "${format}" (available: onnx)\n\n${help()}`);
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { model: { type: "string" }, out: { type: "string" }, arch: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(help());
    return 0;
  }
  if (!values.model || !values.out) {
    console.error(`tsformer export onnx: --model DIR and --out FILE are both required\n\n${help()}`);
    return 2;
  }
  const cfgPath = join(values.model, "config.json");
  if (!existsSync(cfgPath)) {
    console.error(`tsformer export onnx: ${cfgPath} is missing (is ${values.model} a Hugging Face layout directory?)`);
    return 2;
  }
  const archs = (JSON.parse(readFileSync(cfgPath, "utf8")) as { architectures?: string[] }).architectures;
  const arch = values.arch ?? archs?.[0];
  const spec = arch ? pretrainedSpecs.get(arch) : undefined;
  if (!spec) {
    console.error(`tsformer export onnx: ${arch ? `unknown architecture "${arch}"` : `${cfgPath} names no architecture; pass --arch`} (available: ${[...pretrainedSpecs.keys()].join(", ")})`);
    return 2;
  }
  const { model } = loadPretrained(spec, values.model);
  const bytes = saveOnnx(model, values.out);
  console.log(`wrote ${values.out}: ${spec.architecture}, ${(bytes / 1e6).toFixed(2)} MB, opset 17`);
  return 0;
}
