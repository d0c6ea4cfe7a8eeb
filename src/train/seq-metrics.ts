// Sequence metrics for transduction tasks (grapheme-to-phoneme, copy): edit distance,
// word error rate and phoneme (token) error rate, the numbers G2P papers report.
//
//   WER = words whose predicted sequence is not exactly the reference / words
//   PER = sum of Levenshtein distances / sum of reference lengths
//
// With several references per word (CMUdict's alternate pronunciations), the usual G2P
// protocol (Yao & Zweig 2015, section 4) counts a word right when it matches any of them and
// takes the PER against the closest one: sequenceErrorRatesAnyReference.

/** Levenshtein distance (unit-cost insertions, deletions, substitutions) between two sequences. */
export function editDistance<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  const n = a.length, m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  let prev = new Int32Array(m + 1), cur = new Int32Array(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    const ai = a[i - 1];
    for (let j = 1; j <= m; j++) {
      const sub = prev[j - 1] + (ai === b[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[m];
}

export interface SequenceErrorRates {
  /** Fraction of sequences not exactly right. */
  wer: number;
  /** Total edit distance / total reference tokens. */
  per: number;
  /** Fraction exactly right (1 - wer). */
  exactMatch: number;
  words: number;
  referenceTokens: number;
  edits: number;
}

/** WER and PER of predictions against references (same count, in the same order). */
export function sequenceErrorRates<T>(predictions: readonly ArrayLike<T>[], references: readonly ArrayLike<T>[]): SequenceErrorRates {
  if (predictions.length !== references.length) {
    throw new RangeError(`sequenceErrorRates: ${predictions.length} predictions but ${references.length} references`);
  }
  let wrong = 0, edits = 0, refTokens = 0;
  for (let i = 0; i < references.length; i++) {
    const d = editDistance(predictions[i], references[i]);
    if (d > 0) wrong++;
    edits += d;
    refTokens += references[i].length;
  }
  const n = references.length;
  const wer = n === 0 ? 0 : wrong / n;
  return { wer, per: refTokens === 0 ? 0 : edits / refTokens, exactMatch: n === 0 ? 0 : 1 - wer, words: n, referenceTokens: refTokens, edits };
}

/**
 * WER and PER against several references per sequence: a prediction is right when it equals
 * any reference; its edits (and reference length) are those of the closest one, the first on ties.
 */
export function sequenceErrorRatesAnyReference<T>(predictions: readonly ArrayLike<T>[], references: readonly (readonly ArrayLike<T>[])[]): SequenceErrorRates {
  if (predictions.length !== references.length) {
    throw new RangeError(`sequenceErrorRatesAnyReference: ${predictions.length} predictions but ${references.length} reference sets`);
  }
  const closest = references.map((refs, i) => {
    if (refs.length === 0) throw new RangeError(`sequenceErrorRatesAnyReference: sequence ${i} has no reference`);
    let best = refs[0], bestD = editDistance(predictions[i], refs[0]);
    for (let r = 1; r < refs.length && bestD > 0; r++) {
      const d = editDistance(predictions[i], refs[r]);
      if (d < bestD) [best, bestD] = [refs[r], d];
    }
    return best;
  });
  return sequenceErrorRates(predictions, closest);
}
