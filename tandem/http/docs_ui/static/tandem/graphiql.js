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
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.toString(),
    subscriptionUrl: socket.toString(),
  });
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
