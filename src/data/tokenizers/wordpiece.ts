// WordPiece (Schuster & Nakajima 2012; BERT, Devlin et al. 2019 §3 / Wu et al. 2016 §4.1):
// BERT's basic tokenizer (clean, lowercase and strip accents, split on whitespace and
// punctuation), then each word split greedily into the longest vocabulary pieces, a piece
// inside a word written with "##". The vocabulary is learned like BPE with "##" pieces (as
// Hugging Face's WordPiece trainer does). toJSON writes Hugging Face's tokenizer.json (BERT's
// layout, [CLS] text [SEP]), which @huggingface/tokenizers and Python's `tokenizers` read.

import { learnMerges } from "./merges.js";
import { checkId, type SpecialRole, type Tokenizer } from "./tokenizer.js";

export const BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

function isPunctuation(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  // BERT counts every non-letter/number ASCII symbol as punctuation ("$", "^", "`"), then Unicode P*
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return /\p{P}/u.test(ch);
}

function isCJK(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f)
    || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/** BERT's BasicTokenizer: the words and punctuation marks WordPiece then splits. */
export function bertPreTokenize(text: string, lowercase = true): string[] {
  let s = "";
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0 || c === 0xfffd) continue;
    if (/\s/u.test(ch)) s += " ";
    else if (/[\p{Cc}\p{Cf}]/u.test(ch)) continue;
    else if (isCJK(c)) s += ` ${ch} `;
    else s += ch;
  }
  if (lowercase) s = s.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
  const out: string[] = [];
  for (const word of s.split(" ")) {
    let cur = "";
    for (const ch of word) {
      if (isPunctuation(ch)) {
        if (cur) out.push(cur);
        out.push(ch);
        cur = "";
      } else cur += ch;
    }
    if (cur) out.push(cur);
  }
  return out;
}

export interface WordPieceTrainOptions {
  vocabSize: number;
  lowercase?: boolean;
  minFrequency?: number;
  /** Default BERT's [PAD] [UNK] [CLS] [SEP] [MASK], given ids 0-4. */
  specialTokens?: string[];
  /** Keep only the most frequent initial characters (rare ones become [UNK]); default 1000. */
  limitAlphabet?: number;
  /** Learn from words seen at least this often (default 1: all); 2 drops the long tail of one-off strings. */
  minWordFrequency?: number;
}

export class WordPiece implements Tokenizer {
  readonly kind = "wordpiece";
  readonly specials: Partial<Record<SpecialRole, number>> = {};
  private readonly vocab: Map<string, number>;
  private readonly byId: string[];
  private readonly specialSet: Set<string>;
  readonly maxInputCharsPerWord = 100;

