// An HTML report of a training run: configuration, loss and accuracy curves, final metrics and
// attention pictures, in one folder that opens in any browser with no server and no network
// (no scripts, no external assets: index.html, the SVG curves and the PNG/SVG pictures).

import { join } from "node:path";
import { writeFileAtomic } from "./files.js";
import type { Picture } from "./pictures.js";
import { escapeXml, lineChartSvg, type LineChartOptions, type Series } from "./svg.js";

export interface ReportCurve extends LineChartOptions {
  /** File name stem, e.g. "loss" (default curve-N). */
  name?: string;
  series: Series[];
}

export interface ReportSection {
  title: string;
  /** Text under the title (plain text). */
  text?: string;
  pictures: Picture[];
}

export interface ReportOptions {
  title: string;
  /** Plain-text summary at the top (e.g. the command that produced the run). */
  summary?: string;
  /** The run's configuration, shown as a table (nested values as JSON). */
  config?: Record<string, unknown>;
  /** Final metrics, shown as a table (numbers with 4 significant digits). */
  metrics?: Record<string, number | string>;
  curves?: ReportCurve[];
  /** Attention pictures, grouped. */
  sections?: ReportSection[];
}

export interface WrittenReport {
  /** Path of index.html. */
  index: string;
  /** Every file written, index.html last. */
  files: string[];
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "_");

function table(rows: [string, string][]): string {
  return `<table>\n${rows.map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`).join("\n")}\n</table>`;
}

function fmt(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
  if (typeof v === "string") return v;
  return JSON.stringify(v) ?? String(v);
}

/**
 * Write dir/index.html with everything it shows beside it (curves as SVG, pictures as given).
 * Files are written atomically; index.html goes last, so a complete index means a complete
 * report. Returns the paths written.
 */
export async function writeReport(dir: string, options: ReportOptions): Promise<WrittenReport> {
  const files: string[] = [];
  const put = (name: string, data: string | Uint8Array) => {
    const p = join(dir, name);
    writeFileAtomic(p, data);
    files.push(p);
    return name;
  };
  const used = new Set<string>();
  const unique = (name: string) => {
    let n = safeName(name), k = 1;
    while (used.has(n)) n = safeName(name).replace(/(\.[a-z]+)?$/, `-${k++}$1`);
    used.add(n);
    return n;
  };
  const body: string[] = [`<h1>${escapeXml(options.title)}</h1>`];
  if (options.summary) body.push(`<p class="summary">${escapeXml(options.summary)}</p>`);
  if (options.metrics && Object.keys(options.metrics).length) {
    body.push(`<h2>Final metrics</h2>`, table(Object.entries(options.metrics).map(([k, v]) => [k, fmt(v)])));
  }
  if (options.curves?.length) {
    body.push(`<h2>Curves</h2>`, `<div class="row">`);
    options.curves.forEach((c, i) => {
      const name = put(unique(`${c.name ?? `curve-${i + 1}`}.svg`), lineChartSvg(c.series, c));
      body.push(`<figure><img src="${escapeXml(name)}" alt="${escapeXml(c.title ?? name)}"><figcaption>${escapeXml(c.title ?? "")}</figcaption></figure>`);
    });
    body.push(`</div>`);
  }
  for (const s of options.sections ?? []) {
    body.push(`<h2>${escapeXml(s.title)}</h2>`);
    if (s.text) body.push(`<p>${escapeXml(s.text)}</p>`);
    body.push(`<div class="row">`);
    for (const p of s.pictures) {
      const data = p.png ?? p.svg;
      if (data === undefined) throw new Error(`writeReport: picture "${p.name}" has neither png nor svg content`);
      const name = put(unique(p.name), data);
      body.push(`<figure><img src="${escapeXml(name)}" alt="${escapeXml(p.title)}"><figcaption>${escapeXml(p.title)}</figcaption></figure>`);
    }
    body.push(`</div>`);
  }
  if (options.config) {
    body.push(`<h2>Configuration</h2>`, table(Object.entries(options.config).filter(([, v]) => v !== undefined && typeof v !== "function").map(([k, v]) => [k, fmt(v)])));
  }
  body.push(`<footer>written by tsformer on ${new Date().toISOString()}</footer>`);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(options.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 2px 12px 2px 0; font-variant-numeric: tabular-nums; }
th { font-weight: 600; color: #444; }
.row { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; } figure img { max-width: 100%; image-rendering: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; max-width: 480px; }
.summary { color: #444; } footer { margin-top: 3em; font-size: 0.8em; color: #888; }
</style>
</head>
<body>
${body.join("\n")}
</body>
</html>
`;
  put("index.html", html);
  return { index: join(dir, "index.html"), files };
}
