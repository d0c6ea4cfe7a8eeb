// A training progress bar (the maintained `cli-progress` package) showing the loss, the
// throughput and the ETA. It draws only on an interactive terminal (stderr is a TTY) and never
// when quiet (e.g. --json), so logs and machine-readable output stay clean.

import cliProgress from "cli-progress";

export interface ProgressOptions {
  /** Never draw (for --json or tests). */
  quiet?: boolean;
  /** Unit of the throughput ("tok/s", "ex/s"). */
  unit?: string;
  /** Where to draw (default process.stderr). */
  stream?: NodeJS.WriteStream;
}

export class ProgressBar {
  private bar: cliProgress.SingleBar | null = null;
  private readonly unit: string;
  private readonly active: boolean;
  private start = 0;
  private units = 0;

  constructor(options: ProgressOptions = {}) {
    const stream = options.stream ?? process.stderr;
    this.active = !options.quiet && !!stream.isTTY;
    this.unit = options.unit ?? "tok/s";
    if (this.active) {
      this.bar = new cliProgress.SingleBar({
        stream,
        format: "{title} [{bar}] {value}/{total} | loss {loss}{extra} | {rate} {unit} | ETA {eta_formatted}",
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
    }
  }

  /** Whether anything is drawn. */
  get enabled(): boolean {
    return this.active;
  }

  begin(total: number, title: string): void {
    this.start = performance.now();
    this.units = 0;
    this.bar?.start(total, 0, { title, loss: "-", extra: "", rate: "-", unit: this.unit });
  }

  /** One more step: `units` tokens (or examples) processed, the latest loss; `extra` follows the loss (e.g. " | acc 97.1%"). */
  tick(units: number, loss: number, extra = ""): void {
    this.units += units;
    const sec = (performance.now() - this.start) / 1000;
    this.bar?.increment(1, { loss: loss.toFixed(4), extra, rate: sec > 0 ? Math.round(this.units / sec).toString() : "-", unit: this.unit });
  }

  end(): void {
    this.bar?.stop();
  }
}