  constructor(vocab: Record<string, number>, readonly lowercase = true, readonly unkToken = "[UNK]") {
    this.vocab = new Map(Object.entries(vocab));
    this.byId = [];
    for (const [t, i] of this.vocab) {
      if (this.byId[i] !== undefined) throw new RangeError(`WordPiece tokenizer: id ${i} is given to both ${JSON.stringify(this.byId[i])} and ${JSON.stringify(t)}`);
      this.byId[i] = t;
    }
    for (let i = 0; i < this.byId.length; i++) if (this.byId[i] === undefined) throw new RangeError(`WordPiece tokenizer: no token has id ${i}`);
    const roles: [SpecialRole, string][] = [["pad", "[PAD]"], ["unk", unkToken], ["cls", "[CLS]"], ["sep", "[SEP]"], ["mask", "[MASK]"]];
    for (const [role, s] of roles) {
      const id = this.vocab.get(s);
      if (id !== undefined) this.specials[role] = id;
    }
    if (this.specials.unk === undefined) throw new RangeError(`WordPiece tokenizer: the unknown token ${unkToken} is not in the vocabulary`);
    this.specialSet = new Set(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", unkToken].filter((s) => this.vocab.has(s)));
  }

  static train(texts: Iterable<string>, options: WordPieceTrainOptions): WordPiece {
    const lower = options.lowercase ?? true;
    const specials = options.specialTokens ?? [...BERT_SPECIALS];
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of bertPreTokenize(t, lower)) counts.set(w, (counts.get(w) ?? 0) + 1);
    // the alphabet: the most frequent characters (a word with another character becomes [UNK])
    const charCounts = new Map<string, number>();
    for (const [w, n] of counts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
    const alphabet = new Set([...charCounts].sort((a, b) => b[1] - a[1]).slice(0, options.limitAlphabet ?? 1000).map(([c]) => c));
    // words longer than maxInputCharsPerWord are [UNK] whatever the vocabulary, so they teach nothing
    const minWord = options.minWordFrequency ?? 1;
    const words = [...counts].filter(([w, n]) => n >= minWord && w.length <= 100 && [...w].every((ch) => alphabet.has(ch)))
      .map(([w, count]) => ({ symbols: [...w].map((ch, i) => (i === 0 ? ch : "##" + ch)), count }));
    const initial = [...alphabet].flatMap((c) => [c, "##" + c]);
    const numMerges = Math.max(0, options.vocabSize - specials.length - initial.length);
    const { symbols } = learnMerges(words, numMerges, (a, b) => a + b.slice(2), options.minFrequency ?? 2, initial);
    const vocab: Record<string, number> = {};
    let id = 0;
    for (const s of specials) vocab[s] = id++;
    for (const s of symbols) if (!(s in vocab)) vocab[s] = id++;
    return new WordPiece(vocab, lower);
  }

  /** From a Hugging Face tokenizer.json with a WordPiece model (BERT's layout). */
  static fromJSON(j: any): WordPiece {
    if (j?.model?.type !== "WordPiece" || typeof j.model.vocab !== "object") {
      throw new TypeError(`WordPiece tokenizer: expected a tokenizer.json with model.type "WordPiece" and model.vocab`);
    }
    return new WordPiece(j.model.vocab, j.normalizer?.lowercase ?? true, j.model.unk_token ?? "[UNK]");
  }

  get vocabSize(): number {
    return this.byId.length;
  }

  private readonly cache = new Map<string, number[]>();

  /** Greedy longest-match-first pieces of one word; [UNK] if some part matches nothing. */
  wordPieces(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    // code-point boundaries as string offsets, so pieces are plain slices
    const offs: number[] = [];
    for (let i = 0; i < word.length; i += word.codePointAt(i)! > 0xffff ? 2 : 1) offs.push(i);
    offs.push(word.length);
    const n = offs.length - 1;
    let out: number[] = [];
    if (n > this.maxInputCharsPerWord) out = [this.specials.unk!];
    else {
      let start = 0;
      while (start < n) {
        let end = n, found: number | undefined;
        for (; end > start; end--) {
          found = this.vocab.get((start > 0 ? "##" : "") + word.slice(offs[start], offs[end]));
          if (found !== undefined) break;
        }
        if (found === undefined) {
          out = [this.specials.unk!];
          break;
        }
        out.push(found);
        start = end;
      }
    }
    if (this.cache.size < 200_000) this.cache.set(word, out);
    return out;
  }

  /** [CLS] pieces [SEP] (without them if addSpecialTokens is false). Special token strings in the text are matched whole. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    const ids: number[] = [];
    for (const part of text.split(/(\[(?:PAD|UNK|CLS|SEP|MASK)\])/)) {
      if (this.specialSet.has(part)) ids.push(this.vocab.get(part)!);
      else for (const w of bertPreTokenize(part, this.lowercase)) ids.push(...this.wordPieces(w));
    }
    if (!(options.addSpecialTokens ?? true)) return ids;
    const { cls, sep } = this.specials;
    return [...(cls !== undefined ? [cls] : []), ...ids, ...(sep !== undefined ? [sep] : [])];
  }

  /** Pieces joined ("##" glued to the previous piece), with Hugging Face's clean-up of spaces before punctuation. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const toks: string[] = [];
    for (const id of ids) {
      checkId("WordPiece", id, this.vocabSize);
      const t = this.byId[id];
      if (skip && this.specialSet.has(t)) continue;
      toks.push(t);
    }
    let s = toks.map((t, i) => (t.startsWith("##") ? t.slice(2) : i > 0 ? " " + t : t)).join("");
    for (const [a, b] of [[" .", "."], [" ?", "?"], [" !", "!"], [" ,", ","], [" ' ", "'"], [" n't", "n't"], [" 'm", "'m"], [" 's", "'s"], [" 've", "'ve"], [" 're", "'re"]]) {
      s = s.split(a).join(b);
    }
    return s;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.byId[id];
  }

  /** Hugging Face's tokenizer.json, laid out as bert-base-uncased's. */
  toJSON(): unknown {
    const sp = (s: string) => ({ SpecialToken: { id: s, type_id: 0 } });
    const tok = (s: string) => ({ id: s, ids: [this.vocab.get(s)], tokens: [s] });
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [...this.specialSet].map((s) => ({
        id: this.vocab.get(s), content: s, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
      })),
      normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: this.lowercase },
      pre_tokenizer: { type: "BertPreTokenizer" },
      post_processor: {
        type: "TemplateProcessing",
        single: [sp("[CLS]"), { Sequence: { id: "A", type_id: 0 } }, sp("[SEP]")],
        pair: [sp("[CLS]"), { Sequence: { id: "A", type_id: 0 } }, sp("[SEP]"), { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: "[SEP]", type_id: 1 } }],
        special_tokens: { "[CLS]": tok("[CLS]"), "[SEP]": tok("[SEP]") },
      },
      decoder: { type: "WordPiece", prefix: "##", cleanup: true },
      model: {
        type: "WordPiece", unk_token: this.unkToken, continuing_subword_prefix: "##", max_input_chars_per_word: this.maxInputCharsPerWord,
        vocab: Object.fromEntries(this.byId.map((t, i) => [t, i])),
      },
    };
  }
}
