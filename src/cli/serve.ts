// `tsformer serve --model DIR`: the attention explorer. A small HTTP server (Node's own http)
// that runs the model in this process and serves one page (web/, bundled by esbuild at build
// time into dist/web/). It binds 127.0.0.1 unless told otherwise, serves only the files it
// lists (no path from the URL ever reaches the file system), caps uploads, and answers a bad
// request with a JSON { error } and a 4xx status instead of crashing.
//
//   GET  /                    the page          GET /explorer.js, /explorer.css  its assets
//   GET  /api/model           what the model is (kind, labels, image size, layers, heads)
//   POST /api/explain/image   body: the image file's bytes -> prediction and attention grids
//   POST /api/explain/video   body: the clip file's bytes  -> prediction, per-frame strips and GIFs
//   POST /api/explain/text    body: {"text": "..."}        -> tokens and attention matrices

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { backendName, setBackend } from "../index.js";
import { explainSelfAttention } from "./explain-text.js";
import { explainVideoFile, videoExplanationJson } from "./explain-video.js";
import { VIDEO_EXTENSIONS } from "./predict-video.js";
import { explainG2P, explainImageBytes, imageExplanationJson, loadExplainable, type ExplainableModel } from "./explain-model.js";

export const SERVE_HELP = `Usage: tsformer serve --model DIR [--port 8080] [--host 127.0.0.1] [--max-upload-mb 8]

Open the attention explorer: drop an image (image classifier), a clip (video classifier) or
type a word (G2P model) or a text (GPT-2, BERT) and
see the prediction, the attention of every layer and head, and the rollout.
The server listens on 127.0.0.1 only unless --host says otherwise (e.g. --host 0.0.0.0).`;

export interface ServeOptions {
  /** Checkpoint directory. */
  model: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Largest accepted request body in bytes (default 8 MiB). */
  maxUploadBytes?: number;
  /** Folder with index.html, explorer.js, explorer.css (default: dist/web of this package). */
  assetsDir?: string;
}

export interface RunningServer {
  url: string;
  server: Server;
  model: ExplainableModel;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/explorer.js": { file: "explorer.js", type: "text/javascript; charset=utf-8" },
  "/explorer.css": { file: "explorer.css", type: "text/css; charset=utf-8" },
};

function defaultAssetsDir(): string {
  return fileURLToPath(new URL("../../web/", import.meta.url)); // dist/src/cli -> dist/web
}

