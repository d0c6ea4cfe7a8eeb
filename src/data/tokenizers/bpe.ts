// Byte-level BPE (GPT-2, Radford et al. 2019, §2.2): BPE over the UTF-8 bytes of the text, so
// every string is encodable and nothing is ever unknown. Bytes are shown as printable
// characters (GPT-2's bytes_to_unicode: a space is "Ġ"), text is first split by GPT-2's
// pattern so merges never cross a word, a number or a punctuation run, and the merges are
// learned on a corpus (merges.ts). toJSON writes Hugging Face's tokenizer.json (GPT-2's
// layout), which @huggingface/tokenizers and Python's `tokenizers` read.

import { applyMerges, learnMerges } from "./merges.js";
import { checkId, splitOnSpecials, type SpecialRole, type Tokenizer } from "./tokenizer.js";

/** GPT-2's pre-tokenization pattern (contractions, words, numbers, punctuation, spaces). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to 256+. */
export function bytesToUnicode(): string[] {
  const table = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return table;
}

const BYTE_TO_CHAR = bytesToUnicode();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
const utf8 = new TextEncoder();

function toByteChars(s: string): string[] {
  return Array.from(utf8.encode(s), (b) => BYTE_TO_CHAR[b]);
}

export interface BPETrainOptions {
  /** Target vocabulary size: 256 bytes + special tokens + merges. */
  vocabSize: number;
  /** Special tokens, given the first ids (e.g. ["<|endoftext|>"]). */
  specialTokens?: string[];
  /** A pair must occur at least this often to be merged; default 2. */
  minFrequency?: number;
}

const joinPlain = (a: string, b: string): string => a + b;

export class ByteLevelBPE implements Tokenizer {
  readonly kind = "bpe";
  readonly specials: Partial<Record<SpecialRole, number>> = {};
  private readonly vocab: Map<string, number>;
  private readonly byId: string[];
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();

  /**
   * vocab: token (in byte characters) -> id; merges in rank order; specialTokens: added tokens
   * that are matched whole in the text (their roles guessed: <|endoftext|> is bos and eos).
   */
  constructor(vocab: Record<string, number>, readonly merges: readonly [string, string][], readonly specialTokens: readonly string[] = []) {
    this.vocab = new Map(Object.entries(vocab));
    this.byId = [];
    for (const [t, i] of this.vocab) {
      if (this.byId[i] !== undefined) throw new RangeError(`BPE tokenizer: id ${i} is given to both ${JSON.stringify(this.byId[i])} and ${JSON.stringify(t)}`);
      this.byId[i] = t;
    }
    for (let i = 0; i < this.byId.length; i++) if (this.byId[i] === undefined) throw new RangeError(`BPE tokenizer: no token has id ${i}`);
    for (const b of BYTE_TO_CHAR) if (!this.vocab.has(b)) throw new RangeError(`BPE tokenizer: byte token ${JSON.stringify(b)} is missing from the vocabulary`);
    this.ranks = new Map(merges.map(([a, b], r) => [a + " " + b, r]));
    for (const s of specialTokens) {
      const id = this.vocab.get(s);
      if (id === undefined) throw new RangeError(`BPE tokenizer: special token ${JSON.stringify(s)} is not in the vocabulary`);
      if (s === "<|endoftext|>") this.specials.bos = this.specials.eos = id;
      if (s === "<pad>") this.specials.pad = id;
      if (s === "<mask>") this.specials.mask = id;
    }
  }

  /** Learn merges on texts until the vocabulary has vocabSize tokens (or no pair repeats). */
  static train(texts: Iterable<string>, options: BPETrainOptions): ByteLevelBPE {
    const specials = options.specialTokens ?? [];
    const numMerges = options.vocabSize - 256 - specials.length;
    if (numMerges < 0) throw new RangeError(`BPE: vocabSize ${options.vocabSize} is below the 256 bytes + ${specials.length} special tokens`);
    const counts = new Map<string, number>();
    for (const text of texts) {
      for (const part of splitOnSpecials(text, specials)) {
        if (part.special) continue;
        for (const m of part.text.match(GPT2_PATTERN) ?? []) counts.set(m, (counts.get(m) ?? 0) + 1);
      }
    }
    const words = [...counts].map(([w, count]) => ({ symbols: toByteChars(w), count }));
    const { merges, symbols } = learnMerges(words, numMerges, joinPlain, options.minFrequency ?? 2, BYTE_TO_CHAR);
    // ids: special tokens, then the 256 bytes in byte order (as GPT-2), then merged symbols in merge order
    const vocab: Record<string, number> = {};
    let id = 0;
    for (const s of specials) vocab[s] = id++;
    for (const b of BYTE_TO_CHAR) vocab[b] = id++;
    for (const s of symbols) if (!(s in vocab)) vocab[s] = id++;
    return new ByteLevelBPE(vocab, merges, specials);
  }

  /** From a Hugging Face tokenizer.json with a byte-level BPE model (GPT-2's layout). */
  static fromJSON(j: any): ByteLevelBPE {
    if (j?.model?.type !== "BPE" || typeof j.model.vocab !== "object" || !Array.isArray(j.model.merges)) {
      throw new TypeError(`BPE tokenizer: expected a tokenizer.json with model.type "BPE", model.vocab and model.merges`);
    }
    const merges = (j.model.merges as (string | [string, string])[]).map((m, i): [string, string] => {
      const pair = typeof m === "string" ? m.split(" ") : m;
      if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`BPE tokenizer: merge ${i} (${JSON.stringify(m)}) is not a pair`);
      return [pair[0], pair[1]];
    });
    const specials = ((j.added_tokens ?? []) as { content: string; special?: boolean }[]).filter((t) => t.special).map((t) => t.content);
    return new ByteLevelBPE(j.model.vocab, merges, specials);
  }

  get vocabSize(): number {
    return this.byId.length;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const part of splitOnSpecials(text, this.specialTokens)) {
      if (part.special) {
        out.push(this.vocab.get(part.text)!);
        continue;
      }
      for (const word of part.text.match(GPT2_PATTERN) ?? []) {
        let ids = this.cache.get(word);
        if (!ids) {
          ids = applyMerges(toByteChars(word), this.ranks, joinPlain).map((t) => this.vocab.get(t)!);
          if (this.cache.size < 100_000) this.cache.set(word, ids);
        }
        out.push(...ids);
      }
    }
    return out;
  }

  /** Bytes back to text; a cut inside a multi-byte character decodes as U+FFFD. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const special = new Set(this.specialTokens);
    let s = "";
    const bytes: number[] = [];
    const flush = (): void => {
      s += new TextDecoder().decode(Uint8Array.from(bytes));
      bytes.length = 0;
    };
    for (const id of ids) {
      checkId("BPE", id, this.vocabSize);
      const t = this.byId[id];
      if (special.has(t)) {
        flush();
        if (!skip) s += t;
        continue;
      }
      for (const ch of t) bytes.push(CHAR_TO_BYTE.get(ch)!);
    }
    flush();
    return s;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.byId[id];
  }

  /** Hugging Face's tokenizer.json, laid out as GPT-2's. */
  toJSON(): unknown {
    const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.specialTokens.map((s) => ({
        id: this.vocab.get(s), content: s, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true,
      })),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: {
        type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
        fuse_unk: false, byte_fallback: false,
        vocab: Object.fromEntries(this.byId.map((t, i) => [t, i])),
        merges: this.merges.map(([a, b]) => `${a} ${b}`),
      },
    };
  }
}
