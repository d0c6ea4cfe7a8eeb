// Headless Chromium for the browser tests: a static server on 127.0.0.1 (WebGPU and module
// imports need a real origin, not about:blank or file:) and a browser driven by playwright-core.
// Every step has a timeout; `close()` ends both whatever happened.

import { existsSync, readFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { extname, join, normalize } from "node:path";

export const CHROMIUM = process.env.TSFORMER_CHROMIUM ?? "/usr/bin/chromium";
/** A skip reason when Chromium is missing, unless TSFORMER_E2E=1 demands the test (CI). */
export const chromiumSkip: string | false =
  !existsSync(CHROMIUM) && process.env.TSFORMER_E2E !== "1" ? `no ${CHROMIUM} (apt-get install -y chromium)` : false;

/** Flags for a headless Chromium without a GPU. With `webgpu`, Chromium exposes WebGPU on its
 * SwiftShader (software Vulkan) adapter to pages from 127.0.0.1 (docs/BROWSER.md). */
export function chromiumArgs(webgpu: boolean): string[] {
  const base = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
  return webgpu ? [...base, "--enable-unsafe-webgpu"] : base;
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".css": "text/css", ".map": "application/json" };

export interface BrowserSession {
  url: string;
  page: import("playwright-core").Page;
  /** Uncaught page errors and console errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/** Serve `root` (plus in-memory `extra` files) and open a page at `path` in headless Chromium. */
export async function openPage(root: string, options: { path?: string; extra?: Record<string, string>; webgpu?: boolean } = {}): Promise<BrowserSession> {
  const { chromium } = await import("playwright-core");
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const body = options.extra?.[path];
    const file = normalize(join(root, path));
    if (body !== undefined) {
      res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "text/html" }).end(body);
    } else if (file.startsWith(normalize(root)) && existsSync(file) && !file.endsWith("/")) {
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  let browser: import("playwright-core").Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, timeout: 30_000, args: chromiumArgs(options.webgpu ?? false) });
    const page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto(url + (options.path ?? "/"), { timeout: 20_000 });
    return { url, page, errors, close };
  } catch (e) {
    await close();
    throw e;
  }
}
