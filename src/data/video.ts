// Video files (MP4, WebM, AVI, GIF, anything ffmpeg reads) as frames, through the ffmpeg binary
// that the @ffmpeg-installer/ffmpeg package ships inside its platform package (nothing is
// downloaded at install or run time). ffmpeg decodes, optionally scales, and writes raw RGB or
// grey bytes to a pipe; this file turns them into a float tensor [T, C, H, W] in [0, 1].
//
// Uniform frame sampling (ViViT section 3.2) picks numFrames frames spread evenly over the clip.

import { spawnSync } from "node:child_process";
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { Tensor } from "../tensor/tensor.js";

/** Path of the packaged ffmpeg binary (TSFORMER_FFMPEG overrides it). */
export function ffmpegPath(): string {
  if (process.env.TSFORMER_FFMPEG) return process.env.TSFORMER_FFMPEG;
  const require = createRequire(import.meta.url);
  try {
    return (require("@ffmpeg-installer/ffmpeg") as { path: string }).path;
  } catch (e) {
    throw new Error(`video: the ffmpeg binary of @ffmpeg-installer/ffmpeg is not installed for ${process.platform}-${process.arch} (${(e as Error).message})`);
  }
}

export interface VideoInfo {
  width: number;
  height: number;
  /** Frames per second as the container states it (NaN if it does not). */
  fps: number;
  codec: string;
}

function checkFile(path: string): void {
  if (!existsSync(path)) throw new Error(`video: no such file ${path}`);
  if (!statSync(path).isFile()) throw new Error(`video: ${path} is not a file`);
}

/** The last meaningful line ffmpeg printed, for error messages. */
function ffmpegComplaint(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l && l !== "At least one output file must be specified");
  return lines.at(-1) ?? "no message";
}

/** Size, frame rate and codec of the first video stream (from `ffmpeg -i`). */
export function probeVideo(path: string): VideoInfo {
  checkFile(path);
  const r = spawnSync(ffmpegPath(), ["-hide_banner", "-i", path], { encoding: "utf8" });
  if (r.error) throw new Error(`video: cannot run ffmpeg (${r.error.message})`);
  const line = r.stderr.split("\n").find((l) => /Stream #\d+:\d+.*: Video: /.test(l));
  if (!line) {
    if (/Invalid data|could not find codec|moov atom not found|Error/i.test(r.stderr)) {
      throw new Error(`video: ffmpeg cannot decode ${path}: ${ffmpegComplaint(r.stderr)}`);
    }
    throw new Error(`video: ${path} has no video stream`);
  }
  const size = /,\s(\d+)x(\d+)[\s,]/.exec(line);
  if (!size) throw new Error(`video: ffmpeg cannot decode ${path}: no frame size in "${line.trim()}" (${ffmpegComplaint(r.stderr)})`);
  const fps = /([\d.]+) fps/.exec(line);
  const codec = /Video: (\w+)/.exec(line)?.[1] ?? "unknown";
  return { width: Number(size[1]), height: Number(size[2]), fps: fps ? Number(fps[1]) : NaN, codec };
}

export interface DecodeOptions {
  /** Scale every frame to size x size (or [width, height]) before returning it. */
  size?: number | [number, number];
  /** One grey channel instead of RGB. */
  gray?: boolean;
  /** Stop after this many frames. */
  maxFrames?: number;
}

export interface DecodedVideo {
  /** [T, C, H, W] float32 in [0, 1] */
  frames: Tensor;
  info: VideoInfo;
}

/** Decode every frame of a video file (or the first maxFrames). */
export function decodeVideo(path: string, options: DecodeOptions = {}): DecodedVideo {
  const info = probeVideo(path);
  const [W, H] = options.size === undefined ? [info.width, info.height] : typeof options.size === "number" ? [options.size, options.size] : options.size;
  if (!(Number.isInteger(W) && Number.isInteger(H) && W > 0 && H > 0)) throw new RangeError(`video: size must be positive integers, got ${W}x${H}`);
  const C = options.gray ? 1 : 3;
  const args = ["-v", "error", "-i", path, "-map", "0:v:0"];
  if (options.maxFrames !== undefined) args.push("-frames:v", String(options.maxFrames));
  if (W !== info.width || H !== info.height) args.push("-vf", `scale=${W}:${H}:flags=area`);
  args.push("-f", "rawvideo", "-pix_fmt", C === 1 ? "gray" : "rgb24", "-");
  const r = spawnSync(ffmpegPath(), args, { maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`video: cannot run ffmpeg on ${path} (${r.error.message})`);
  if (r.status !== 0) throw new Error(`video: ffmpeg cannot decode ${path}: ${ffmpegComplaint(r.stderr.toString())}`);
  const bytes = r.stdout as Buffer, frameBytes = W * H * C;
  const T = Math.floor(bytes.length / frameBytes);
  if (T === 0) throw new Error(`video: ${path} has no decodable frames`);
  // rawvideo is [T, H, W, C] bytes; the models want [T, C, H, W]
  const out = new Float32Array(T * C * H * W);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      const o = (t * C + c) * H * W, s = t * frameBytes + c;
      for (let i = 0; i < H * W; i++) out[o + i] = bytes[s + i * C] / 255;
    }
  }
  return { frames: new Tensor(out, [T, C, H, W]), info };
}

