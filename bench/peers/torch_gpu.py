#!/usr/bin/env python3
"""PyTorch on a GPU, the peer for tsformer's webgpu benchmark (bench/webgpu-node.ts).

The same workloads as the webgpu backend runs there: float32 SGEMM (n x n, full fp32, TF32
off, and with TF32 for reference) and a ViT-MNIST training step (the model of torch_peer.py,
AdamW, cross-entropy) at the given batch sizes. Times are medians of CUDA-synchronised steps
("latency") and the mean over back-to-back steps with one synchronisation ("throughput").
One JSON line per measurement.

  python3 bench/peers/torch_gpu.py [--sizes 1024,2048,4096] [--batches 32,128] [--steps 50]
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import DEFAULTS, ViTForImageClassification  # noqa: E402


def emit(obj):
    print(json.dumps(obj), flush=True)


def timed(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    lat = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        lat.append(time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    torch.cuda.synchronize()
    return statistics.median(lat), (time.perf_counter() - t) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024,2048,4096")
    ap.add_argument("--batches", default="32,128")
    ap.add_argument("--steps", type=int, default=50)
    args = ap.parse_args()
    dev = torch.device("cuda")
    common = {"peer": "pytorch", "device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    torch.manual_seed(0)
    for n in [int(s) for s in args.sizes.split(",") if s]:
        a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
        for tf32 in (False, True):
            torch.backends.cuda.matmul.allow_tf32 = tf32
            lat, thr = timed(lambda: torch.matmul(a, b), args.steps, 5)
            emit({"workload": "sgemm", **common, "n": n, "tf32": tf32, "ms": thr * 1e3, "gflops": 2 * n ** 3 / thr / 1e9})
    torch.backends.cuda.matmul.allow_tf32 = False
    c = DEFAULTS["vit_mnist_b128"]["model"]
    for batch in [int(s) for s in args.batches.split(",") if s]:
        model = ViTForImageClassification(c).to(dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        x = torch.randn(batch, 1, 28, 28, device=dev)
        y = torch.randint(0, 10, (batch,), device=dev)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        lat, thr = timed(step, args.steps, 5)
        emit({"workload": "vit-mnist train step", **common, "batch": batch, "latency_ms": lat * 1e3, "throughput_ms": thr * 1e3})


if __name__ == "__main__":
    main()
