// Sends one chat to a SeeSharp server with the official openai npm client, non-streamed and streamed, and prints
// what came back as one JSON object. Usage: node chat.mjs request.json
// request.json: {"baseURL": "http://127.0.0.1:PORT/v1", "apiKey": "...", "model": "...", "max_tokens": N, "messages": [...]}
import { readFileSync } from "node:fs";
import OpenAI from "openai";

const req = JSON.parse(readFileSync(process.argv[2], "utf8"));
const client = new OpenAI({ baseURL: req.baseURL, apiKey: req.apiKey, maxRetries: 0, timeout: 60_000 });

const completion = await client.chat.completions.create({ model: req.model, messages: req.messages, max_tokens: req.max_tokens });

let streamText = "", streamFinish = null, streamUsage = null, streamRole = null;
const stream = await client.chat.completions.create({
  model: req.model, messages: req.messages, max_tokens: req.max_tokens, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  if (chunk.usage) streamUsage = chunk.usage;
  const choice = chunk.choices[0];
  if (!choice) continue;
  if (choice.delta.role) streamRole = choice.delta.role;
  if (choice.delta.content) streamText += choice.delta.content;
  if (choice.finish_reason) streamFinish = choice.finish_reason;
}

let unauthorized = null;
try {
  await new OpenAI({ baseURL: req.baseURL, apiKey: "wrong-key", maxRetries: 0 }).chat.completions.create({ model: req.model, messages: req.messages });
} catch (e) {
  unauthorized = { status: e.status, code: e.code ?? null };
}

process.stdout.write(JSON.stringify({
  id: completion.id,
  text: completion.choices[0].message.content,
  finish: completion.choices[0].finish_reason,
  usage: completion.usage,
  streamRole, streamText, streamFinish, streamUsage, unauthorized,
}));
