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
  // a pair (a, b) packs into one integer a * SHIFT + b; below 2^30 it is a small integer, which
  // Maps hash much faster than doubles, so the smaller shift is used whenever the symbols fit
  const SHIFT = symbols.length + numMerges < 2 ** 15 ? 2 ** 15 : 2 ** 21;
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

  // a lazy max-heap of [count, pair]: stale entries (the count changed since) are skipped when popped
  const heap: [number, number][] = [];
  const before = (x: [number, number], y: [number, number]): boolean => x[0] > y[0] || (x[0] === y[0] && x[1] < y[1]);
  const push = (e: [number, number]): void => {
    heap.push(e);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!before(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = (): [number, number] | undefined => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  for (const [key, n] of pairCount) push([n, key]);
  const touched = new Set<number>();

  const merges: [string, string][] = [];
  while (merges.length < numMerges) {
    // the most frequent pair; ties go to the smaller (earlier-created) symbols, for determinism
    let best = -1, bestCount = 0;
    for (let e = pop(); e; e = pop()) {
      if (pairCount.get(e[1]) === e[0]) {
        [bestCount, best] = e;
        break;
      }
    }
    if (best < 0 || bestCount < minFrequency) break;
    const a = Math.floor(best / SHIFT), b = best % SHIFT;
    const z = intern(join(symbols[a], symbols[b]));
    if (symbols.length >= SHIFT) throw new RangeError("learnMerges: too many symbols");
    merges.push([symbols[a], symbols[b]]);
    touched.clear();
    for (const wi of where.get(best) ?? []) {
      const s = seqs[wi];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) { has = true; break; }
      if (!has) continue;
      for (let i = 0; i + 1 < s.length; i++) touched.add(s[i] * SHIFT + s[i + 1]);
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
      for (let i = 0; i + 1 < next.length; i++) touched.add(next[i] * SHIFT + next[i + 1]);
    }
    pairCount.delete(best);
    where.delete(best);
    touched.delete(best);
    for (const key of touched) {
      const n = pairCount.get(key);
      if (n === undefined) continue;
      if (n <= 0) pairCount.delete(key);
      else push([n, key]);
    }
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
