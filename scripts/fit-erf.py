#!/usr/bin/env python3
"""Fit the rational erf of the native GELU (native/src/kernels_impl.h, verfRational).

erf(z) ~ z P(z^2) / Q(z^2) on [0, 4] (odd, so [-4, 4]; erf(4) rounds to 1 in float32), P of
degree 6 and Q of degree 5 in z^2 with Q(0) = 1. Near-minimax in absolute error: weighted linear
least squares on the linearised residual z P - erf Q, divided by the last Q (Sanathanan-Koerner),
with Lawson's reweighting towards the largest errors. Then the float32 coefficients are checked
by evaluating them the kernel's way (Horner in float32) against math.erf, and GELU's absolute
error against its exact value.

Run: /usr/bin/python3 scripts/fit-erf.py   (numpy; prints the coefficients and the errors)
"""
from math import erf, sqrt

import numpy as np

NP, NQ, ITERATIONS = 6, 5, 400

z = np.linspace(0, 4, 20001)
f = np.array([erf(t) for t in z])
u = z * z
weights = np.ones_like(z)
den = np.ones_like(z)
for it in range(ITERATIONS):
    # unknowns p0..p6, q1..q5: z P(u) - f (Q(u) - 1) = f, scaled by weight / |Q_previous|
    A = np.zeros((len(z), NP + 1 + NQ))
    for i in range(NP + 1):
        A[:, i] = z * u**i
    for i in range(1, NQ + 1):
        A[:, NP + i] = -f * u**i
    s = weights / den
    x, *_ = np.linalg.lstsq(A * s[:, None], f * s, rcond=None)
    p = x[: NP + 1]
    q = np.concatenate([[1.0], x[NP + 1 :]])
    P = np.polyval(p[::-1], u)
    Q = np.polyval(q[::-1], u)
    den = np.abs(Q)
    err = np.abs(z * P / Q - f)
    if it >= 10:  # Lawson: weight the points where the error is largest
        weights = weights * err / err.max() + 1e-12
        weights = weights / weights.sum() * len(weights)
print(f"max |error| in float64: {err.max():.3g}")

p32, q32 = p.astype(np.float32), q.astype(np.float32)
z32 = np.linspace(-4.5, 4.5, 900001).astype(np.float32)


def erf32(zs):
    zc = np.clip(zs, np.float32(-4), np.float32(4))
    uu = zc * zc
    P = np.full_like(zc, p32[-1])
    for c in p32[-2::-1]:
        P = (P * uu + c).astype(np.float32)
    Q = np.full_like(zc, q32[-1])
    for c in q32[-2::-1]:
        Q = (Q * uu + c).astype(np.float32)
    return (zc * P / Q).astype(np.float32)


ref = np.array([erf(float(t)) for t in z32])
e = np.abs(erf32(z32).astype(np.float64) - ref)
print(f"erf, float32 evaluation: max |error| {e.max():.3g} (at z = {z32[e.argmax()]:.4f})")
xs = np.linspace(-12, 12, 480001).astype(np.float32)
gelu32 = (np.float32(0.5) * xs * (np.float32(1) + erf32((xs * np.float32(1 / sqrt(2))).astype(np.float32)))).astype(np.float32)
exact = np.array([0.5 * float(t) * (1 + erf(float(t) / sqrt(2))) for t in xs])
g = np.abs(gelu32.astype(np.float64) - exact)
print(f"GELU on [-12, 12], float32: max |error| {g.max():.3g} (at x = {xs[g.argmax()]:.4f})")
print("P (z^0 .. z^12):", ", ".join(f"{c:.17g}" for c in p32))
print("Q (z^0 .. z^10):", ", ".join(f"{c:.17g}" for c in q32))
