#!/usr/bin/env python3
"""PyTorch peer for tsformer's benchmark harness (bench/run.ts).

Runs the same workloads as tsformer, with models written out explicitly so that they match
tsformer's architectures parameter for parameter, and prints one JSON line per workload with
"peer": "pytorch". The harness starts this script with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
removed from the environment (so OpenBLAS picks its AVX-512 kernels) and, for the Transformer
workloads, once with OPENBLAS_NUM_THREADS=1 and once without; it keeps the faster.

Usage (the harness builds these command lines; runnable by hand too):
  python3 bench/peers/torch_peer.py --info
  python3 bench/peers/torch_peer.py --workloads sgemm_1024,vit_mnist_b128 --repeats 5 --warmup 2 \
      [--configs '{"vit_mnist_b128": {...}}'] [--onnx-dir /tmp/dir] [--threads 2]
  python3 bench/peers/torch_peer.py --attention 4096 --repeats 5   (one size per process: RSS)
"""

import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F


def emit(obj):
    print(json.dumps(obj), flush=True)


def log(msg):
    print(f"[torch peer] {msg}", file=sys.stderr, flush=True)


# --- environment report ---------------------------------------------------------------------

def blas_info():
    """Which BLAS library torch resolved (Debian's alternatives decide) and, for OpenBLAS, its core."""
    a = torch.randn(64, 64)
    _ = a @ a  # make sure the BLAS is loaded
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and ("blas" in parts[-1] or "lapack" in parts[-1]):
                libs.add(os.path.realpath(parts[-1]))
    name, core = "unknown", None
    openblas = [p for p in libs if "libopenblas" in os.path.basename(p)]
    if openblas:
        name = "openblas-" + ("pthread" if "pthread" in openblas[0] else "openmp" if "openmp" in openblas[0] else "serial")
        try:
            lib = ctypes.CDLL(openblas[0])
            lib.openblas_get_corename.restype = ctypes.c_char_p
            core = lib.openblas_get_corename().decode()
        except Exception:  # noqa: BLE001
            pass
    elif any("/blas/" in p for p in libs):
        name = "reference-blas"
    elif any("mkl" in p for p in libs):
        name = "mkl"
    return {"blas": name, "blas_core": core, "blas_libs": sorted(libs)}


def gemm_probe(n=512):
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        ts.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(ts) / 1e9


# --- timing ---------------------------------------------------------------------------------

def median_time(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def maxrss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def reset_peak():
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def hwm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return maxrss_bytes()


# --- models (explicit, to match tsformer's parameter for parameter) --------------------------

def attend(q, k, v, mask=None):
    """q,k,v [B, H, T, D]; mask additive, broadcastable to [B, H, Tq, Tk]."""
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(int(q.shape[-1])))
    if mask is not None:
        s = s + mask
    return torch.matmul(torch.softmax(s, dim=-1), v)


