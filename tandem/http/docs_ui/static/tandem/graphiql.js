// GraphiQL for Tandem's /graphql, from the package's own files (no CDN). The page's
// Content-Security-Policy allows only scripts from this origin, so this is a file, not inline.
(function () {
  "use strict";
  var element = document.getElementById("graphiql");
  var endpoint = new URL(element.dataset.endpoint, window.location.href);
  var socket = new URL(endpoint);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  // Subscriptions go over graphql-transport-ws (bundled in GraphiQL); the Headers tab's JSON
  // becomes the connection_init payload, so {"Authorization": "Bearer ..."} signs them in.
  var graphiqlFetcher = GraphiQL.createFetcher({
    url: endpoint.toString(),
    subscriptionUrl: socket.toString(),
  });

  // GraphiQL picks the socket only when the editor's parsed document says "subscription",
  // and the editor parses 100 ms after the last keystroke: run sooner (a paste, then
  // Ctrl-Enter) and the subscription went out as a plain POST, which cannot carry it. So the
  // kind is read from the text being sent, and the fetcher is told that instead.
  function topLevelOperations(text) {
    var found = [], nesting = 0, pending = null, i = 0, n = text.length, directive = false;
    while (i < n) {
      var c = text[i];
      if (c === "#") {
        while (i < n && text[i] !== "\n" && text[i] !== "\r") i++;
      } else if (c === '"') {
        if (text.substr(i, 3) === '"""') {
          var end = i + 3;
          while (end < n && !(text.substr(end, 3) === '"""' && text[end - 1] !== "\\")) end++;
          i = end + 3;
        } else {
          i++;
          while (i < n && text[i] !== '"' && text[i] !== "\n") i += text[i] === "\\" ? 2 : 1;
          i++;
        }
        continue;
      } else if (c === "{" || c === "(" || c === "[") {
        if (c === "{" && nesting === 0 && pending === null) found.push({ kind: "query", name: null });
        if (c === "{" && nesting === 0) pending = null;
        nesting++;
      } else if (c === "}" || c === ")" || c === "]") {
        nesting = Math.max(0, nesting - 1);
      } else if (c === "@") {
        directive = true;
      } else if (/[_A-Za-z]/.test(c)) {
        var start = i;
        while (i < n && /[_0-9A-Za-z]/.test(text[i])) i++;
        var word = text.slice(start, i);
        if (nesting === 0 && !directive) {
          if (pending === null && /^(query|mutation|subscription|fragment)$/.test(word)) {
            pending = { kind: word, name: null };
            found.push(pending);
          } else if (pending !== null && pending.name === null) {
            pending.name = word;
          }
        }
        directive = false;
        continue;
      }
      i++;
    }
    return found.filter(function (definition) { return definition.kind !== "fragment"; });
  }

  function operationKind(text, operationName) {
    var operations = topLevelOperations(text || "");
    if (operationName) {
      operations = operations.filter(function (o) { return o.name === operationName; });
    }
    return operations.length === 1 ? operations[0] : null;
  }

  function fetcher(params, options) {
    var operation = operationKind(params.query, params.operationName);
    if (operation === null) return graphiqlFetcher(params, options);
    // The shape GraphiQL's fetcher looks at: the operation's kind and name, nothing more.
    var definition = { kind: "OperationDefinition", operation: operation.kind };
    if (operation.name) definition.name = { kind: "Name", value: operation.name };
    var documentAST = { kind: "Document", definitions: [definition] };
    return graphiqlFetcher(params, Object.assign({}, options, { documentAST: documentAST }));
  }
  var welcome = [
    "# Tandem's GraphQL face. Anyone may read the schema (Docs);",
    "# data needs a token from POST /api/v1/auth/token. Put",
    '#   {"Authorization": "Bearer <access_token>"}',
    "# in the Headers tab below, then run (Ctrl-Enter).",
    "",
    "{",
    "  me { name email }",
    "  items(first: 5) { totalCount nodes { id title price owner { name } } }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(element).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: welcome,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
