// Word-level tokenization: words, numbers and single punctuation marks, the most frequent
// ones in a corpus as the vocabulary and <unk> for the rest. Whitespace is not kept: decode
// joins tokens with one space, so decode(encode(s)) gives s back when s is already written
// that way (tokens separated by single spaces) and every token is known.

import { checkId, type SpecialRole, type Tokenizer } from "./tokenizer.js";

const WORD = /\p{L}+(?:'\p{L}+)*|\p{N}+|[^\s\p{L}\p{N}]/gu;

export interface WordTokenizerOptions {
  lowercase?: boolean;
  /** Keep at most this many words (most frequent first, ties alphabetical); default all. */
  maxVocab?: number;
  /** Drop words seen fewer times; default 1. */
  minFrequency?: number;
}

export interface WordTokenizerJSON {
  type: "word";
  lowercase: boolean;
  /** "<pad>", "<unk>", then the words. */
  tokens: string[];
}

export class WordTokenizer implements Tokenizer {
  readonly kind = "word";
  readonly specials = { pad: 0, unk: 1 } as Partial<Record<SpecialRole, number>>;
  private readonly index = new Map<string, number>();

  constructor(readonly tokens: readonly string[], readonly lowercase = false) {
    if (tokens[0] !== "<pad>" || tokens[1] !== "<unk>") throw new RangeError(`word tokenizer: the first tokens must be "<pad>", "<unk>"`);
    tokens.forEach((t, i) => {
      if (this.index.has(t)) throw new RangeError(`word tokenizer: token ${JSON.stringify(t)} appears twice`);
      this.index.set(t, i);
    });
  }

  /** Split text into words, numbers and punctuation marks. */
  static split(text: string, lowercase = false): string[] {
    return (lowercase ? text.toLowerCase() : text).match(WORD) ?? [];
  }

  static fromText(text: string, options: WordTokenizerOptions = {}): WordTokenizer {
    const lower = options.lowercase ?? false;
    const counts = new Map<string, number>();
    for (const w of WordTokenizer.split(text, lower)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts].filter(([, n]) => n >= (options.minFrequency ?? 1))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, options.maxVocab ?? Infinity).map(([w]) => w);
    return new WordTokenizer(["<pad>", "<unk>", ...words], lower);
  }

  static fromJSON(j: WordTokenizerJSON): WordTokenizer {
    if (j.type !== "word" || !Array.isArray(j.tokens)) throw new TypeError(`word tokenizer: expected {type: "word", tokens: [...]}`);
    return new WordTokenizer(j.tokens, j.lowercase);
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  encode(text: string): number[] {
    return WordTokenizer.split(text, this.lowercase).map((w) => this.index.get(w) ?? 1);
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const out: string[] = [];
    for (const id of ids) {
      checkId("word", id, this.vocabSize);
      if (skip && id === 0) continue;
      out.push(this.tokens[id]);
    }
    return out.join(" ");
  }

  tokenToId(token: string): number | undefined {
    return this.index.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  toJSON(): WordTokenizerJSON {
    return { type: "word", lowercase: this.lowercase, tokens: [...this.tokens] };
  }
}
