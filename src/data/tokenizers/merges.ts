// Learning merges (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
// Subword Units", Algorithm 1): start from single symbols, repeatedly join the most frequent
// adjacent pair everywhere, and record the join. Byte-level BPE and WordPiece both train
// this way (Hugging Face's WordPiece trainer is this trainer with a "##" prefix).
//
// Counts are kept per pair and updated only in the words that contain the merged pair, so a
// merge costs the words it touches, not the corpus.

export interface MergeResult {
  /** The learned merges in order, as pairs of symbol strings. */
  merges: [string, string][];
  /** Every symbol: the initial alphabet (sorted), then one new symbol per merge. */
  symbols: string[];
}

/**
 * words: each distinct pre-token as its initial symbol sequence, with its count.
 * join(a, b) names the merged symbol (plain concatenation for BPE; WordPiece drops the
 * second symbol's "##"). Stops after numMerges merges or when no pair occurs minFrequency times.
 */
export function learnMerges(words: { symbols: string[]; count: number }[], numMerges: number,
  join: (a: string, b: string) => string, minFrequency = 2, initialAlphabet: string[] = []): MergeResult {
  const symbols: string[] = [];
  const ids = new Map<string, number>();
  const intern = (s: string): number => {
    let i = ids.get(s);
    if (i === undefined) {
      i = symbols.length;
      ids.set(s, i);
      symbols.push(s);
    }
    return i;
  };
  const alphabet = new Set(initialAlphabet);
  for (const w of words) for (const s of w.symbols) alphabet.add(s);
  for (const s of [...alphabet].sort()) intern(s);

  const seqs = words.map((w) => w.symbols.map((s) => ids.get(s)!));
  const counts = words.map((w) => w.count);
  const SHIFT = 2 ** 21; // symbol ids stay below 2^21, so a pair packs into one safe integer
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number): void => {
    const s = seqs[wi];
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i] * SHIFT + s[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * counts[wi]);
      if (sign > 0) {
        let set = where.get(key);
        if (!set) where.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < seqs.length; wi++) addPairs(wi, 1);

  const merges: [string, string][] = [];
  while (merges.length < numMerges) {
    // the most frequent pair; ties go to the smaller (earlier-created) symbols, for determinism
    let best = -1, bestCount = 0;
    for (const [key, n] of pairCount) {
      if (n > bestCount || (n === bestCount && n > 0 && key < best)) {
        best = key;
        bestCount = n;
      }
    }
    if (best < 0 || bestCount < minFrequency) break;
    const a = Math.floor(best / SHIFT), b = best % SHIFT;
    const z = intern(join(symbols[a], symbols[b]));
    if (symbols.length >= SHIFT) throw new RangeError("learnMerges: too many symbols");
    merges.push([symbols[a], symbols[b]]);
    for (const wi of where.get(best) ?? []) {
      const s = seqs[wi];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) { has = true; break; }
      if (!has) continue;
      addPairs(wi, -1);
      const next: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          next.push(z);
          i++;
        } else next.push(s[i]);
      }
      seqs[wi] = next;
      addPairs(wi, 1);
    }
    pairCount.delete(best);
    where.delete(best);
  }
  return { merges, symbols };
}

/** Apply ranked merges to one pre-token: join the best-ranked adjacent pair until none applies. */
export function applyMerges(symbols: string[], ranks: Map<string, number>, join: (a: string, b: string) => string): string[] {
  let s = symbols;
  while (s.length > 1) {
    let bestRank = Infinity, bestI = -1;
    for (let i = 0; i + 1 < s.length; i++) {
      const r = ranks.get(s[i] + " " + s[i + 1]);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        bestI = i;
      }
    }
    if (bestI < 0) break;
    const a = s[bestI], b = s[bestI + 1];
    const next: string[] = [];
    for (let i = 0; i < s.length; i++) {
      if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
        next.push(join(a, b));
        i++;
      } else next.push(s[i]);
    }
    s = next;
  }
  return s;
}
