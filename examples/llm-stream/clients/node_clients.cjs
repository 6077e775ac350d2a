// Reads one streamed answer of llm-stream with real Node.js clients, and says what
// each saw, as JSON on stdout.
//
//     NODE_PATH=<dir>/node_modules node node_clients.cjs '{"prompt": "...", "servers": [{"name": "...", "url": "http://127.0.0.1:PORT"}]}'
//
// Clients: the official `openai` package (`chat.completions.create({stream: true})`
// with `baseURL`), and `eventsource` (the WHATWG EventSource for Node.js; it can
// only GET by itself, so it is given a `fetch` that POSTs the request, which its
// `fetch` option is for). Every server is read by each client at the same time.
"use strict";

const { OpenAI } = require("openai");
const { EventSource } = require("eventsource");

// The installed version of package `name` (its `exports` may hide package.json).
function version(name) {
  const fs = require("fs");
  const path = require("path");
  try {
    let dir = path.dirname(require.resolve(name));
    for (let up = 0; up < 5; up += 1, dir = path.dirname(dir)) {
      const file = path.join(dir, "package.json");
      if (fs.existsSync(file)) {
        const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
        if (manifest.name === name) return manifest.version;
      }
    }
  } catch {
    // not found: "?"
  }
  return "?";
}

function result(client, server) {
  return {
    client, version: version(client === "openai-node" ? "openai" : "eventsource"), server,
    events: 0, empty: 0, exceptions: [], content: "", finish: null, usage: null, done: false,
    coding: null,
  };
}

function describe(error) {
  return `${error && error.name ? error.name : "Error"}: ${error && error.message ? error.message : String(error)}`;
}

function take(seen, chunk) {
  if (chunk.usage) seen.usage = chunk.usage;
  for (const choice of chunk.choices || []) {
    if (choice.delta && choice.delta.content) seen.content += choice.delta.content;
    if (choice.finish_reason) seen.finish = choice.finish_reason;
  }
}

function request(prompt) {
  return {
    model: "fake-1",
    messages: [{ role: "user", content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
  };
}

async function withOpenai(server, prompt) {
  const seen = result("openai-node", server.name);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "test", maxRetries: 0, timeout: 30000 });
  try {
    const { data: stream, response } = await client.chat.completions.create(request(prompt)).withResponse();
    seen.coding = response.headers.get("content-encoding");
    for await (const chunk of stream) {
      seen.events += 1;
      if ((!chunk.choices || chunk.choices.length === 0) && !chunk.usage) seen.empty += 1;
      take(seen, chunk);
    }
    // The package stops at `data: [DONE]` and hides it.
    seen.done = true;
  } catch (error) {
    seen.exceptions.push(describe(error));
  }
  return seen;
}

function withEventSource(server, prompt) {
  const seen = result("eventsource", server.name);
  return new Promise((resolve) => {
    const source = new EventSource(`${server.url}/v1/chat/completions`, {
      fetch: (url, init) => fetch(url, {
        ...init,
        method: "POST",
        headers: { ...init.headers, "content-type": "application/json" },
        body: JSON.stringify(request(prompt)),
      }).then((response) => {
        seen.coding = response.headers.get("content-encoding");
        return response;
      }),
    });
    const timer = setTimeout(() => finish("timeout"), 30000);
    function finish(why) {
      clearTimeout(timer);
      source.close();
      if (why) seen.exceptions.push(why);
      resolve(seen);
    }
    source.onmessage = (event) => {
      if (event.data === "[DONE]") {
        seen.done = true;
        finish(null);
        return;
      }
      seen.events += 1;
      if (event.data === "") {
        seen.empty += 1;
        return;
      }
      try {
        take(seen, JSON.parse(event.data));
      } catch (error) {
        seen.exceptions.push(describe(error));
      }
    };
    // The stream ended without `[DONE]`, or could not be read: EventSource would
    // reconnect (and ask again); an answer is not resumed that way.
    source.onerror = (event) => finish(`error event: ${event.message || "the stream ended"}`);
  });
}

async function main() {
  const job = JSON.parse(process.argv[2]);
  const runs = [];
  for (const server of job.servers) {
    runs.push(withOpenai(server, job.prompt));
    runs.push(withEventSource(server, job.prompt));
  }
  const results = await Promise.all(runs);
  process.stdout.write(JSON.stringify({ node: process.version, results }));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
