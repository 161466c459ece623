/**
 * The small PostgreSQL client against real servers: the embedded PGlite (or the PostgreSQL
 * server in DATABASE_URL), a connection cut through a TCP proxy, and — where this machine has
 * PostgreSQL's own binaries and runs as root — a throwaway PostgreSQL cluster that demands
 * SCRAM-SHA-256 passwords. SCRAM's arithmetic is also checked on RFC 7677's example.
 */
import assert from "node:assert/strict";
import { openDatabase } from "../../../../dev/database.ts";
import { startTcpProxy } from "../../../../dev/tcp_proxy.ts";
import { isConnectionError } from "../errors.ts";
import {
  createWireClient,
  message,
  Scram,
  WireServerError,
  wireSettings,
  WireUnsupportedError,
} from "./wire.ts";

const SERVER_URL = Deno.env.get("DATABASE_URL") || undefined;

for (const prepare of [true, false]) {
  Deno.test(`the light client against a real database (prepare: ${prepare})`, async (t) => {
    const database = await openDatabase({ serverUrl: SERVER_URL, fresh: true, quiet: true });
    const wire = createWireClient(database.url, { prepare });
    try {
      await t.step("parameters, NULLs and text results", async () => {
        assert.deepEqual(
          await wire.query("select $1::int + 1, $2::text, null::text, 'zoë ✓'", ["41", null]),
          [["42", null, null, "zoë ✓"]],
        );
        assert.deepEqual(await wire.query("select g::text from generate_series(1, 3) g"), [
          ["1"],
          ["2"],
          ["3"],
        ]);
        assert.deepEqual(await wire.query("select 1 where false"), []);
      });

      await t.step("pipelined queries each get their own answer", async () => {
        const answers = await Promise.all(
          Array.from({ length: 200 }, (_, i) => wire.query("select $1::text", [`q${i}`])),
        );
        answers.forEach((rows, i) => assert.deepEqual(rows, [[`q${i}`]]));
      });

      await t.step("a result larger than one read", async () => {
        const [[big]] = await wire.query("select repeat('x', 300000)") as [[string]];
        assert.equal(big.length, 300000);
      });

      await t.step("a server error names its SQLSTATE and the connection goes on", async () => {
        const results = await Promise.allSettled([
          wire.query("select 1"),
          wire.query("select * from no_such_table"),
          wire.query("select $1::int", ["not a number"]),
          wire.query("select 2"),
        ]);
        assert.deepEqual(results[0], { status: "fulfilled", value: [["1"]] });
        assert.equal(results[1].status, "rejected");
        const missing = (results[1] as PromiseRejectedResult).reason;
        assert.ok(missing instanceof WireServerError);
        assert.equal(missing.code, "42P01");
        assert.equal(isConnectionError(missing), false);
        assert.equal((results[2] as PromiseRejectedResult).reason.code, "22P02");
        assert.deepEqual(results[3], { status: "fulfilled", value: [["2"]] });
      });

      await t.step("a statement that failed to prepare is prepared again", async () => {
        const query = "select count(*)::text from later_table";
        const missing = await wire.query(query).catch((e) => e);
        assert.equal(missing.code, "42P01");
        await wire.query("create table later_table (x int)");
        assert.deepEqual(await wire.query(query), [["0"]]);
        assert.deepEqual(await wire.query(query), [["0"]]);
      });
    } finally {
      await wire.close();
      await database.close();
    }
  });
}

