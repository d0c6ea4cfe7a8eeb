// Character-level tokenization: one id per Unicode code point, the vocabulary being the
// distinct characters of a corpus (Karpathy's char-rnn, and the char GPT of docs/TEXT.md).

import { checkId, splitOnSpecials, type SpecialRole, type Tokenizer } from "./tokenizer.js";

export interface CharTokenizerJSON {
  type: "char";
  /** Special token strings first (their ids are their positions), then the characters. */
  tokens: string[];
  specials: Partial<Record<SpecialRole, string>>;
}

export class CharTokenizer implements Tokenizer {
  readonly kind = "char";
  readonly specials: Partial<Record<SpecialRole, number>> = {};
  private readonly index = new Map<string, number>();
  private readonly specialStrings: string[];

  /** tokens: every token by id; specials name which of them play a role (e.g. unk: "<unk>"). */
  constructor(readonly tokens: readonly string[], readonly specialNames: Partial<Record<SpecialRole, string>> = {}) {
    tokens.forEach((t, i) => {
      if (this.index.has(t)) throw new RangeError(`char tokenizer: token ${JSON.stringify(t)} appears twice`);
      this.index.set(t, i);
    });
    for (const [role, s] of Object.entries(specialNames)) {
      const id = this.index.get(s!);
      if (id === undefined) throw new RangeError(`char tokenizer: special ${role} = ${JSON.stringify(s)} is not a token`);
      this.specials[role as SpecialRole] = id;
    }
    this.specialStrings = Object.values(specialNames) as string[];
  }

  /** The sorted distinct characters of a text, after the given special tokens. */
  static fromText(text: string, specials: Partial<Record<SpecialRole, string>> = {}): CharTokenizer {
    const chars = [...new Set(Array.from(text))].sort();
    const sp = [...new Set(Object.values(specials) as string[])];
    return new CharTokenizer([...sp, ...chars.filter((c) => !sp.includes(c))], specials);
  }

  static fromJSON(j: CharTokenizerJSON): CharTokenizer {
    if (j.type !== "char" || !Array.isArray(j.tokens)) throw new TypeError(`char tokenizer: expected {type: "char", tokens: [...]}`);
    return new CharTokenizer(j.tokens, j.specials ?? {});
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  /** A character outside the vocabulary becomes unk if there is one, else an error naming it. */
  encode(text: string): number[] {
    const out: number[] = [];
    let pos = 0;
    for (const part of splitOnSpecials(text, this.specialStrings)) {
      if (part.special) {
        out.push(this.index.get(part.text)!);
        pos += part.text.length;
        continue;
      }
      for (const ch of part.text) {
        const id = this.index.get(ch) ?? this.specials.unk;
        if (id === undefined) {
          throw new RangeError(`char tokenizer: character ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}) at offset ${pos} is not in the vocabulary and there is no unk token`);
        }
        out.push(id);
        pos += ch.length;
      }
    }
    return out;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const specialIds = new Set(Object.values(this.specials));
    let s = "";
    for (const id of ids) {
      checkId("char", id, this.vocabSize);
      if (skip && specialIds.has(id)) continue;
      s += this.tokens[id];
    }
    return s;
  }

  tokenToId(token: string): number | undefined {
    return this.index.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  toJSON(): CharTokenizerJSON {
    return { type: "char", tokens: [...this.tokens], specials: { ...this.specialNames } };
  }
}
