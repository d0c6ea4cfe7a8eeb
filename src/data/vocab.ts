// A small symbol vocabulary for sequence tasks (characters, phonemes, digits): fixed special
// ids pad = 0, bos = 1, eos = 2, unk = 3, then the symbols in the order given.

export const PAD = 0, BOS = 1, EOS = 2, UNK = 3;
const SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"];

export class Vocabulary {
  readonly pad = PAD;
  readonly bos = BOS;
  readonly eos = EOS;
  readonly unk = UNK;
  /** Every symbol by id, the four specials first. */
  readonly symbols: readonly string[];
  private readonly index: Map<string, number>;

  /** From the real symbols (duplicates and specials are refused: the ids are a contract). */
  constructor(symbols: readonly string[]) {
    const all = [...SPECIALS, ...symbols];
    this.index = new Map();
    all.forEach((s, i) => {
      if (this.index.has(s)) throw new RangeError(`Vocabulary: symbol ${JSON.stringify(s)} appears twice`);
      this.index.set(s, i);
    });
    this.symbols = all;
  }

  /** The sorted distinct symbols of some sequences. */
  static fromSequences(seqs: Iterable<Iterable<string>>): Vocabulary {
    const set = new Set<string>();
    for (const s of seqs) for (const x of s) set.add(x);
    return new Vocabulary([...set].sort());
  }

  get size(): number {
    return this.symbols.length;
  }

  /** The real symbols (without the specials), enough to rebuild this vocabulary. */
  toJSON(): string[] {
    return this.symbols.slice(SPECIALS.length);
  }

  has(symbol: string): boolean {
    return this.index.has(symbol);
  }

  id(symbol: string): number {
    return this.index.get(symbol) ?? UNK;
  }

  /** Symbols to ids (unknown symbols become unk); add bos/eos if asked. */
  encode(symbols: Iterable<string>, options: { bos?: boolean; eos?: boolean } = {}): number[] {
    const out = options.bos ? [BOS] : [];
    for (const s of symbols) out.push(this.id(s));
    if (options.eos) out.push(EOS);
    return out;
  }

  /** Ids to symbols, dropping pad/bos and stopping at eos. */
  decode(ids: Iterable<number>): string[] {
    const out: string[] = [];
    for (const i of ids) {
      if (i === EOS) break;
      if (i === PAD || i === BOS) continue;
      if (!(i >= 0 && i < this.symbols.length)) throw new RangeError(`Vocabulary.decode: id ${i} is outside 0..${this.symbols.length - 1}`);
      out.push(this.symbols[i]);
    }
    return out;
  }
}
