// What every tokenizer offers: text -> ids -> text, the vocabulary both ways, the special
// tokens by role, and a JSON form to save beside a model.

export type SpecialRole = "pad" | "unk" | "bos" | "eos" | "cls" | "sep" | "mask";

export interface EncodeOptions {
  /** Add the tokenizer's template ([CLS] ... [SEP] for BERT); default true, a no-op for those without one. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens ([CLS], [PAD], <|endoftext|>...); default true. */
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** "char", "word", "bpe", "wordpiece" or "hf" (a tokenizer.json read by @huggingface/tokenizers). */
  readonly kind: string;
  readonly vocabSize: number;
  /** Ids of the special tokens this tokenizer has, by role. */
  readonly specials: Partial<Record<SpecialRole, number>>;
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids outside the vocabulary are an error naming the id. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** A JSON-serialisable form that loadTokenizer / tokenizerFromJSON reads back. */
  toJSON(): unknown;
}

/** The error for an id that no token has. */
export function checkId(kind: string, id: number, vocabSize: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new RangeError(`${kind} tokenizer: id ${id} is outside the vocabulary of ${vocabSize} tokens`);
  }
}

/** Split text around special-token strings so they are matched whole, never merged into words. */
export function splitOnSpecials(text: string, specials: readonly string[]): { text: string; special: boolean }[] {
  if (specials.length === 0) return [{ text, special: false }];
  const escaped = [...specials].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp(`(${escaped.join("|")})`, "g");
  const set = new Set(specials);
  return text.split(re).filter((p) => p.length > 0).map((p) => ({ text: p, special: set.has(p) }));
}
