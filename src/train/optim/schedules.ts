// Learning-rate schedules as multipliers of each group's base rate, stepped once per update.

import type { Optimizer } from "./optimizer.js";

/** factor(step) for step = 0, 1, 2, ... */
export type Schedule = (step: number) => number;

export const constantSchedule = (): Schedule => () => 1;

/** Linear warmup from 0 to 1 over warmupSteps, then cosine decay to minFactor at totalSteps. */
export function warmupCosineSchedule(warmupSteps: number, totalSteps: number, minFactor = 0): Schedule {
  return (step) => {
    if (step < warmupSteps) return (step + 1) / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** Linear warmup, then linear decay to 0 at totalSteps (BERT's schedule). */
export function warmupLinearSchedule(warmupSteps: number, totalSteps: number): Schedule {
  return (step) => {
    if (step < warmupSteps) return (step + 1) / warmupSteps;
    return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  };
}

/**
 * "Attention Is All You Need", section 5.3: lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5),
 * with step counted from 1. Use it with a base lr of 1 (or a scale factor).
 */
export function inverseSqrtSchedule(dModel: number, warmupSteps = 4000): Schedule {
  return (step) => {
    const s = step + 1;
    return dModel ** -0.5 * Math.min(s ** -0.5, s * warmupSteps ** -1.5);
  };
}

/** Applies a schedule to an optimizer (like torch.optim.lr_scheduler.LambdaLR). */
export class LRScheduler {
  private baseLrs: number[];
  stepCount = 0;

  constructor(readonly optimizer: Optimizer<{ lr: number }>, readonly schedule: Schedule) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.options.lr);
    this.apply();
  }

  /** Advance one update. */
  step(): void {
    this.stepCount++;
    this.apply();
  }

  get lr(): number {
    return this.optimizer.paramGroups[0].options.lr;
  }

  /** Step count and base rates, for checkpoints (the schedule itself is code, not state). */
  stateDict(): { stepCount: number; baseLrs: number[] } {
    return { stepCount: this.stepCount, baseLrs: [...this.baseLrs] };
  }

  /** Resume: restores the base rates (not the scheduled ones a resumed optimizer holds) and the step. */
  loadStateDict(sd: { stepCount: number; baseLrs: number[] }): void {
    if (sd.baseLrs.length !== this.optimizer.paramGroups.length) {
      throw new RangeError(`LRScheduler.loadStateDict: ${sd.baseLrs.length} base rates saved, ${this.optimizer.paramGroups.length} groups here`);
    }
    this.baseLrs = [...sd.baseLrs];
    this.stepCount = sd.stepCount;
    this.apply();
  }

  private apply(): void {
    const f = this.schedule(this.stepCount);
    this.optimizer.paramGroups.forEach((g, i) => (g.options.lr = this.baseLrs[i] * f));
  }
}
