// Reads a JSON array of strings on stdin and prints their Unicode NFC forms (Node's ICU), as a JSON array.
// An independent reference for the tokenizer tests' round trip: decode(encode(s)) must equal NFC(s).
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const texts = JSON.parse(Buffer.concat(chunks).toString("utf8"));
if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string")) {
  console.error("nfc.mjs: stdin must be a JSON array of strings");
  process.exit(2);
}
process.stdout.write(JSON.stringify(texts.map((t) => t.normalize("NFC"))) + "\n");
