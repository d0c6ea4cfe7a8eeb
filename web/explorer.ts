// The attention explorer page (bundled by esbuild into dist/web/explorer.js; no framework).
// Image models: upload an image, see the prediction and the [CLS] token's attention over it
// (rollout, gradient-weighted, or one layer: head mean or one head), plus every head of the
// chosen layer. Text models: type a word, see the output and a head view (bertviz-like lines
// from each query token to the key tokens, weight as opacity; hover a token to isolate it).
// Video models: upload a clip, see the prediction and the attention per frame (rollout or one
// attention call's head mean) as a strip of frames and as an animated GIF, drawn by the server.

interface GridJson { rows: number; cols: number; data: number[] }
interface ModelInfo { kind: "image" | "text" | "video"; frames?: number; family?: string; maxTextLength?: number; name: string; labels?: string[]; imageSize?: number; layers?: number; heads?: number; backend: string; maxUploadBytes: number; task?: string }
interface ImageResult { label: string; predicted: number; top: { label: string; p: number }[]; layers: { module: string; mean: GridJson; heads: GridJson[] }[]; rollout: GridJson; gradient: GridJson | null; input: string }
interface VideoResult { label: string; top: { label: string; p: number }[]; numFrames: number; rolloutOver: string; views: { name: string; title: string; strip: string; gif: string }[] }
interface TextLayer { module: string; role: string; heads: number[][][]; queries: string[]; keys: string[] }
interface TextResult { input: string; output: string[]; layers: TextLayer[] }

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

function showError(message: string | null): void {
  const e = $("error");
  e.textContent = message ?? "";
  e.hidden = message === null;
}

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, init);
  const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

// viridis, 9 stops (the same as src/explain/image.ts)
const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
function viridis(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, v)) * 8, i = Math.min(7, Math.floor(x)), f = x - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** Draw the image, then the grid (min-max scaled, viridis) smoothed over it. */
function drawHeat(canvas: HTMLCanvasElement, img: HTMLImageElement, grid: GridJson, alpha: number): void {
  const ctx = canvas.getContext("2d")!;
  const W = canvas.width, H = canvas.height;
  ctx.imageSmoothingEnabled = false;
  ctx.filter = "grayscale(1)";
  ctx.drawImage(img, 0, 0, W, H);
  ctx.filter = "none";
  const small = document.createElement("canvas");
  small.width = grid.cols;
  small.height = grid.rows;
  const sctx = small.getContext("2d")!;
  const px = sctx.createImageData(grid.cols, grid.rows);
  let lo = Infinity, hi = -Infinity;
  for (const v of grid.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  grid.data.forEach((v, i) => {
    const [r, g, b] = viridis(hi > lo ? (v - lo) / (hi - lo) : 0);
    px.data.set([r, g, b, 255], i * 4);
  });
  sctx.putImageData(px, 0, 0);
  ctx.globalAlpha = alpha;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(small, 0, 0, W, H);
  ctx.globalAlpha = 1;
}

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the server's input image did not load"));
    img.src = src;
  });
}

async function imageMode(info: ModelInfo): Promise<void> {
  $("image-mode").hidden = false;
  const file = $<HTMLInputElement>("file"), drop = $("drop");
  const view = $<HTMLSelectElement>("view"), layer = $<HTMLInputElement>("layer"), head = $<HTMLSelectElement>("head");
  const alpha = $<HTMLInputElement>("alpha"), canvas = $<HTMLCanvasElement>("heatmap");
  layer.max = String((info.layers ?? 1) - 1);
  for (let h = 0; h < (info.heads ?? 0); h++) head.add(new Option(`head ${h}`, String(h)));
  let result: ImageResult | null = null, img: HTMLImageElement | null = null;

  const render = () => {
    if (!result || !img) return;
    const l = Number(layer.value);
    $("layer-value").textContent = String(l);
    const v = view.value;
    $("layer-control").hidden = v !== "layer";
    $("head-control").hidden = v !== "layer";
    const grid = v === "rollout" ? result.rollout
      : v === "gradient" ? result.gradient ?? result.rollout
      : head.value === "mean" ? result.layers[l].mean : result.layers[l].heads[Number(head.value)];
    drawHeat(canvas, img, grid, Number(alpha.value) / 100);
    canvas.dataset.view = v === "layer" ? `layer ${l} ${head.value}` : v;
    $("heads-title").textContent = `every head of layer ${l} (click one to show it)`;
    const heads = $("heads");
    heads.replaceChildren(...result.layers[l].heads.map((g, h) => {
      const fig = document.createElement("figure");
      const c = document.createElement("canvas");
      c.width = c.height = 112;
      drawHeat(c, img!, g, Number(alpha.value) / 100);
      const cap = document.createElement("figcaption");
      cap.textContent = `head ${h}`;
      fig.append(c, cap);
      if (v === "layer" && head.value === String(h)) fig.classList.add("selected");
      fig.onclick = () => { view.value = "layer"; head.value = String(h); render(); };
      return fig;
    }));
  };

  const upload = async (f: File) => {
    showError(null);
    if (f.size > info.maxUploadBytes) {
      showError(`${f.name} is ${f.size} bytes; the server takes at most ${info.maxUploadBytes}`);
      return;
    }
    document.body.dataset.state = "busy";
    try {
      result = await api<ImageResult>("/api/explain/image", {
        method: "POST", body: f, headers: { "content-type": f.type || "application/octet-stream", "x-file-name": encodeURIComponent(f.name) },
      });
      img = await loadImage(result.input);
      $("label").textContent = result.label;
      $("prob").textContent = `p = ${result.top[0].p.toFixed(3)}`;
      $("top").replaceChildren(...result.top.map((t) => {
        const li = document.createElement("li");
        li.textContent = `${t.label}: ${(100 * t.p).toFixed(1)}%`;
        return li;
      }));
      $("image-result").hidden = false;
      render();
      document.body.dataset.state = "done";
    } catch (e) {
      showError((e as Error).message);
      document.body.dataset.state = "error";
    }
  };

  file.onchange = () => { if (file.files?.[0]) void upload(file.files[0]); };
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (f) void upload(f);
  };
  view.onchange = layer.oninput = head.onchange = alpha.oninput = render;
}

