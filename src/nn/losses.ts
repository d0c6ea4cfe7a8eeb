// Loss modules around the functional losses in ops/loss.ts.

import { binaryCrossEntropy, binaryCrossEntropyWithLogits, crossEntropy, type CrossEntropyOptions, mseLoss, type Reduction } from "../ops/loss.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

export class CrossEntropyLoss extends Module {
  constructor(readonly options: CrossEntropyOptions = {}) { super(); }
  forward(logits: Tensor, targets: Tensor): Tensor { return crossEntropy(logits, targets, this.options); }
}

export class MSELoss extends Module {
  constructor(readonly reduction: Reduction = "mean") { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return mseLoss(input, target, this.reduction); }
}

export class BCELoss extends Module {
  constructor(readonly reduction: Reduction = "mean") { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return binaryCrossEntropy(input, target, this.reduction); }
}

export class BCEWithLogitsLoss extends Module {
  constructor(readonly reduction: Reduction = "mean") { super(); }
  forward(logits: Tensor, target: Tensor): Tensor { return binaryCrossEntropyWithLogits(logits, target, this.reduction); }
}
