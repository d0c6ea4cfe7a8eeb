// Atomic file writes: write a temporary file beside the target, fsync it, rename it over the
// target, then fsync the directory so the rename itself is on disk. A process killed at any
// moment leaves either the old file or the new one, never a mix (POSIX rename is atomic).

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

let counter = 0;

/** A temporary name beside `path`, unique to this process and call. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${counter++}`;
}

/** fsync a directory so that renames and new entries in it survive a power loss. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (e) {
    // Some file systems refuse fsync on a directory (EINVAL, EISDIR on others): nothing more to do there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM") throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write all of `bytes` at the file descriptor's current position. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Write a file atomically. `data` is the whole content, or a function that writes it through
 * `write` chunk by chunk (so a large file never needs one buffer the size of the file).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | ((write: (chunk: Uint8Array) => void) => void)): void {
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, "w");
  try {
    const write = (chunk: Uint8Array) => writeAll(fd, chunk);
    if (typeof data === "function") data(write);
    else write(typeof data === "string" ? new TextEncoder().encode(data) : data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}