async function videoMode(info: ModelInfo): Promise<void> {
  $("video-mode").hidden = false;
  const file = $<HTMLInputElement>("video-file"), drop = $("video-drop"), view = $<HTMLSelectElement>("video-view");
  let result: VideoResult | null = null;
  const render = () => {
    const v = result?.views.find((x) => x.name === view.value) ?? result?.views[0];
    if (!result || !v) return;
    $<HTMLImageElement>("video-strip").src = v.strip;
    $<HTMLImageElement>("video-gif").src = v.gif;
    $("video-caption").textContent = `${v.title}; ${result.numFrames} frames, normalised over the clip`;
    document.body.dataset.view = v.name;
  };
  const upload = async (f: File) => {
    showError(null);
    if (f.size > info.maxUploadBytes) {
      showError(`${f.name} is ${f.size} bytes; the server takes at most ${info.maxUploadBytes}`);
      return;
    }
    document.body.dataset.state = "busy";
    try {
      result = await api<VideoResult>("/api/explain/video", {
        method: "POST", body: f, headers: { "content-type": f.type || "application/octet-stream", "x-file-name": encodeURIComponent(f.name) },
      });
      $("video-label").textContent = result.label;
      $("video-prob").textContent = `p = ${result.top[0].p.toFixed(3)}`;
      $("video-top").replaceChildren(...result.top.map((t) => {
        const li = document.createElement("li");
        li.textContent = `${t.label}: ${(100 * t.p).toFixed(1)}%`;
        return li;
      }));
      view.replaceChildren(...result.views.map((x) => new Option(x.title, x.name)));
      $("video-result").hidden = false;
      render();
      document.body.dataset.state = "done";
    } catch (e) {
      showError((e as Error).message);
      document.body.dataset.state = "error";
    }
  };
  file.onchange = () => { if (file.files?.[0]) void upload(file.files[0]); };
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (f) void upload(f);
  };
  view.onchange = render;
}

const SVG = "http://www.w3.org/2000/svg";

/** bertviz-like head view: queries on the left, keys on the right, a line per weight. */
function drawHeadView(svg: SVGSVGElement, layer: TextLayer, headSel: string): void {
  const H = layer.heads.length, Tq = layer.queries.length, Tk = layer.keys.length;
  const heads = headSel === "all" ? Array.from({ length: H }, (_, h) => h) : [Number(headSel)];
  const colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const rowH = 22, top = 20, W = 420, xL = 110, xR = 310;
  svg.setAttribute("height", String(top + Math.max(Tq, Tk) * rowH + 10));
  svg.replaceChildren();
  const lines: { el: SVGLineElement; i: number; j: number; w: number }[] = [];
  for (const h of heads) {
    for (let i = 0; i < Tq; i++) {
      for (let j = 0; j < Tk; j++) {
        const w = layer.heads[h][i][j];
        if (w < 0.01) continue;
        const l = document.createElementNS(SVG, "line");
        l.setAttribute("x1", String(xL + 4));
        l.setAttribute("x2", String(xR - 4));
        l.setAttribute("y1", String(top + i * rowH));
        l.setAttribute("y2", String(top + j * rowH));
        l.setAttribute("stroke", colors[h % colors.length]);
        l.setAttribute("stroke-width", "2");
        l.setAttribute("stroke-opacity", String(w)); // heads overlap: each line at its own weight
        const t = document.createElementNS(SVG, "title");
        t.textContent = `${layer.queries[i]} → ${layer.keys[j]}: ${w.toFixed(3)} (head ${h})`;
        l.append(t);
        svg.append(l);
        lines.push({ el: l, i, j, w });
      }
    }
  }
  const label = (text: string, x: number, y: number, anchor: string, side: "q" | "k", idx: number) => {
    const t = document.createElementNS(SVG, "text");
    t.textContent = text;
    t.setAttribute("x", String(x));
    t.setAttribute("y", String(y + 5));
    t.setAttribute("text-anchor", anchor);
    t.onmouseenter = () => {
      t.classList.add("active");
      for (const l of lines) {
        const mine = side === "q" ? l.i === idx : l.j === idx;
        l.el.setAttribute("stroke-opacity", mine ? String(Math.max(0.15, l.w)) : "0.02");
      }
    };
    t.onmouseleave = () => {
      t.classList.remove("active");
      for (const l of lines) l.el.setAttribute("stroke-opacity", String(l.w));
    };
    svg.append(t);
  };
  layer.queries.forEach((s, i) => label(s, xL, top + i * rowH, "end", "q", i));
  layer.keys.forEach((s, j) => label(s, xR, top + j * rowH, "start", "k", j));
  svg.setAttribute("width", String(W));
}

