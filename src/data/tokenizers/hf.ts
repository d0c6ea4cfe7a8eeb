// Hugging Face tokenizer.json files (GPT-2's byte-level BPE, BERT's WordPiece, and the other
// layouts the library knows), read by @huggingface/tokenizers, the maintained pure-JS port of
// Hugging Face's tokenizers. Nothing is downloaded: the file comes from disk.

import { Tokenizer as HFLibTokenizer } from "@huggingface/tokenizers";
import { checkId, type SpecialRole, type Tokenizer } from "./tokenizer.js";

const ROLE_OF: Record<string, SpecialRole> = {
  "[PAD]": "pad", "<pad>": "pad", "[UNK]": "unk", "<unk>": "unk", "[CLS]": "cls", "<s>": "bos", "[SEP]": "sep", "</s>": "eos",
  "[MASK]": "mask", "<mask>": "mask",
};

export class HFTokenizer implements Tokenizer {
  readonly kind = "hf";
  readonly specials: Partial<Record<SpecialRole, number>> = {};
  private readonly lib: HFLibTokenizer;
  readonly vocabSize: number;

  /** json: a parsed tokenizer.json; config: its tokenizer_config.json if any; source names it in errors. */
  constructor(readonly json: any, readonly config: Record<string, unknown> = {}, readonly source = "tokenizer.json") {
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new TypeError(`${source}: not a tokenizer.json (expected a JSON object)`);
    if (typeof json.model !== "object" || json.model === null || typeof json.model.type !== "string") {
      throw new TypeError(`${source}: not a Hugging Face tokenizer.json (no "model" section with a "type")`);
    }
    try {
      this.lib = new HFLibTokenizer(json, config);
    } catch (e) {
      throw new TypeError(`${source}: @huggingface/tokenizers cannot read this ${json.model.type} tokenizer: ${(e as Error).message}`);
    }
    let n = 0;
    const vocab = json.model.vocab;
    if (Array.isArray(vocab)) n = vocab.length; // Unigram: [[piece, score], ...]
    else if (vocab && typeof vocab === "object") for (const id of Object.values(vocab) as number[]) n = Math.max(n, id + 1);
    for (const t of (json.added_tokens ?? []) as { id: number; content: string }[]) {
      n = Math.max(n, t.id + 1);
      const role = t.content === "<|endoftext|>" ? null : ROLE_OF[t.content];
      if (role) this.specials[role] = t.id;
      if (t.content === "<|endoftext|>") this.specials.bos = this.specials.eos = t.id;
    }
    this.vocabSize = n;
  }

  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.lib.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    for (const id of ids) checkId("Hugging Face", id, this.vocabSize);
    return this.lib.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? true });
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.lib.id_to_token(id);
  }

  toJSON(): unknown {
    return this.json;
  }
}
