// Drives a running `adaras serve` with the official openai npm client and prints what came back as JSON.
// Usage: node client.mjs <base url, e.g. http://127.0.0.1:8000/v1> <api key> <model> <question>
import OpenAI from "openai";

const [baseURL, apiKey, model, question] = process.argv.slice(2);
if (!baseURL?.startsWith("http://127.0.0.1:")) throw new Error("this client only talks to a server on 127.0.0.1");
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });
const messages = [{ role: "user", content: question }];
const steering = { pattern: "tiny", neurons: 10, alpha: 2 };
const out = {};

// Chat, plain and steered (the extra body field is how OpenAI clients send fields the API does not define).
const plain = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0 });
out.plain = { content: plain.choices[0].message.content, reasoning: plain.choices[0].message.reasoning_content ?? "", finish: plain.choices[0].finish_reason };
const steered = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, steering });
out.steered = { content: steered.choices[0].message.content, reasoning: steered.choices[0].message.reasoning_content ?? "", steering: steered.steering };

// Streaming: concatenate the deltas.
const stream = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, steering, stream: true, stream_options: { include_usage: true } });
let content = "", reasoning = "", chunks = 0, usage = null, streamSteering = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  if (chunk.steering) streamSteering = chunk.steering;
  const delta = chunk.choices[0]?.delta ?? {};
  content += delta.content ?? "";
  reasoning += delta.reasoning_content ?? "";
}
out.stream = { content, reasoning, chunks, usage, steering: streamSteering };

// Completions with echo and logprobs (what lm-evaluation-harness's local-completions sends).
const completion = await client.completions.create({ model, prompt: question, max_tokens: 1, temperature: 0, logprobs: 2, echo: true });
out.completion = { text: completion.choices[0].text, logprobs: completion.choices[0].logprobs };

// Two concurrent requests with different steering.
const [a, b] = await Promise.all([
  client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, steering }),
  client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, steering: { pattern: "tiny", neurons: 20, alpha: -3, positions: "all" } }),
]);
out.concurrent = [a.choices[0].message, b.choices[0].message].map(m => ({ content: m.content, reasoning: m.reasoning_content ?? "" }));

// A bad request surfaces as the client's typed error with the server's status and OpenAI error body.
try {
  await client.chat.completions.create({ model, messages, max_tokens: 4, steering: { pattern: "nope" } });
  out.badRequest = null;
} catch (e) {
  out.badRequest = { status: e.status, type: e.error?.type ?? e.type, param: e.error?.param ?? e.param, message: e.message };
}
console.log(JSON.stringify(out));