Deno.test("the light client when the database goes away and comes back", async () => {
  const database = await openDatabase({ serverUrl: SERVER_URL, fresh: true, quiet: true });
  const target = new URL(database.url);
  const proxy = await startTcpProxy({
    targetHost: target.hostname,
    targetPort: Number(target.port || 5432),
  });
  const viaProxy = new URL(database.url);
  viaProxy.port = String(proxy.port);
  const wire = createWireClient(viaProxy.href, { timeoutMs: 3000 });
  try {
    assert.deepEqual(await wire.query("select 1"), [["1"]]);
    const slow = wire.query("select pg_sleep(2)");
    await new Promise((r) => setTimeout(r, 100));
    proxy.cut();
    const lost = await slow.then(() => undefined, (error) => error);
    assert.ok(isConnectionError(lost), `a connection error, got ${lost}`);
    const refused = await wire.query("select 1").then(() => undefined, (error) => error);
    assert.ok(isConnectionError(refused), `a connection error, got ${refused}`);
    await proxy.restore();
    assert.deepEqual(await wire.query("select 3"), [["3"]]);
  } finally {
    await wire.close();
    await proxy.stop();
    await database.close();
  }
});

Deno.test("what the light client does not speak is said up front", async () => {
  for (
    const url of [
      "postgres://u:p@db.example.com:5432/postgres?sslmode=require",
      "postgres://u:p@db.example.com:5432/postgres?options=-c%20x%3Dy",
      "mysql://u:p@db.example.com/x",
      "not a url",
    ]
  ) {
    assert.ok(wireSettings(url) instanceof WireUnsupportedError, url);
    const error = await createWireClient(url).query("select 1").catch((e) => e);
    assert.ok(error instanceof WireUnsupportedError, url);
  }
  assert.deepEqual(wireSettings("postgresql://ada:s%40cret@127.0.0.1:6543/app?sslmode=disable"), {
    hostname: "127.0.0.1",
    port: 6543,
    user: "ada",
    password: "s@cret",
    database: "app",
  });
});

