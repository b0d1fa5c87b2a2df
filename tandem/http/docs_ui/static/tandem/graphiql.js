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
  // Short lines: the editor is about 60 characters wide at 1400 px with the docs closed.
  var welcome = [
    "# Tandem's GraphQL face. Sign in above, or put",
    '# {"Authorization": "Bearer <token>"} in Headers.',
    "# Build a query in the Explorer (the folder, left);",
    "# run it with Ctrl-Enter.",
    "{",
    "  me { name email }",
    "  items(first: 5) {",
    "    totalCount",
    "    nodes { title price owner { name } }",
    "  }",
    "}",
    "",
  ].join("\n");

  // The Explorer (@graphiql/plugin-explorer): build a query by ticking the schema's fields.
  var explorer = GraphiQLPluginExplorer.explorerPlugin({ showAttribution: false });
  var root = ReactDOM.createRoot(element);
  var headers;  // undefined: GraphiQL keeps what its Headers tab holds

  function render() {
    root.render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        defaultQuery: welcome,
        headers: headers,
        plugins: [explorer],
        isHeadersEditorEnabled: true,
        defaultEditorToolsVisibility: "headers",
      })
    );
  }
  render();

  // Development's sign-in form: the password grant, then the token into the Headers tab.
  var form = document.getElementById("sign-in");
  var status = document.getElementById("sign-in-status");
  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = new URLSearchParams({
      grant_type: "password",
      username: form.elements.username.value,
      password: form.elements.password.value,
    });
    fetch(form.dataset.tokenUrl, { method: "POST", body: body })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) {
            say(answer.error_description || answer.detail || "Signing in failed.", "failed");
            return;
          }
          headers = JSON.stringify({ Authorization: "Bearer " + answer.access_token }, null, 2);
          render();
          form.elements.password.value = "";
          say(
            "Signed in as " + form.elements.username.value +
              ": the token is in the Headers tab (valid " +
              Math.round(answer.expires_in / 60) + " minutes).",
            "done"
          );
        });
      })
      .catch(function () {
        say("Tandem could not be reached.", "failed");
      });
  });
})();
