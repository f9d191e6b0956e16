// Contract test: the official `openai` npm client against `swaa serve`, unchanged, for every
// endpoint: models, completions and chat completions (whole and streamed, n > 1, seeds, usage,
// logprobs in both shapes),
// the error classes the client raises for our error bodies, and an aborted stream that frees its
// KV. Usage: node openai_contract.mjs BASE_URL MODEL API_KEY OPENAI_PACKAGE_DIR
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [baseURL, model, apiKey, pkgDir] = process.argv.slice(2);
const { default: OpenAI } = await import(pathToFileURL(path.join(pkgDir, "index.mjs")).href);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });
const root = baseURL.replace(/\/v1$/, "");

let failures = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}
async function metric(sample) {
  const text = await (await fetch(`${root}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(sample + " "));
  assert.ok(line, `no ${sample} in /metrics`);
  return Number(line.slice(sample.length + 1));
}
async function expectError(cls, status, fn, check = () => {}) {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, status);
    check(e);
    return;
  }
  assert.fail(`expected ${cls.name}`);
}
const greedy = { temperature: 0, ignore_eos: true };

await test("models.list", async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m);
  assert.deepEqual(models.map((m) => m.id), [model]);
  assert.equal(models[0].object, "model");
});

await test("completions: whole and streamed agree (greedy)", async () => {
  const whole = await client.completions.create({ model, prompt: "Once upon", max_tokens: 8, ...greedy });
  assert.equal(whole.object, "text_completion");
  assert.equal(whole.choices.length, 1);
  assert.equal(whole.choices[0].finish_reason, "length");
  assert.deepEqual(whole.usage, { prompt_tokens: 9, completion_tokens: 8, total_tokens: 17 });
  const stream = await client.completions.create({
    model, prompt: "Once upon", max_tokens: 8, stream: true, stream_options: { include_usage: true }, ...greedy,
  });
  let text = "", finish = null, usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, "length");
  assert.equal(usage.completion_tokens, 8);
});

await test("completions: token-id prompts, n and seed", async () => {
  const req = { model, prompt: [[1, 2, 3], [4, 5]], max_tokens: 4, n: 2, seed: 5, temperature: 1, ignore_eos: true };
  const a = await client.completions.create(req);
  const b = await client.completions.create(req);
  assert.equal(a.choices.length, 4);
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
  assert.equal(a.usage.prompt_tokens, 5);
  assert.equal(a.usage.completion_tokens, 16);
});

await test("chat: whole and streamed agree (greedy)", async () => {
  const messages = [{ role: "system", content: "You are terse." }, { role: "user", content: "Say hi" }];
  const whole = await client.chat.completions.create({ model, messages, max_tokens: 6, ...greedy });
  assert.equal(whole.object, "chat.completion");
  assert.equal(whole.choices[0].message.role, "assistant");
  assert.equal(typeof whole.choices[0].message.content, "string");
  assert.equal(whole.usage.completion_tokens, 6);
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 6, stream: true, stream_options: { include_usage: true }, ...greedy,
  });
  let text = "", role = null, usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.role) role = c.delta.role;
      text += c.delta.content ?? "";
    }
  }
  assert.equal(role, "assistant");
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(usage.total_tokens, whole.usage.total_tokens);
});

await test("chat: stream() helper assembles the final message", async () => {
  const runner = client.chat.completions.stream({
    model, messages: [{ role: "user", content: "hello" }], max_tokens: 5, ...greedy,
  });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, "length");
  assert.equal(typeof final.choices[0].message.content, "string");
});

await test("logprobs: completions (legacy shape), whole and streamed", async () => {
  const req = { model, prompt: "Once upon", max_tokens: 6, logprobs: 2, ...greedy };
  const whole = await client.completions.create(req);
  const lp = whole.choices[0].logprobs;
  for (const k of ["tokens", "token_logprobs", "top_logprobs", "text_offset"]) assert.equal(lp[k].length, 6, k);
  lp.token_logprobs.forEach((v, i) => {
    assert.ok(v <= 0);
    const top = lp.top_logprobs[i];
    assert.equal(top[lp.tokens[i]], v);  // the chosen token is among them (greedy: the most likely)
    assert.ok(Object.keys(top).length <= 3);
    for (const x of Object.values(top)) assert.ok(x <= v);
  });
  const tokens = [], offsets = [];
  for await (const chunk of await client.completions.create({ ...req, stream: true })) {
    const l = chunk.choices[0]?.logprobs;
    if (l) tokens.push(...l.tokens), offsets.push(...l.text_offset);
  }
  assert.deepEqual(tokens, lp.tokens);
  assert.deepEqual(offsets, lp.text_offset);
});

await test("logprobs: chat (content shape), whole, streamed and the stream() helper", async () => {
  const req = { model, messages: [{ role: "user", content: "Say hi" }], max_tokens: 6, logprobs: true, top_logprobs: 3, ...greedy };
  const whole = await client.chat.completions.create(req);
  const content = whole.choices[0].logprobs.content;
  assert.equal(content.length, 6);
  for (const e of content) {
    assert.equal(typeof e.token, "string");
    // null only for ids beyond the tokenizer's vocabulary (the random model has 300, the tokenizer 259)
    assert.ok(e.bytes === null || e.bytes.every((b) => Number.isInteger(b) && b >= 0 && b < 256));
    assert.equal(e.top_logprobs.length, 3);
    assert.equal(e.top_logprobs[0].token, e.token);  // greedy
    assert.equal(e.top_logprobs[0].logprob, e.logprob);
    assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob && e.top_logprobs[1].logprob >= e.top_logprobs[2].logprob);
  }
  const streamed = [];
  for await (const chunk of await client.chat.completions.create({ ...req, stream: true })) {
    streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
  }
  assert.deepEqual(streamed.map((e) => e.token), content.map((e) => e.token));
  assert.deepEqual(streamed.map((e) => e.logprob), content.map((e) => e.logprob));
  const final = await client.chat.completions.stream(req).finalChatCompletion();
  assert.deepEqual(final.choices[0].logprobs.content.map((e) => e.bytes), content.map((e) => e.bytes));
});

await test("errors raise the client's classes with our codes", async () => {
  const long = "x".repeat(20001);  // past the server's --max-model-len 20000 (openai_contract.sh)
  await expectError(OpenAI.BadRequestError, 400, () => client.completions.create({ model, prompt: long }), (e) => {
    assert.equal(e.code, "context_length_exceeded");
    assert.equal(e.param, "prompt");
  });
  await expectError(OpenAI.BadRequestError, 400, () =>
    client.chat.completions.create({ model, messages: [{ role: "user", content: "a" }], top_logprobs: 2 }), (e) => {
    assert.equal(e.param, "top_logprobs");
  });
  await expectError(OpenAI.BadRequestError, 400, () =>
    client.completions.create({ model, prompt: "a", logprobs: 21 }), (e) => {
    assert.equal(e.param, "logprobs");
    assert.equal(e.code, "invalid_value");
  });
  await expectError(OpenAI.BadRequestError, 400, () => client.completions.create({ model, prompt: "a", temperature: -1 }));
  await expectError(OpenAI.NotFoundError, 404, () => client.completions.create({ model: "nope", prompt: "a" }));
  const wrongKey = new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 });
  await expectError(OpenAI.AuthenticationError, 401, () => wrongKey.models.list());
});

await test("aborted stream frees its KV", async () => {
  const before = await metric('swaa_requests_finished_total{finish_reason="abort"}');
  const controller = new AbortController();
  const stream = await client.completions.create(
    // Long enough that the server is still generating when the abort reaches it: 400 tokens of
    // this model could all be written before the client closed the connection.
    { model, prompt: "a long one", max_tokens: 19000, stream: true, ignore_eos: true },
    { signal: controller.signal });
  let chunks = 0;
  try {
    for await (const _ of stream) {
      if (++chunks === 3) controller.abort();
    }
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIUserAbortError || e.name === "AbortError", `unexpected ${e}`);
  }
  for (let i = 0; i < 500; i++) {
    if ((await metric('swaa_requests_finished_total{finish_reason="abort"}')) === before + 1 &&
        (await metric("swaa_requests_in_flight")) === 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(await metric('swaa_requests_finished_total{finish_reason="abort"}'), before + 1);
  assert.equal(await metric('swaa_kv_cache_live_bytes{group="full"}'), 0);
  assert.equal(await metric('swaa_kv_cache_live_bytes{group="windowed"}'), 0);
});

console.log(failures ? `${failures} contract test(s) failed` : "all contract tests passed");
process.exit(failures ? 1 : 0);
