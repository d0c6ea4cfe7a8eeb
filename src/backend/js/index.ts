// The `js` backend: plain TypeScript reference kernels that run in any JavaScript runtime.

import { type Backend, registerBackend } from "../backend.js";
import { attention, attentionBackward } from "./attention.js";
import { col2im, im2col } from "./conv.js";
import { axpy, binary, fill, permute, unary, unaryBackward } from "./elementwise.js";
import { embedding, embeddingBackward } from "./embedding.js";
import { gemm } from "./gemm.js";
import { adamw } from "./optim.js";
import { argReduce, reduce } from "./reduce.js";
import { crossEntropy, layerNorm, layerNormBackward, logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from "./rowwise.js";

export const jsBackend: Backend = {
  name: "js",
  unary, unaryBackward, binary, axpy, fill, permute,
  reduce, argReduce, gemm,
  softmax, softmaxBackward, logSoftmax, logSoftmaxBackward, layerNorm, layerNormBackward, crossEntropy,
  embedding, embeddingBackward, im2col, col2im, attention, attentionBackward, adamw,
};

registerBackend("js", () => jsBackend);