def split_heads(x, h):
    b, t, d = x.shape
    return x.view(b, t, h, d // h).transpose(1, 2)


def merge_heads(x):
    b, h, t, dh = x.shape
    return x.transpose(1, 2).reshape(b, t, h * dh)


class ViTAttention(nn.Module):
    def __init__(self, d, h, qkv_bias):
        super().__init__()
        self.h = h
        self.query = nn.Linear(d, d, bias=qkv_bias)
        self.key = nn.Linear(d, d, bias=qkv_bias)
        self.value = nn.Linear(d, d, bias=qkv_bias)
        self.dense = nn.Linear(d, d)

    def forward(self, x):
        q, k, v = (split_heads(f(x), self.h) for f in (self.query, self.key, self.value))
        return self.dense(merge_heads(attend(q, k, v)))


class ViTLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hiddenSize"]
        self.layernorm_before = nn.LayerNorm(d, eps=c["layerNormEps"])
        self.attention = ViTAttention(d, c["numAttentionHeads"], c["qkvBias"])
        self.layernorm_after = nn.LayerNorm(d, eps=c["layerNormEps"])
        self.intermediate = nn.Linear(d, c["intermediateSize"])
        self.output = nn.Linear(c["intermediateSize"], d)

    def forward(self, x):
        x = x + self.attention(self.layernorm_before(x))
        return x + self.output(F.gelu(self.intermediate(self.layernorm_after(x))))


class ViTForImageClassification(nn.Module):
    """HF ViT: conv patch embedding, [CLS], learned positions, pre-norm layers, final LN, head on CLS."""

    def __init__(self, c):
        super().__init__()
        d, p = c["hiddenSize"], c["patchSize"]
        n = (c["imageSize"] // p) ** 2
        self.cls_token = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.position_embeddings = nn.Parameter(torch.randn(1, n + 1, d) * 0.02)
        self.projection = nn.Conv2d(c["numChannels"], d, kernel_size=p, stride=p)
        self.layers = nn.ModuleList([ViTLayer(c) for _ in range(c["numHiddenLayers"])])
        self.layernorm = nn.LayerNorm(d, eps=c["layerNormEps"])
        self.classifier = nn.Linear(d, c["numLabels"])

    def forward(self, pixel_values):
        x = self.projection(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.position_embeddings
        for layer in self.layers:
            x = layer(x)
        return self.classifier(self.layernorm(x)[:, 0])


class GPTBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["nEmbd"]
        self.h = c["nHead"]
        self.ln_1 = nn.LayerNorm(d, eps=c["layerNormEpsilon"])
        self.c_attn = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=c["layerNormEpsilon"])
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, mask):
        q, k, v = self.c_attn(self.ln_1(x)).split(x.shape[-1], dim=2)
        a = attend(split_heads(q, self.h), split_heads(k, self.h), split_heads(v, self.h), mask)
        x = x + self.attn_proj(merge_heads(a))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2LMHeadModel(nn.Module):
    """GPT-2: learned positions, pre-norm blocks, final LN, LM head tied to the token embedding."""

    def __init__(self, c):
        super().__init__()
        d = c["nEmbd"]
        self.wte = nn.Embedding(c["vocabSize"], d)
        self.wpe = nn.Embedding(c["nPositions"], d)
        self.blocks = nn.ModuleList([GPTBlock(c) for _ in range(c["nLayer"])])
        self.ln_f = nn.LayerNorm(d, eps=c["layerNormEpsilon"])

    def forward(self, ids):
        t = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(t))
        mask = torch.full((t, t), float("-inf")).triu(1)
        for b in self.blocks:
            x = b(x, mask)
        return F.linear(self.ln_f(x), self.wte.weight)  # tied


class MHA(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, mem, mask=None):
        q = split_heads(self.q_proj(x), self.h)
        k = split_heads(self.k_proj(mem), self.h)
        v = split_heads(self.v_proj(mem), self.h)
        return self.out_proj(merge_heads(attend(q, k, v, mask)))


class EncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, ff = c["dModel"], c["dimFeedforward"]
        self.norm_first = c["normFirst"]
        self.self_attn = MHA(d, c["numHeads"])
        self.linear1, self.linear2 = nn.Linear(d, ff), nn.Linear(ff, d)
        eps = c.get("layerNormEps", 1e-5)
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)

    def ff(self, x):
        return self.linear2(F.relu(self.linear1(x)))

    def forward(self, x):
        if self.norm_first:
            h = self.norm1(x)
            x = x + self.self_attn(h, h)
            return x + self.ff(self.norm2(x))
        x = self.norm1(x + self.self_attn(x, x))
        return self.norm2(x + self.ff(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, ff = c["dModel"], c["dimFeedforward"]
        self.norm_first = c["normFirst"]
        self.self_attn, self.cross_attn = MHA(d, c["numHeads"]), MHA(d, c["numHeads"])
        self.linear1, self.linear2 = nn.Linear(d, ff), nn.Linear(ff, d)
        eps = c.get("layerNormEps", 1e-5)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d, eps=eps) for _ in range(3))

    def ff(self, x):
        return self.linear2(F.relu(self.linear1(x)))

    def forward(self, x, mem, mask):
        if self.norm_first:
            h = self.norm1(x)
            x = x + self.self_attn(h, h, mask)
            x = x + self.cross_attn(self.norm2(x), mem)
            return x + self.ff(self.norm3(x))
        x = self.norm1(x + self.self_attn(x, x, mask))
        x = self.norm2(x + self.cross_attn(x, mem))
        return self.norm3(x + self.ff(x))


