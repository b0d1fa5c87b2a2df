// PostGraphile 5 on the bench's database, for `make bench BENCH_ARGS=--peer` (bench/peer/).
//
// Amber (the baseline preset) plus the lazy JWT preset, which verifies the bearer token
// (HS256 with Tandem's key, its issuer and audience) and hands every claim to PostgreSQL
// as `jwt.claims.<name>`. It connects as the `member` role, which the items table's
// row-level-security policy limits to what a member may see (bench/peer/__init__.py).
//
// Settings come from the environment: PEER_PORT, PEER_PGHOST (a socket directory or a
// host), PEER_PGPORT, PEER_PGDATABASE, PEER_PGUSER, PEER_POOL, PEER_JWT_SECRET,
// PEER_JWT_ISSUER, PEER_JWT_AUDIENCE.
import { createServer } from "node:http";
import pg from "pg";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PgLazyJWTPreset } from "postgraphile/presets/lazy-jwt";

const env = process.env;
const pool = new pg.Pool({
  host: env.PEER_PGHOST,
  port: env.PEER_PGPORT ? Number(env.PEER_PGPORT) : undefined,
  database: env.PEER_PGDATABASE,
  user: env.PEER_PGUSER,
  max: Number(env.PEER_POOL || 10),
});

const preset = {
  extends: [PostGraphileAmberPreset, PgLazyJWTPreset],
  pgServices: [makePgService({ pool, schemas: ["public"] })],
  grafserv: {
    graphiql: false,
    pgJwtSecret: env.PEER_JWT_SECRET,
    pgJwtVerifyOptions: {
      algorithms: ["HS256"],
      issuer: env.PEER_JWT_ISSUER,
      audience: env.PEER_JWT_AUDIENCE,
    },
  },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (error) => {
  console.error(error);
  process.exit(1);
});
await serv.addTo(server);
server.listen(Number(env.PEER_PORT), "127.0.0.1", () => {
  console.log(`postgraphile listening on 127.0.0.1:${env.PEER_PORT}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    pgl.release().finally(() => process.exit(0));
  });
}