function drawMatrix(canvas: HTMLCanvasElement, layer: TextLayer, headSel: string): void {
  const Tq = layer.queries.length, Tk = layer.keys.length, cell = 24, left = 60, top = 60;
  canvas.width = left + Tk * cell + 4;
  canvas.height = top + Tq * cell + 4;
  const ctx = canvas.getContext("2d")!;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const heads = headSel === "all" ? layer.heads : [layer.heads[Number(headSel)]];
  ctx.font = "12px sans-serif";
  ctx.fillStyle = "#222";
  ctx.textAlign = "right";
  layer.queries.forEach((s, i) => ctx.fillText(s, left - 4, top + i * cell + 16));
  layer.keys.forEach((s, j) => {
    ctx.save();
    ctx.translate(left + j * cell + 16, top - 4);
    ctx.rotate(-Math.PI / 4);
    ctx.textAlign = "left";
    ctx.fillText(s, 0, 0);
    ctx.restore();
  });
  for (let i = 0; i < Tq; i++) {
    for (let j = 0; j < Tk; j++) {
      let w = 0;
      for (const h of heads) w += h[i][j] / heads.length;
      const g = Math.round(255 * w);
      ctx.fillStyle = `rgb(${g},${g},${g})`;
      ctx.fillRect(left + j * cell, top + i * cell, cell, cell);
    }
  }
}

async function textMode(info: ModelInfo): Promise<void> {
  $("text-mode").hidden = false;
  const form = $<HTMLFormElement>("text-form"), input = $<HTMLInputElement>("text");
  if (info.maxTextLength) input.maxLength = info.maxTextLength;
  if (info.task === "gpt2") input.placeholder = "type a text: see what comes next";
  if (info.task === "bert-mlm") input.placeholder = "type a text; [MASK] tokens are filled in";
  const attn = $<HTMLSelectElement>("attn"), headSel = $<HTMLSelectElement>("text-head");
  let result: TextResult | null = null;
  const render = () => {
    if (!result) return;
    const layer = result.layers[Number(attn.value)];
    drawHeadView($("headview") as unknown as SVGSVGElement, layer, headSel.value);
    drawMatrix($<HTMLCanvasElement>("matrix"), layer, headSel.value);
  };
  const fillHeads = () => {
    if (!result) return;
    const H = result.layers[Number(attn.value)].heads.length;
    const keep = headSel.value;
    headSel.replaceChildren(new Option("all heads", "all"), ...Array.from({ length: H }, (_, h) => new Option(`head ${h}`, String(h))));
    if ([...headSel.options].some((o) => o.value === keep)) headSel.value = keep;
  };
  form.onsubmit = async (e) => {
    e.preventDefault();
    showError(null);
    document.body.dataset.state = "busy";
    try {
      result = await api<TextResult>("/api/explain/text", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: input.value }) });
      $("output").textContent = result.output.join(" ");
      attn.replaceChildren(...result.layers.map((l, k) => new Option(`${l.role}: ${l.module}`, String(k))));
      const cross = result.layers.findIndex((l) => l.role === "cross");
      attn.value = String(cross >= 0 ? cross : 0);
      fillHeads();
      $("text-result").hidden = false;
      render();
      document.body.dataset.state = "done";
    } catch (err) {
      showError((err as Error).message);
      document.body.dataset.state = "error";
    }
  };
  attn.onchange = () => { fillHeads(); render(); };
  headSel.onchange = render;
}

async function start(): Promise<void> {
  try {
    const info = await api<ModelInfo>("/api/model");
    $("model-info").textContent = info.kind === "image"
      ? `${info.name}: image classifier, ${info.layers} layers x ${info.heads} heads, ${info.imageSize}x${info.imageSize} input, ${info.labels?.length} classes (${info.backend} backend)`
      : info.kind === "video"
      ? `${info.name}: video classifier (${info.family}), ${info.frames} frames of ${info.imageSize}x${info.imageSize}, ${info.labels?.length} classes (${info.backend} backend)`
      : info.layers
      ? `${info.name}: ${info.task} model, ${info.layers} layers x ${info.heads} heads (${info.backend} backend)`
      : `${info.name}: ${info.task ?? "text"} model (${info.backend} backend)`;
    if (info.kind === "image") await imageMode(info);
    else if (info.kind === "video") await videoMode(info);
    else await textMode(info);
    document.body.dataset.state = "ready";
  } catch (e) {
    showError(`could not reach the model: ${(e as Error).message}`);
  }
}

void start();
