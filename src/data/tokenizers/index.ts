// Tokenizers: character, word, byte-level BPE (trainable), WordPiece (trainable), and
// Hugging Face tokenizer.json files; loadTokenizer reads any of them back from disk.

import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { CharTokenizer } from "./char.js";
import { HFTokenizer } from "./hf.js";
import type { Tokenizer } from "./tokenizer.js";
import { WordTokenizer } from "./word.js";

export * from "./tokenizer.js";
export * from "./char.js";
export * from "./word.js";
export * from "./bpe.js";
export * from "./wordpiece.js";
export * from "./hf.js";
export { learnMerges, applyMerges } from "./merges.js";

/**
 * A tokenizer from its JSON form: tsformer's own char and word formats, or a Hugging Face
 * tokenizer.json (read by @huggingface/tokenizers; BPE and WordPiece trained here save as one).
 */
export function tokenizerFromJSON(json: unknown, source = "tokenizer", config: Record<string, unknown> = {}): Tokenizer {
  const j = json as any;
  if (j && typeof j === "object" && j.type === "char") return CharTokenizer.fromJSON(j);
  if (j && typeof j === "object" && j.type === "word") return WordTokenizer.fromJSON(j);
  return new HFTokenizer(j, config, source);
}

/** Read a tokenizer file (and a tokenizer_config.json beside it, if any); errors name the file. */
export function loadTokenizer(path: string): Tokenizer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`tokenizer file ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`tokenizer file ${path}: not valid JSON (${(e as Error).message})`);
  }
  const configPath = join(dirname(path), "tokenizer_config.json");
  let config: Record<string, unknown> = {};
  if (existsSync(configPath)) {
    try {
      config = JSON.parse(readFileSync(configPath, "utf8"));
    } catch (e) {
      throw new SyntaxError(`tokenizer config ${configPath}: not valid JSON (${(e as Error).message})`);
    }
  }
  return tokenizerFromJSON(json, path, config);
}
