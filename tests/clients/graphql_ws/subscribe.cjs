// Subscribe to itemChanged with the npm graphql-ws client (the reference implementation of
// graphql-transport-ws), print each event as a JSON line, and exit after `count` of them.
// Usage: node subscribe.cjs <ws url> <access token> <count>
"use strict";
const { createClient } = require("graphql-ws");
const WebSocket = require("ws");

const [url, token, count] = process.argv.slice(2);
let remaining = Number(count);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
  on: { connected: () => console.log(JSON.stringify({ connected: true })) },
});
const query = "subscription { itemChanged { kind itemId item { title owner { name } } } }";
client.subscribe(
  { query },
  {
    next: (value) => {
      console.log(JSON.stringify(value));
      remaining -= 1;
      if (remaining === 0) {
        client.dispose();
        process.exit(0);
      }
    },
    error: (error) => {
      console.error("error", JSON.stringify(error, Object.getOwnPropertyNames(error || {})));
      process.exit(2);
    },
    complete: () => process.exit(remaining === 0 ? 0 : 3),
  }
);
setTimeout(() => {
  console.error("timed out");
  process.exit(4);
}, 30000);
