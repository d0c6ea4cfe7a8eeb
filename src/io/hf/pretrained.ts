// `Model.fromPretrained(dir)` and `model.savePretrained(dir)` on the model classes.
//
// Models sit above io in the layer table and must not import it, so io attaches these to the
// classes when it loads (as ops attach their methods to Tensor) and declares them by
// declaration merging. The package index imports io, so `import { models } from "tsformer"`
// always sees them; the functions loadPretrained/savePretrained work without the attachment.

import type { Module } from "../../nn/module.js";
import { GPT2LMHeadModel, GPT2Model } from "../../models/gpt.js";
import { ViTForImageClassification, ViTModel } from "../../models/vit.js";
import { gpt2LMHeadModelSpec, gpt2ModelSpec } from "./gpt2.js";
import { loadPretrained, savePretrained, type FromPretrainedOptions, type PretrainedSpec, type SavePretrainedOptions } from "./layout.js";
import { vitForImageClassificationSpec, vitModelSpec } from "./vit.js";

export interface Pretrained<M> {
  /** Load config.json + model.safetensors (or shards) from a Hugging Face layout directory; the model is in eval mode. */
  fromPretrained(dir: string, options?: FromPretrainedOptions): Promise<M>;
}
export interface SavesPretrained {
  /** Write config.json + model.safetensors (or shards) in the Hugging Face layout. */
  savePretrained(dir: string, options?: SavePretrainedOptions): Promise<void>;
}

declare module "../../models/vit.js" {
  interface ViTModel extends SavesPretrained {}
  interface ViTForImageClassification extends SavesPretrained {}
  namespace ViTModel { const fromPretrained: Pretrained<ViTModel>["fromPretrained"]; }
  namespace ViTForImageClassification { const fromPretrained: Pretrained<ViTForImageClassification>["fromPretrained"]; }
}
declare module "../../models/gpt.js" {
  interface GPT2Model extends SavesPretrained {}
  interface GPT2LMHeadModel extends SavesPretrained {}
  namespace GPT2Model { const fromPretrained: Pretrained<GPT2Model>["fromPretrained"]; }
  namespace GPT2LMHeadModel { const fromPretrained: Pretrained<GPT2LMHeadModel>["fromPretrained"]; }
}

/** The spec of every class that has a Hugging Face layout, by architecture name. */
export const pretrainedSpecs = new Map<string, PretrainedSpec<any, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any

/** Give a model class fromPretrained/savePretrained for its spec. */
export function attachPretrained<C, M extends Module & { config: C }>(cls: { prototype: M }, spec: PretrainedSpec<C, M>): void {
  pretrainedSpecs.set(spec.architecture, spec);
  Object.defineProperty(cls, "fromPretrained", {
    value: async function (this: unknown, dir: string, options?: FromPretrainedOptions) {
      // statics are inherited: a subclass (a hybrid ViT, say) has no layout of its own
      if (this !== cls && typeof this === "function") {
        throw new Error(`${this.name}.fromPretrained: only ${spec.architecture} itself reads the Hugging Face ${spec.architecture} layout`);
      }
      return loadPretrained(spec, dir, options).model;
    },
    writable: true, configurable: true,
  });
  Object.defineProperty(cls.prototype, "savePretrained", {
    value: async function (this: M, dir: string, options?: SavePretrainedOptions) { savePretrained(spec, this, dir, options); },
    writable: true, configurable: true,
  });
}

attachPretrained(ViTModel, vitModelSpec);
attachPretrained(ViTForImageClassification, vitForImageClassificationSpec);
attachPretrained(GPT2Model, gpt2ModelSpec);
attachPretrained(GPT2LMHeadModel, gpt2LMHeadModelSpec);