Deno.test("SCRAM-SHA-256 computes RFC 7677's example", async () => {
  // RFC 7677 §3: user "user", password "pencil", client nonce "rOprNGfwEbeRWgbNEkqO".
  const scram = new Scram("pencil", "rOprNGfwEbeRWgbNEkqO", "user");
  assert.equal(scram.clientFirst(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const final = await scram.clientFinal(
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  );
  assert.equal(
    final,
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  await scram.verifyServer("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  await assert.rejects(scram.verifyServer("v=AAAA"), /signature/);
  await assert.rejects(
    new Scram("pencil", "abc").clientFinal("r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
    /Malformed/,
  );
});

const PG_BIN = "/usr/lib/postgresql/15/bin";

/** Why a throwaway SCRAM cluster cannot run here, or undefined when it can. */
function clusterUnavailable(): string | undefined {
  try {
    Deno.statSync(`${PG_BIN}/initdb`);
  } catch {
    return `no PostgreSQL binaries in ${PG_BIN}`;
  }
  if (Deno.uid() !== 0) return "needs root to run PostgreSQL as the postgres user";
  return undefined;
}

const unavailable = clusterUnavailable();
Deno.test(
  `the light client signs in with SCRAM-SHA-256 to a real server${
    unavailable ? ` (skipped: ${unavailable})` : ""
  }`,
  { ignore: unavailable !== undefined },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "wire-scram-" });
    const run = (args: string[]) =>
      new Deno.Command("runuser", { args: ["-u", "postgres", "--", ...args], stdout: "null" })
        .output();
    const port = (() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const p = (l.addr as Deno.NetAddr).port;
      l.close();
      return p;
    })();
    try {
      await Deno.writeTextFile(`${dir}/pw`, "s3cret pass\n");
      await new Deno.Command("chown", { args: ["-R", "postgres", dir] }).output();
      const init = await run([
        `${PG_BIN}/initdb`,
        "-D",
        `${dir}/data`,
        "-U",
        "ada",
        "--auth=scram-sha-256",
        `--pwfile=${dir}/pw`,
      ]);
      assert.ok(init.success, "initdb");
      const start = await run([
        `${PG_BIN}/pg_ctl`,
        "-D",
        `${dir}/data`,
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
        "-w",
        "-l",
        `${dir}/log`,
        "start",
      ]);
      assert.ok(start.success, "pg_ctl start");

      const good = createWireClient(
        `postgres://ada:${encodeURIComponent("s3cret pass")}@127.0.0.1:${port}/postgres`,
      );
      assert.deepEqual(await good.query("select current_user::text"), [["ada"]]);
      await good.close();

      const bad = createWireClient(`postgres://ada:wrong@127.0.0.1:${port}/postgres`);
      const error = await bad.query("select 1").catch((e) => e);
      assert.ok(error instanceof WireServerError);
      assert.equal(error.code, "28P01"); // invalid_password
      await bad.close();
    } finally {
      await run([`${PG_BIN}/pg_ctl`, "-D", `${dir}/data`, "-m", "immediate", "stop"]);
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** An Authentication message (R) with its code and text. */
function auth(code: number, text = ""): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const body = new Uint8Array(4 + bytes.length);
  new DataView(body.buffer).setInt32(0, code);
  body.set(bytes, 4);
  return message(0x52, body);
}

Deno.test("a server that stops answering fails the connection after the timeout", async (t) => {
  // Two silent servers: one that never finishes the handshake, one that accepts the
  // connection ("OK", ready) and then never answers a query. Both fail with a connection
  // error (the store answers 503) within the timeout and a quarter, not never.
  for (const behaviour of ["handshake", "query"] as const) {
    await t.step(behaviour, async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      let conn: Deno.Conn | undefined;
      const served = (async () => {
        conn = await listener.accept();
        const buffer = new Uint8Array(4096);
        await conn.read(buffer); // startup
        if (behaviour === "query") {
          await conn.write(auth(0));
          await conn.write(message(0x5a, new Uint8Array([0x49]))); // ReadyForQuery
        }
        while ((await conn.read(buffer).catch(() => null)) !== null) {
          // read and never answer
        }
      })();
      const timeoutMs = 400;
      const wire = createWireClient(`postgres://ada@127.0.0.1:${port}/postgres`, { timeoutMs });
      const start = performance.now();
      const error = await wire.query("select 1").catch((e) => e);
      const waited = performance.now() - start;
      assert.ok(isConnectionError(error), `a connection error, got ${error}`);
      assert.equal(error.code, "CONNECT_TIMEOUT");
      assert.ok(waited >= timeoutMs - 1 && waited < timeoutMs * 1.25 + 250, `${waited} ms`);
      await wire.close();
      try {
        conn?.close();
      } catch {
        // the client closed it
      }
      await served.catch(() => {});
      listener.close();
    });
  }
});

Deno.test("a server that skips SCRAM's proof, or forges it, is refused", async () => {
  // A server speaking just enough of the protocol to run SCRAM and then, instead of proving
  // it knows the password (SASLFinal with the server signature), either says "OK" at once or
  // sends a wrong signature. Neither may be trusted with queries.
  for (const behaviour of ["skip", "forge"] as const) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const served = (async () => {
      const conn = await listener.accept();
      const buffer = new Uint8Array(4096);
      const read = async () =>
        new TextDecoder().decode(buffer.subarray(0, (await conn.read(buffer))!));
      await read(); // startup
      await conn.write(auth(10, "SCRAM-SHA-256\0\0"));
      const first = await read();
      const nonce = first.slice(first.indexOf("r=") + 2);
      await conn.write(auth(11, `r=${nonce}server,s=${btoa("salt-salt")},i=4096`));
      await read(); // client-final
      if (behaviour === "forge") await conn.write(auth(12, `v=${btoa("not the signature")}`));
      await conn.write(auth(0));
      await conn.write(message(0x5a, new Uint8Array([0x49]))); // ReadyForQuery
      await read().catch(() => "");
      conn.close();
    })();
    const wire = createWireClient(`postgres://ada:pw@127.0.0.1:${port}/postgres`);
    const error = await wire.query("select 1").catch((e) => e);
    assert.equal(error?.code, "SASL_SIGNATURE_MISMATCH", `${behaviour}: ${error}`);
    await wire.close();
    await served.catch(() => {});
    listener.close();
  }
});