def sinusoidal(max_len, d):
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(max_len, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class Seq2SeqTransformer(nn.Module):
    """Vaswani et al. as tsformer builds it: embeddings * sqrt(d) + sinusoidal positions, encoder
    and decoder stacks (post-norm unless normFirst; a final LayerNorm per stack only when pre-norm,
    unlike nn.Transformer), a generator Linear (or the tied target embedding when shared)."""

    def __init__(self, c):
        super().__init__()
        d = c["dModel"]
        self.scale = math.sqrt(d)
        self.src_embed = nn.Embedding(c["srcVocabSize"], d)
        self.tgt_embed = self.src_embed if c["shareEmbeddings"] else nn.Embedding(c["tgtVocabSize"], d)
        self.register_buffer("pe", sinusoidal(c["maxLen"], d))
        self.encoder = nn.ModuleList([EncoderLayer(c) for _ in range(c["numEncoderLayers"])])
        self.decoder = nn.ModuleList([DecoderLayer(c) for _ in range(c["numDecoderLayers"])])
        eps = c.get("layerNormEps", 1e-5)
        self.encoder_norm = nn.LayerNorm(d, eps=eps) if c["normFirst"] else nn.Identity()
        self.decoder_norm = nn.LayerNorm(d, eps=eps) if c["normFirst"] else nn.Identity()
        self.generator = None if c["shareEmbeddings"] else nn.Linear(d, c["tgtVocabSize"])

    def forward(self, src, tgt):
        x = self.src_embed(src) * self.scale + self.pe[: src.shape[1]]
        for layer in self.encoder:
            x = layer(x)
        mem = self.encoder_norm(x)
        t = tgt.shape[1]
        mask = torch.full((t, t), float("-inf")).triu(1)
        y = self.tgt_embed(tgt) * self.scale + self.pe[:t]
        for layer in self.decoder:
            y = layer(y, mem, mask)
        y = self.decoder_norm(y)
        return self.generator(y) if self.generator is not None else F.linear(y, self.tgt_embed.weight)


# --- workloads -------------------------------------------------------------------------------

DEFAULTS = {
    "vit_tiny16_224_b8": {"batch": 8, "model": {
        "imageSize": 224, "patchSize": 16, "numChannels": 3, "hiddenSize": 192, "numHiddenLayers": 12,
        "numAttentionHeads": 3, "intermediateSize": 768, "numLabels": 1000, "layerNormEps": 1e-12, "qkvBias": True}},
    "vit_mnist_b128": {"batch": 128, "model": {
        "imageSize": 28, "patchSize": 4, "numChannels": 1, "hiddenSize": 64, "numHiddenLayers": 4,
        "numAttentionHeads": 4, "intermediateSize": 128, "numLabels": 10, "layerNormEps": 1e-12, "qkvBias": True}},
    "seq2seq_d256_3x3_b64_l32": {"batch": 64, "length": 32, "model": {
        "srcVocabSize": 1000, "tgtVocabSize": 1000, "dModel": 256, "numHeads": 4, "numEncoderLayers": 3,
        "numDecoderLayers": 3, "dimFeedforward": 1024, "dropout": 0.0, "maxLen": 512, "normFirst": False,
        "shareEmbeddings": False}},
    "gpt_d384_l6_ctx256_b8": {"batch": 8, "length": 256, "model": {
        "vocabSize": 5000, "nPositions": 256, "nEmbd": 384, "nLayer": 6, "nHead": 6, "layerNormEpsilon": 1e-5}},
}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def train_step_fn(model, opt, make_loss):
    def step():
        opt.zero_grad(set_to_none=True)
        loss = make_loss()
        loss.backward()
        opt.step()
    return step


def run_vit(name, spec, repeats, warmup, onnx_dir, common):
    c, b = spec["model"], spec["batch"]
    model = ViTForImageClassification(c)
    x = torch.randn(b, c["numChannels"], c["imageSize"], c["imageSize"])
    y = torch.randint(0, c["numLabels"], (b,))
    model.eval()
    with torch.no_grad():
        fwd, _ = median_time(lambda: model(x), repeats, warmup)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    train, _ = median_time(train_step_fn(model, opt, lambda: F.cross_entropy(model(x), y)), repeats, warmup)
    out = {"workload": name, **common, "params": n_params(model), "forward_s": fwd, "train_step_s": train}
    if onnx_dir:
        model.eval()
        path = os.path.join(onnx_dir, f"{name}.onnx")
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (x,), path, input_names=["pixel_values"], output_names=["logits"],
                                  opset_version=17, do_constant_folding=True)
            out["onnx"] = path
        except Exception as e:  # noqa: BLE001
            log(f"ONNX export of {name} failed: {e}")
    emit(out)


