// Pictures drawn as SVG text: attention matrices between tokens, in the style of the alignment
// plots of Bahdanau, Cho & Bengio 2015 (Fig. 3: source words along the top, target words down
// the side, each cell's brightness its weight), and line charts for training curves.

import { viridis } from "./image.js";

/** Escape text for SVG/XML/HTML content and attributes. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const num = (v: number) => (Math.round(v * 100) / 100).toString();

export interface MatrixSvgOptions {
  /** Labels of the rows (queries / target words). */
  rowLabels?: readonly string[];
  /** Labels of the columns (keys / source words). */
  colLabels?: readonly string[];
  title?: string;
  /** Cell size in pixels (default 22). */
  cell?: number;
  /** "grey" (Bahdanau: black 0 to white 1, default) or "viridis". */
  colors?: "grey" | "viridis";
  /** Weight mapped to full brightness (default: the matrix's maximum; 1 keeps rows comparable). */
  max?: number;
}

/**
 * rows x cols weights (row-major) as an SVG document: column labels on top (rotated), row
 * labels on the left, one <rect class="cell"> per weight with data-i/data-j/data-w attributes.
 */
export function attentionMatrixSvg(weights: ArrayLike<number>, rows: number, cols: number, options: MatrixSvgOptions = {}): string {
  if (weights.length !== rows * cols) throw new RangeError(`attentionMatrixSvg: ${weights.length} weights for a ${rows}x${cols} matrix`);
  const rl = options.rowLabels ?? Array.from({ length: rows }, (_, i) => String(i));
  const cl = options.colLabels ?? Array.from({ length: cols }, (_, j) => String(j));
  if (rl.length !== rows || cl.length !== cols) {
    throw new RangeError(`attentionMatrixSvg: ${rl.length} row labels for ${rows} rows, ${cl.length} column labels for ${cols} columns`);
  }
  const cell = options.cell ?? 22, font = Math.max(8, Math.round(cell * 0.55));
  const charW = font * 0.62;
  const left = Math.ceil(Math.max(1, ...rl.map((s) => s.length)) * charW) + 8;
  const titleH = options.title ? font + 10 : 0;
  const top = titleH + Math.ceil(Math.max(1, ...cl.map((s) => s.length)) * charW * 0.75) + 10;
  // wide enough for the (bold) title too
  const W = Math.max(left + cols * cell + 4, options.title ? Math.ceil(options.title.length * charW * 1.1) + 8 : 0), H = top + rows * cell + 4;
  let max = options.max ?? 0;
  if (!options.max) for (let i = 0; i < weights.length; i++) max = Math.max(max, weights[i]);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="${font}">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
  ];
  if (options.title) out.push(`<text x="${num(W / 2)}" y="${font + 2}" text-anchor="middle" font-weight="bold">${escapeXml(options.title)}</text>`);
  cl.forEach((s, j) => {
    const x = left + (j + 0.5) * cell, y = top - 6;
    out.push(`<text class="col" x="${num(x)}" y="${y}" transform="rotate(-45 ${num(x)} ${y})">${escapeXml(s)}</text>`);
  });
  rl.forEach((s, i) => out.push(`<text class="row" x="${left - 6}" y="${num(top + (i + 0.5) * cell + font * 0.35)}" text-anchor="end">${escapeXml(s)}</text>`));
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const w = weights[i * cols + j];
      const v = max > 0 ? Math.min(1, Math.max(0, w / max)) : 0;
      const fill = options.colors === "viridis"
        ? `rgb(${viridis(v).join(",")})`
        : `rgb(${Math.round(255 * v)},${Math.round(255 * v)},${Math.round(255 * v)})`;
      out.push(`<rect class="cell" data-i="${i}" data-j="${j}" data-w="${w.toPrecision(4)}" x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}"><title>${escapeXml(`${rl[i]} → ${cl[j]}: ${w.toFixed(3)}`)}</title></rect>`);
    }
  }
  out.push("</svg>");
  return out.join("\n");
}

export interface Series {
  name: string;
  /** y values; x defaults to 1, 2, ... (epochs or steps). */
  y: readonly number[];
  x?: readonly number[];
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Fix the y range (e.g. [0, 1] for accuracy); default: the data's range with a margin. */
  yRange?: [number, number];
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/** "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, count = 5, integer = false): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count, p = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  if (integer) step = Math.max(1, Math.round(step)); // epochs and steps: no tick at 1.5
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * Training curves as an SVG line chart: axes with ticks, one <polyline class="series"> per
 * series (data-name attribute) and a legend. Non-finite values are skipped.
 */
export function lineChartSvg(series: readonly Series[], options: LineChartOptions = {}): string {
  if (series.length === 0) throw new RangeError("lineChartSvg: no series");
  const W = options.width ?? 480, H = options.height ?? 300;
  const m = { left: 58, right: 16, top: options.title ? 30 : 14, bottom: 44 };
  const pts = series.map((s) => {
    if (s.x && s.x.length !== s.y.length) throw new RangeError(`lineChartSvg: series "${s.name}" has ${s.x.length} x and ${s.y.length} y values`);
    return s.y.map((y, i) => [s.x ? s.x[i] : i + 1, y] as [number, number]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  });
  const all = pts.flat();
  if (all.length === 0) throw new RangeError("lineChartSvg: no finite points");
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  let [y0, y1] = options.yRange ?? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (!options.yRange) {
    const pad = (y1 - y0) * 0.05 || Math.abs(y0) * 0.1 || 1;
    y0 -= pad; y1 += pad;
  }
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - ((y - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
  ];
  if (options.title) out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${num(py(t))}" y2="${num(py(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 5}" y="${num(py(t) + 4)}" text-anchor="end">${t}</text>`);
  }
  const integerX = all.every(([x]) => Number.isInteger(x));
  for (const t of niceTicks(x0, x1, 6, integerX)) out.push(`<text x="${num(px(t))}" y="${H - m.bottom + 15}" text-anchor="middle">${t}</text>`);
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#333"/>`);
  if (options.xLabel) out.push(`<text x="${num((m.left + W - m.right) / 2)}" y="${H - 8}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel) out.push(`<text x="14" y="${num((m.top + H - m.bottom) / 2)}" text-anchor="middle" transform="rotate(-90 14 ${num((m.top + H - m.bottom) / 2)})">${escapeXml(options.yLabel)}</text>`);
  series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const p = pts[k].map(([x, y]) => `${num(px(x))},${num(py(y))}`).join(" ");
    out.push(`<polyline class="series" data-name="${escapeXml(s.name)}" fill="none" stroke="${color}" stroke-width="2" points="${p}"/>`);
    const ly = m.top + 6 + k * 15;
    out.push(`<line x1="${W - m.right - 110}" x2="${W - m.right - 92}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${W - m.right - 88}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}
