// Runs every graphql-http server audit against one URL and prints one JSON line per audit.
// Usage: NODE_PATH=<dir>/node_modules node audit.cjs http://127.0.0.1:PORT/graphql
"use strict";
const { auditServer } = require("graphql-http");

async function main(url) {
  const results = await auditServer({ url });
  for (const result of results) {
    const line = { id: result.id, name: result.name, status: result.status };
    if (result.status !== "ok") {
      line.reason = result.reason;
      line.httpStatus = result.response.status;
      line.contentType = result.response.headers.get("content-type");
      line.body = (await result.response.text()).slice(0, 500);
    }
    process.stdout.write(JSON.stringify(line) + "\n");
  }
}

main(process.argv[2]).catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});
