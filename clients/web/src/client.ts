// A small web client of Tandem's GraphQL face, typed from schema.graphql by GraphQL Code
// Generator (`npm run codegen` writes src/gql/). It signs in over REST, subscribes to
// itemChanged over graphql-transport-ws, creates an item, hears it, and lists items.
// Run against a server: TANDEM_URL, TANDEM_EMAIL, TANDEM_PASSWORD (see package.json).
import { print } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import { graphql } from "./gql/index.js";
import type { ResultOf, TypedDocumentNode } from "@graphql-typed-document-node/core";

const ListItems = graphql(`
  query ListItems($first: Int!) {
    items(first: $first) {
      totalCount
      nodes { id title price owner { name } }
    }
  }
`);

const CreateItem = graphql(`
  mutation CreateItem($input: CreateItemInput!) {
    createItem(input: $input) { id databaseId title price status }
  }
`);

const ItemChanged = graphql(`
  subscription ItemChanged {
    itemChanged { kind itemId item { title } }
  }
`);

const base = process.env.TANDEM_URL ?? "http://127.0.0.1:8000";

async function signIn(email: string, password: string): Promise<string> {
  const answer = await fetch(`${base}/api/v1/auth/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "password", username: email, password }),
  });
  if (!answer.ok) throw new Error(`sign-in: ${answer.status} ${await answer.text()}`);
  const tokens = (await answer.json()) as { access_token: string };
  return tokens.access_token;
}

// One typed request: the result's type comes from the document, the variables' too.
async function execute<Result, Variables>(
  token: string,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  const answer = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json",
      Authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await answer.json()) as { data?: Result; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function main(): Promise<void> {
  const token = await signIn(process.env.TANDEM_EMAIL ?? "", process.env.TANDEM_PASSWORD ?? "");
  const socket = createClient({
    url: base.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
  });
  const title = `Typed lamp ${Date.now()}`;
  const heard = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no itemChanged within 20 s")), 20_000);
    const stop = socket.subscribe<ResultOf<typeof ItemChanged>>(
      { query: print(ItemChanged) },
      {
        next: ({ data }) => {
          const event = data?.itemChanged;
          if (event?.item?.title === title) {
            clearTimeout(timer);
            stop();
            resolve(event.kind);
          }
        },
        error: reject,
        complete: () => undefined,
      },
    );
  });
  // The subscription hears what commits after it starts: write until it is heard.
  let created: { databaseId: number; title: string; price?: unknown } | undefined;
  const writing = (async () => {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const result = await execute(token, CreateItem, { input: { title, price: "12.50" } });
      created ??= result.createItem;
      if (await Promise.race([heard.then(() => true), delay(1000).then(() => false)])) return;
    }
  })();
  const kind = await heard;
  await writing;
  const listed = await execute(token, ListItems, { first: 5 });
  await socket.dispose();
  const first = listed.items.nodes[0];
  console.log(
    JSON.stringify({
      created: created?.title,
      price: created?.price,
      heard: kind,
      total: listed.items.totalCount,
      first: first ? { title: first.title, owner: first.owner.name } : null,
    }),
  );
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
