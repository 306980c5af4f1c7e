// Independent GGUF reader for the AdaRas tests: parses a GGUF file with @huggingface/gguf and prints its
// header, metadata (with value types) and tensor infos as JSON; float32 tensors also get their values,
// read from the file at tensor_data_offset + offset.
// Usage: node check.mjs <file.gguf>
import { gguf, GGUFValueType, GGMLQuantizationType } from "@huggingface/gguf";
import { openSync, readSync, closeSync } from "node:fs";
import { resolve } from "node:path";

const file = process.argv[2];
if (!file) {
  console.error("usage: node check.mjs <file.gguf>");
  process.exit(2);
}
const path = resolve(file);
const { typedMetadata, tensorInfos, tensorDataOffset, littleEndian } =
  await gguf(path, { allowLocalFile: true, typedMetadata: true });

const plain = (v) => (typeof v === "bigint" ? Number(v) : Array.isArray(v) ? v.map(plain) : v);
const header = ["version", "tensor_count", "kv_count"];
const metadata = {};
for (const [key, entry] of Object.entries(typedMetadata)) {
  if (header.includes(key)) continue;
  metadata[key] = { type: GGUFValueType[entry.type], value: plain(entry.value) };
}

const fd = openSync(path, "r");
const tensors = tensorInfos.map((t) => {
  const shape = t.shape.map(Number);
  const info = { name: t.name, dtype: GGMLQuantizationType[t.dtype], shape, offset: Number(t.offset) };
  if (t.dtype === GGMLQuantizationType.F32) {
    const count = shape.reduce((a, b) => a * b, 1);
    const bytes = Buffer.alloc(count * 4);
    readSync(fd, bytes, 0, bytes.length, Number(tensorDataOffset + t.offset));
    info.data = Array.from({ length: count }, (_, i) => bytes.readFloatLE(i * 4));
  }
  return info;
});
closeSync(fd);

console.log(JSON.stringify({
  version: plain(typedMetadata.version.value),
  tensor_count: plain(typedMetadata.tensor_count.value),
  kv_count: plain(typedMetadata.kv_count.value),
  little_endian: littleEndian,
  tensor_data_offset: Number(tensorDataOffset),
  metadata,
  tensors,
}));