def run_seq2seq(name, spec, repeats, warmup, common):
    c, b, t = spec["model"], spec["batch"], spec["length"]
    model = Seq2SeqTransformer(c)
    src = torch.randint(0, c["srcVocabSize"], (b, t))
    tgt_in = torch.randint(0, c["tgtVocabSize"], (b, t))
    tgt_out = torch.randint(0, c["tgtVocabSize"], (b, t))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    loss = lambda: F.cross_entropy(model(src, tgt_in).reshape(b * t, -1), tgt_out.reshape(-1))  # noqa: E731
    train, _ = median_time(train_step_fn(model, opt, loss), repeats, warmup)
    emit({"workload": name, **common, "params": n_params(model), "train_step_s": train, "tokens_per_s": b * t / train})


def run_gpt(name, spec, repeats, warmup, common):
    c, b, t = spec["model"], spec["batch"], spec["length"]
    model = GPT2LMHeadModel(c)
    ids = torch.randint(0, c["vocabSize"], (b, t))
    targets = torch.randint(0, c["vocabSize"], (b, t))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    loss = lambda: F.cross_entropy(model(ids).reshape(b * t, -1), targets.reshape(-1))  # noqa: E731
    train, _ = median_time(train_step_fn(model, opt, loss), repeats, warmup)
    emit({"workload": name, **common, "params": n_params(model), "train_step_s": train, "tokens_per_s": b * t / train})


def run_sgemm(name, n, repeats, warmup, common):
    a, b = torch.randn(n, n), torch.randn(n, n)
    # five times the repeats, as tsformer's side does (SGEMM_REPEAT_FACTOR in bench/workloads.ts)
    t, _ = median_time(lambda: torch.matmul(a, b), repeats * 5, warmup)
    emit({"workload": name, **common, "gflops": 2 * n ** 3 / t / 1e9, "time_s": t})


def run_attention(t_len, repeats, warmup, common, heads=8, dim=64):
    """One size per process: the RSS the call adds is its peak RSS minus the RSS before it."""
    with torch.no_grad():
        small = [torch.randn(1, heads, 64, dim) for _ in range(3)]
        attend(*small)  # start threads, load kernels
        q, k, v = (torch.randn(1, heads, t_len, dim) for _ in range(3))
        fresh = reset_peak()
        before = rss_bytes()
        peak_before = hwm_bytes()
        out = attend(q, k, v)
        after = rss_bytes()
        peak = hwm_bytes()
        del out
        # the peak says something only when it was reset, or rose above every earlier peak
        extra = max(after - before, peak - before) if fresh or peak > peak_before else after - before
        fwd, _ = median_time(lambda: attend(q, k, v), repeats, warmup)
    emit({"workload": f"attention_T{t_len}_h{heads}_d{dim}", **common, "impl": "softmax(q@k^T*s)@v",
          "forward_s": fwd, "extra_rss_mb": extra / 2 ** 20})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="")
    ap.add_argument("--attention", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", default="{}")
    ap.add_argument("--onnx-dir", default="")
    ap.add_argument("--info", action="store_true")
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    info = blas_info()
    common = {"peer": "pytorch", "threads": args.threads, "torch": torch.__version__, "blas": info["blas"],
              "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default")}
    if args.info:
        emit({"info": "pytorch", "torch": torch.__version__, **info, "threads": torch.get_num_threads(),
              "openblas_num_threads": common["openblas_num_threads"],
              "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
              "gemm512_gflops": gemm_probe()})
        return
    if args.attention:
        run_attention(args.attention, args.repeats, args.warmup, common)
        return

    configs = json.loads(args.configs)
    for name in [w for w in args.workloads.split(",") if w]:
        spec = {**DEFAULTS.get(name, {}), **configs.get(name, {})}
        if name in DEFAULTS and "model" in configs.get(name, {}):
            spec["model"] = {**DEFAULTS[name]["model"], **configs[name]["model"]}
        try:
            if name.startswith("sgemm_"):
                run_sgemm(name, int(name.split("_")[1]), args.repeats, args.warmup, common)
            elif name.startswith("vit_"):
                run_vit(name, spec, args.repeats, args.warmup, args.onnx_dir, common)
            elif name.startswith("seq2seq_"):
                run_seq2seq(name, spec, args.repeats, args.warmup, common)
            elif name.startswith("gpt_"):
                run_gpt(name, spec, args.repeats, args.warmup, common)
            else:
                log(f"unknown workload {name}")
        except Exception as e:  # noqa: BLE001
            emit({"workload": name, **common, "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