/**
 * Uniform frame sampling: n indices spread evenly over total frames (the centre of each of n
 * equal segments). When the clip has fewer frames than n, frames repeat.
 */
export function sampleFrameIndices(total: number, n: number): number[] {
  if (!(Number.isInteger(total) && total >= 1)) throw new RangeError(`sampleFrameIndices: total must be a positive integer, got ${total}`);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`sampleFrameIndices: n must be a positive integer, got ${n}`);
  return Array.from({ length: n }, (_, i) => Math.min(total - 1, Math.floor(((i + 0.5) * total) / n)));
}

export interface ClipOptions {
  /** Frames the model takes. */
  numFrames: number;
  /** Frames are resized to imageSize x imageSize (omit to keep the file's size). */
  imageSize?: number;
  /** 1 (grey) or 3 (RGB). */
  numChannels: number;
  /** The model's tubelet depth (1 for frame-based models): a file with fewer frames is refused. */
  tubeletDepth?: number;
  /** The model's patch size: frames that do not divide into patches are refused. */
  patchSize?: number;
}

/** A file as one model input [1, numFrames, C, S, S], by uniform frame sampling. */
export function loadVideoClip(path: string, options: ClipOptions): Tensor {
  if (options.numChannels !== 1 && options.numChannels !== 3) throw new RangeError(`video: numChannels must be 1 or 3, got ${options.numChannels}`);
  const { frames } = decodeVideo(path, { size: options.imageSize, gray: options.numChannels === 1 });
  const [T, C, H, W] = frames.shape;
  const depth = options.tubeletDepth ?? 1;
  if (T < depth) throw new RangeError(`video: ${path} has ${T} frame${T === 1 ? "" : "s"}, fewer than the tubelet depth ${depth}`);
  const P = options.patchSize;
  if (P !== undefined && (H % P !== 0 || W % P !== 0)) {
    throw new RangeError(`video: ${path} has frames of ${W}x${H}, which do not divide into ${P}x${P} patches`);
  }
  const idx = sampleFrameIndices(T, options.numFrames), per = C * H * W;
  const out = new Float32Array(options.numFrames * per);
  idx.forEach((t, i) => out.set((frames.data as Float32Array).subarray(t * per, (t + 1) * per), i * per));
  return new Tensor(out, [1, options.numFrames, C, H, W]);
}

/**
 * Write frames [T, C, H, W] in [0, 1] (C = 1 or 3) to a video file whose extension picks the
 * container (.mp4 H.264, .webm VP9, .avi MPEG-4, .gif): for examples and tests.
 */
export function encodeVideo(path: string, frames: Tensor, fps = 10): void {
  if (frames.ndim !== 4 || (frames.shape[1] !== 1 && frames.shape[1] !== 3)) {
    throw new RangeError(`encodeVideo: frames must be [T, 1|3, H, W], got [${frames.shape.join(", ")}]`);
  }
  const [T, C, H, W] = frames.shape;
  const raw = Buffer.alloc(T * H * W * C);
  const d = frames.data;
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) {
    raw[(t * H * W + i) * C + c] = Math.max(0, Math.min(255, Math.round(d[(t * C + c) * H * W + i] * 255)));
  }
  const ext = path.split(".").pop()?.toLowerCase();
  const codec: Record<string, string[]> = {
    mp4: ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "10"],
    webm: ["-c:v", "libvpx-vp9", "-lossless", "1"],
    avi: ["-c:v", "mpeg4", "-q:v", "2"],
    // a palette made for these frames (the default GIF palette is a fixed 3-3-2 bits)
    gif: ["-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse"],
  };
  if (!ext || !(ext in codec)) throw new RangeError(`encodeVideo: ${path}: extension must be .mp4, .webm, .avi or .gif`);
  // H.264 in yuv420p needs even sizes
  // written under a temporary name, then renamed: a failed write never leaves half a file
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}.${ext}`);
  const args = ["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", C === 1 ? "gray" : "rgb24", "-s", `${W}x${H}`, "-r", String(fps), "-i", "-", ...codec[ext], tmp];
  const r = spawnSync(ffmpegPath(), args, { input: raw, maxBuffer: 1 << 26 });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`encodeVideo: ffmpeg cannot write ${path}: ${r.error ? r.error.message : ffmpegComplaint(r.stderr.toString())}`);
  }
  renameSync(tmp, path);
}