/** Read the whole body, refusing more than max bytes (413) as soon as it is exceeded. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? NaN);
    if (declared > max) {
      reject(new HttpError(413, `upload of ${declared} bytes is over the limit of ${max} bytes`));
      req.resume();
      return;
    }
    const parts: Buffer[] = [];
    let size = 0, done = false;
    req.on("data", (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        reject(new HttpError(413, `upload is over the limit of ${max} bytes`));
        req.resume();
        return;
      }
      parts.push(c);
    });
    req.on("end", () => { if (!done) { done = true; resolve(Buffer.concat(parts)); } });
    req.on("error", (e) => { if (!done) { done = true; reject(new HttpError(400, `upload failed: ${e.message}`)); } });
    req.on("close", () => { if (!done) { done = true; reject(new HttpError(400, "the upload was cut off")); } });
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(s), "cache-control": "no-store", "x-content-type-options": "nosniff" });
  res.end(s);
}

/** Start the explorer; resolves once it listens. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const model = loadExplainable(options.model);
  const assetsDir = options.assetsDir ?? defaultAssetsDir();
  const assets = new Map<string, Buffer>();
  for (const a of new Set(Object.values(ASSETS).map((x) => x.file))) {
    const p = assetsDir + (assetsDir.endsWith("/") ? "" : "/") + a;
    if (!existsSync(p)) throw new Error(`tsformer serve: the page is not built (${p} is missing); run npm run build`);
    assets.set(a, readFileSync(p));
  }
  const max = options.maxUploadBytes ?? 8 * 1024 * 1024;
  // one model, one request at a time: requests queue here
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };

  const info = model.kind === "image"
    ? { kind: "image", name: options.model, labels: model.labels, imageSize: model.config.imageSize, channels: model.config.numChannels, layers: model.config.numHiddenLayers, heads: model.config.numAttentionHeads, backend: backendName(), maxUploadBytes: max }
    : model.kind === "video"
    ? { kind: "video", name: options.model, family: model.spec.family, labels: model.labels, imageSize: model.need.imageSize, frames: model.need.numFrames, backend: backendName(), maxUploadBytes: max }
    : model.task === "g2p"
    ? { kind: "text", task: model.task, name: options.model, backend: backendName(), maxUploadBytes: max, maxTextLength: 64 }
    : { kind: "text", task: model.task, name: options.model, layers: model.layers, heads: model.heads, maxTokens: model.maxTokens, backend: backendName(), maxUploadBytes: max, maxTextLength: 2000 };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (req.method === "GET" || req.method === "HEAD") {
      const a = ASSETS[path];
      if (a) {
        const body = assets.get(a.file)!;
        res.writeHead(200, { "content-type": a.type, "content-length": body.length, "x-content-type-options": "nosniff", "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'" });
        res.end(req.method === "HEAD" ? undefined : body);
        return;
      }
      if (path === "/api/model") return sendJson(res, 200, info);
      throw new HttpError(404, `not found: ${path}`);
    }
    if (req.method !== "POST") throw new HttpError(405, `method ${req.method} not allowed`);
    if (path === "/api/explain/image") {
      if (model.kind !== "image") throw new HttpError(400, `this model explains ${model.kind === "video" ? "clips, not images: POST /api/explain/video" : "text, not images: POST /api/explain/text"}`);
      const type = String(req.headers["content-type"] ?? "");
      if (type && !/^(image\/|application\/octet-stream)/.test(type)) throw new HttpError(415, `expected an image (image/png, image/jpeg, ...), got content type ${type}`);
      const body = await readBody(req, max);
      if (body.length === 0) throw new HttpError(400, "the upload is empty: send the image file's bytes");
      const rawName = String(req.headers["x-file-name"] ?? "upload").slice(0, 200);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName); // the page sends the file name URI-encoded
      } catch {
        // keep it as sent
      }
      const result = await serial(async () => {
        try {
          return await explainImageBytes(model, body, `the upload "${name}"`);
        } catch (e) {
          throw new HttpError(400, (e as Error).message);
        }
      });
      const input = result.pictures.find((p) => p.name === "input.png")!;
      return sendJson(res, 200, { ...(imageExplanationJson(model, result) as object), input: `data:image/png;base64,${input.png!.toString("base64")}` });
    }
    if (path === "/api/explain/video") {
      if (model.kind !== "video") throw new HttpError(400, `this model explains ${model.kind === "image" ? "images: POST /api/explain/image" : "text: POST /api/explain/text"}, not clips`);
      const type = String(req.headers["content-type"] ?? "");
      if (type && !/^(video\/|image\/gif|application\/octet-stream)/.test(type)) throw new HttpError(415, `expected a clip (video/mp4, video/webm, video/x-msvideo, image/gif), got content type ${type}`);
      const body = await readBody(req, max);
      if (body.length === 0) throw new HttpError(400, "the upload is empty: send the clip file's bytes");
      let name = String(req.headers["x-file-name"] ?? "upload").slice(0, 200);
      try {
        name = decodeURIComponent(name);
      } catch {
        // keep it as sent
      }
      // ffmpeg reads a file; the extension (from the name, else the content type) only helps it
      // guess, and never reaches a path: the file is always clip.<known extension> in a fresh folder
      const fromName = name.split(".").pop()?.toLowerCase() ?? "";
      const ext = VIDEO_EXTENSIONS.includes(fromName) ? fromName : /gif/.test(type) ? "gif" : /webm/.test(type) ? "webm" : /msvideo|avi/.test(type) ? "avi" : "mp4";
      const result = await serial(async () => {
        const dir = mkdtempSync(join(tmpdir(), "tsformer-serve-"));
        try {
          const file = join(dir, `clip.${ext}`);
          writeFileSync(file, body);
          return await explainVideoFile(model, file);
        } catch (e) {
          // name the upload, not the temporary file
          throw new HttpError(400, (e as Error).message.split(join(dir, `clip.${ext}`)).join(`the upload "${name}"`));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
      return sendJson(res, 200, videoExplanationJson(model, result));
    }
    if (path === "/api/explain/text") {
      if (model.kind !== "text") throw new HttpError(400, `this model explains ${model.kind === "video" ? "clips, not text: POST /api/explain/video" : "images, not text: POST /api/explain/image"}`);
      const body = await readBody(req, Math.min(max, 64 * 1024));
      let text: unknown;
      try {
        text = (JSON.parse(body.toString("utf8")) as { text?: unknown }).text;
      } catch {
        throw new HttpError(400, 'expected a JSON body {"text": "..."}');
      }
      if (typeof text !== "string" || text.trim() === "") throw new HttpError(400, 'expected a JSON body {"text": "..."} with non-empty text');
      const longest = model.task === "g2p" ? 64 : 2000; // G2P takes one word
      if (text.length > longest) throw new HttpError(400, `text of ${text.length} characters is too long (at most ${longest})`);
      if (model.task !== "g2p") {
        const e = await serial(async () => {
          try {
            return explainSelfAttention(model, text);
          } catch (err) {
            throw new HttpError(400, (err as Error).message);
          }
        });
        return sendJson(res, 200, { kind: "text", task: model.task, input: e.input, output: e.output, top: e.top, tokens: e.tokens, layers: e.layers });
      }
      const e = await serial(async () => {
        try {
          return explainG2P(model, text.trim());
        } catch (err) {
          throw new HttpError(400, (err as Error).message);
        }
      });
      return sendJson(res, 200, { kind: "text", input: e.input, output: e.output, sourceTokens: e.sourceTokens, targetTokens: e.targetTokens, layers: e.layers });
    }
    throw new HttpError(404, `not found: ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof Error ? e.message : String(e);
      if (status === 500) console.error(`tsformer serve: ${req.method} ${req.url}: ${message}`);
      if (!res.headersSent) sendJson(res, status, { error: message });
      else res.destroy();
      if (status === 413) req.socket.setTimeout(1000, () => req.socket.destroy()); // do not read a huge body forever
    });
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 10_000;
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/`,
    server,
    model,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" }, port: { type: "string" }, host: { type: "string" }, "max-upload-mb": { type: "string" },
      backend: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  if (values.backend) setBackend(values.backend);
  if (!values.model) {
    console.error(`tsformer serve: --model DIR is required\n\n${SERVE_HELP}`);
    return 2;
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`tsformer serve: --port must be 0..65535, got "${values.port}"`);
  const mb = values["max-upload-mb"] === undefined ? 8 : Number(values["max-upload-mb"]);
  if (!(mb > 0)) throw new RangeError(`tsformer serve: --max-upload-mb must be a positive number, got "${values["max-upload-mb"]}"`);
  const s = await startServer({ model: values.model, port, host: values.host, maxUploadBytes: Math.round(mb * 1024 * 1024) });
  console.log(`tsformer explorer: ${s.url} (model ${values.model}, ${s.model.kind}, backend ${backendName()}); Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    const stop = () => { void s.close().then(resolve); };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
