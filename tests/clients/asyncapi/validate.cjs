// Validates an AsyncAPI document read from a URL with @asyncapi/parser (its JSON Schema
// and its Spectral rules); prints each diagnostic as a JSON line; exits 1 on any error.
const { Parser, fromURL } = require("@asyncapi/parser");

async function main() {
  const parser = new Parser();
  const { document, diagnostics } = await fromURL(parser, process.argv[2]).parse();
  for (const d of diagnostics) {
    console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
  }
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (!document || errors.length) process.exit(1);
  const channels = document.channels().all().map((c) => c.id());
  const operations = document.operations().all().map((o) => o.id());
  console.log(JSON.stringify({ version: document.version(), channels, operations }));
}
main().catch((error) => { console.error(error); process.exit(2); });
