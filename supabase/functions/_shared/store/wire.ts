/**
 * A deliberately small PostgreSQL client for the session check: one plain TCP connection
 * (`Deno.connect`), the extended query protocol with text parameters and text results,
 * queries pipelined in order. It exists because the session function asks one query per page
 * view (or per batch of page views) and `npm:postgres` under Node compatibility costs ~20 MB
 * of memory, a slower cold start and ~15 µs of CPU per query in its socket layer alone.
 *
 * What it speaks: protocol 3.0; trust, cleartext-password and SCRAM-SHA-256 authentication
 * (Supabase's); `sslmode` absent or `disable`. Anything else (TLS, MD5 passwords, a host list)
 * is `WireUnsupportedError`, and the caller uses `npm:postgres` instead. Errors that mean the
 * database is away carry the same codes as `npm:postgres`'s (`CONNECTION_CLOSED`,
 * `CONNECT_TIMEOUT`, ...), so `isConnectionError` turns them into 503s; a server error keeps
 * its SQLSTATE in `code` and leaves the connection usable.
 *
 * @example
 * ```ts
 * const wire = createWireClient("postgres://postgres@127.0.0.1:5432/postgres");
 * const rows = await wire.query("select $1::int + 1", ["41"]); // [["42"]]
 * ```
 */

import { after } from "../timers.ts";
import { fromBase64, toBase64 } from "../base64.ts";

/** The server or the URL asks for something this client does not speak. */
export class WireUnsupportedError extends Error {
  override name = "WireUnsupportedError";
}

/** An error the server sent (`ErrorResponse`): SQLSTATE in `code`. */
export class WireServerError extends Error {
  override name = "PostgresError";
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export type WireRow = (string | null)[];

export interface WireClient {
  /** Runs one statement; resolves with its rows as text (null for SQL NULL). */
  query(text: string, params?: readonly (string | null)[]): Promise<WireRow[]>;
  close(): Promise<void>;
}

export interface WireOptions {
  /** Milliseconds to connect and authenticate, and for one query to answer. Default 10 s. */
  timeoutMs?: number;
  applicationName?: string;
  /**
   * Named prepared statements, planned once per connection (default true). Set false behind
   * a transaction pooler that cannot keep them (Supabase's port 6543).
   */
  prepare?: boolean;
}

interface ConnectionSettings {
  hostname: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** What `createWireClient` needs from a connection URL, or a reason it cannot use it. */
export function wireSettings(url: string): ConnectionSettings | WireUnsupportedError {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return new WireUnsupportedError("Cannot parse the database URL");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return new WireUnsupportedError(`Cannot use protocol ${parsed.protocol}`);
  }
  for (const key of parsed.searchParams.keys()) {
    if (key === "sslmode") continue;
    return new WireUnsupportedError(`Cannot use the URL parameter "${key}"`);
  }
  const sslmode = parsed.searchParams.get("sslmode");
  if (sslmode !== null && sslmode !== "disable") {
    return new WireUnsupportedError(`Cannot use sslmode=${sslmode} (plain TCP only)`);
  }
  if (!parsed.hostname || parsed.hostname.includes(",")) {
    return new WireUnsupportedError("Cannot use a host list");
  }
  const database = decodeURIComponent(parsed.pathname.slice(1));
  const user = decodeURIComponent(parsed.username) || "postgres";
  return {
    hostname: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: Number(parsed.port || 5432),
    user,
    password: decodeURIComponent(parsed.password),
    database: database || user,
  };
}

interface Pending {
  rows: WireRow[];
  sentAt: number;
  /** The statement this query prepares, until the server confirms it (forgotten if it fails). */
  parsed?: string;
  error?: Error;
  resolve(rows: WireRow[]): void;
  reject(error: Error): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function connectionError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A client with at most one connection, opened on first use and again after it is lost.
 * Queries are written as they come and answered in order (pipelining).
 */
export function createWireClient(url: string, options: WireOptions = {}): WireClient {
  const settings = wireSettings(url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  let connection: Promise<Connection> | undefined;
  let closed = false;

  const open = () => {
    if (settings instanceof WireUnsupportedError) return Promise.reject(settings);
    const opening = Connection.open(settings, {
      timeoutMs,
      prepare: options.prepare ?? true,
      applicationName: options.applicationName ?? "authjs-supabase-edge",
    });
    opening.then((c) => c.lost.then(() => connection === opening && (connection = undefined)))
      .catch(() => {
        if (connection === opening) connection = undefined;
      });
    return opening;
  };

  return {
    async query(text, params = []) {
      if (closed) throw connectionError("CONNECTION_ENDED", "The client is closed");
      connection ??= open();
      return await (await connection).query(text, params);
    },
    async close() {
      closed = true;
      const current = connection;
      connection = undefined;
      if (current) await current.then((c) => c.end(), () => {});
    },
  };
}

class Connection {
  private buffer: Uint8Array = new Uint8Array(0);
  private readonly readBuffer = new Uint8Array(64 * 1024);
  private pending: Pending[] = [];
  private writing: Promise<unknown> = Promise.resolve();
  private ended = false;
  /** Settles when the connection is gone, for whatever reason. */
  readonly lost: Promise<void>;
  private markLost!: () => void;

  private readonly statements = new Map<string, string>();
  private statementCount = 0;
  // Unique per connection: behind some servers (PGlite, session poolers) statements outlive
  // the client connection that made them.
  private readonly statementPrefix = `authjs_${crypto.randomUUID().slice(0, 8)}_`;
  /** Whether a check of the oldest query's wait is scheduled (only while queries are out). */
  private watching = false;

  private constructor(
    private conn: Deno.TcpConn,
    private readonly timeoutMs: number,
    private readonly prepare: boolean,
  ) {
    this.lost = new Promise((resolve) => (this.markLost = resolve));
  }

  static async open(
    settings: ConnectionSettings,
    { timeoutMs, prepare, applicationName }: {
      timeoutMs: number;
      prepare: boolean;
      applicationName: string;
    },
  ): Promise<Connection> {
    let conn: Deno.TcpConn | undefined;
    let settled = false;
    const timeout = new Promise<never>((_, reject) => {
      after(timeoutMs, () => {
        if (settled) return;
        try {
          conn?.close();
        } catch {
          // already closed
        }
        reject(connectionError("CONNECT_TIMEOUT", `Cannot connect within ${timeoutMs} ms`));
      });
    });
    const start = async () => {
      try {
        conn = await Deno.connect({ hostname: settings.hostname, port: settings.port });
      } catch (error) {
        throw Object.assign(connectionError("ECONNREFUSED", describeError(error)), {
          cause: error,
        });
      }
      conn.setNoDelay(true);
      const connection = new Connection(conn, timeoutMs, prepare);
      try {
        await connection.startup(settings, applicationName);
      } catch (error) {
        connection.fail(error as Error);
        throw error;
      }
      connection.readLoop();
      return connection;
    };
    try {
      return await Promise.race([start(), timeout]);
    } catch (error) {
      try {
        conn?.close();
      } catch {
        // already closed
      }
      throw error;
    } finally {
      settled = true;
    }
  }

  query(text: string, params: readonly (string | null)[]): Promise<WireRow[]> {
    if (this.ended) {
      return Promise.reject(connectionError("CONNECTION_CLOSED", "The connection is closed"));
    }
    // Prepared once per connection, then only bound: the server plans it once. Later queries
    // may be pipelined behind the Parse; if it fails, they fail too and the next one re-parses.
    let name = "";
    let parsed: string | undefined;
    if (this.prepare) {
      name = this.statements.get(text) ?? "";
      if (!name) {
        name = `${this.statementPrefix}${this.statementCount++}`;
        this.statements.set(text, name);
        parsed = text;
      }
    }
    const message = concat([
      ...(name && !parsed ? [] : [parse(text, name)]),
      bind(params, name),
      EXECUTE,
      SYNC,
    ]);
    return new Promise<WireRow[]>((resolve, reject) => {
      this.pending.push({ rows: [], sentAt: performance.now(), parsed, resolve, reject });
      this.write(message);
      if (!this.watching) this.watchSoon();
    });
  }

  private watchSoon() {
    this.watching = true;
    after(Math.min(1000, this.timeoutMs / 4), () => this.watch());
  }

  /** Fails the connection when its oldest query has waited longer than the timeout. */
  private watch() {
    this.watching = false;
    const oldest = this.pending[0];
    if (this.ended || !oldest) return;
    if (performance.now() - oldest.sentAt > this.timeoutMs) {
      // An answer this late means the connection is stuck: drop it, fail everything on it.
      this.fail(connectionError("CONNECT_TIMEOUT", `No answer within ${this.timeoutMs} ms`));
    } else this.watchSoon();
  }

  async end() {
    if (this.ended) return;
    try {
      await this.writing;
      await writeAll(this.conn, TERMINATE);
    } catch {
      // gone already
    }
    this.fail(connectionError("CONNECTION_ENDED", "The connection was closed"));
  }

  private write(bytes: Uint8Array) {
    this.writing = this.writing.then(() => writeAll(this.conn, bytes)).catch((error) =>
      this.fail(connectionError("CONNECTION_CLOSED", describeError(error)))
    );
  }

  private fail(error: Error) {
    if (!this.ended) {
      this.ended = true;
      try {
        this.conn.close();
      } catch {
        // already closed
      }
      this.markLost();
    }
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(error);
  }

  private async readLoop() {
    try {
      for (;;) {
        const [type, body] = await this.next();
        this.dispatch(type, body);
      }
    } catch (error) {
      this.fail(
        error instanceof Error && "code" in error
          ? error
          : connectionError("CONNECTION_CLOSED", describeError(error)),
      );
    }
  }

  private dispatch(type: number, body: Uint8Array) {
    const head = this.pending[0];
    switch (type) {
      case 0x44: // D: DataRow
        head?.rows.push(dataRow(body));
        break;
      case 0x31: // 1: ParseComplete: the statement exists on the server from now on
        if (head) head.parsed = undefined;
        break;
      case 0x45: // E: ErrorResponse (the server then skips to Sync)
        if (head) head.error ??= serverError(body);
        break;
      case 0x5a: { // Z: ReadyForQuery, this query is over
        const done = this.pending.shift();
        if (!done) break;
        if (done.error) {
          if (done.parsed !== undefined) this.statements.delete(done.parsed);
          done.reject(done.error);
        } else done.resolve(done.rows);
        break;
      }
      default:
        // ParseComplete, BindComplete, CommandComplete, EmptyQuery, Notice, ParameterStatus…
        break;
    }
  }

  private async startup(settings: ConnectionSettings, applicationName: string) {
    await writeAll(
      this.conn,
      startupMessage({
        user: settings.user,
        database: settings.database,
        application_name: applicationName,
        client_encoding: "UTF8",
      }),
    );
    let scram: Scram | undefined;
    for (;;) {
      const [type, body] = await this.next();
      if (type === 0x45) throw serverError(body);
      if (type === 0x5a) return; // ReadyForQuery: authenticated and ready
      if (type !== 0x52) continue; // ParameterStatus, BackendKeyData, Notice
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      const code = view.getInt32(0);
      if (code === 0) {
        // AuthenticationOk. After SCRAM only once the server has proven it knows the password.
        if (scram && !scram.serverVerified) {
          throw connectionError("SASL_SIGNATURE_MISMATCH", "The server skipped SCRAM's proof");
        }
        continue;
      }
      if (code === 3) {
        await writeAll(this.conn, message(0x70, cstring(settings.password)));
      } else if (code === 10) {
        const mechanisms = decoder.decode(body.subarray(4)).split("\0");
        if (!mechanisms.includes("SCRAM-SHA-256")) {
          throw new WireUnsupportedError(`Cannot authenticate with ${mechanisms.join(", ")}`);
        }
        scram = new Scram(settings.password);
        const first = encoder.encode(scram.clientFirst());
        await writeAll(
          this.conn,
          message(0x70, concat([cstring("SCRAM-SHA-256"), int32(first.length), first])),
        );
      } else if (code === 11 && scram) {
        const final = await scram.clientFinal(decoder.decode(body.subarray(4)));
        await writeAll(this.conn, message(0x70, encoder.encode(final)));
      } else if (code === 12 && scram) {
        await scram.verifyServer(decoder.decode(body.subarray(4)));
      } else {
        throw new WireUnsupportedError(`Cannot authenticate: method ${code} is not supported`);
      }
    }
  }

  /** The next whole message: its type byte and body. */
  private async next(): Promise<[number, Uint8Array]> {
    for (;;) {
      if (this.buffer.length >= 5) {
        const length = new DataView(this.buffer.buffer, this.buffer.byteOffset + 1, 4).getInt32(0);
        if (length < 4) throw connectionError("CONNECTION_CLOSED", "Malformed message");
        if (this.buffer.length >= length + 1) {
          const type = this.buffer[0]!;
          const body = this.buffer.subarray(5, length + 1);
          this.buffer = this.buffer.subarray(length + 1);
          return [type, body];
        }
      }
      // Messages handed out are read before the next read (dispatch is synchronous), so one
      // read buffer serves every read; an unfinished message is copied out of it first.
      if (this.buffer.length) this.buffer = this.buffer.slice();
      const read = await this.conn.read(this.readBuffer);
      if (read === null) {
        throw connectionError("CONNECTION_CLOSED", "The server closed the connection");
      }
      const fresh = this.readBuffer.subarray(0, read);
      this.buffer = this.buffer.length ? concat([this.buffer, fresh]) : fresh;
    }
  }
}

// --- messages -------------------------------------------------------------------------------

const EXECUTE = message(0x45, concat([cstring(""), int32(0)]));
const SYNC = message(0x53, new Uint8Array(0));
const TERMINATE = message(0x58, new Uint8Array(0));

function startupMessage(params: Record<string, string>): Uint8Array {
  const parts: Uint8Array[] = [int32(196608)];
  for (const [key, value] of Object.entries(params)) parts.push(cstring(key), cstring(value));
  parts.push(new Uint8Array([0]));
  const body = concat(parts);
  return concat([int32(body.length + 4), body]);
}

function parse(text: string, name: string): Uint8Array {
  return message(0x50, concat([cstring(name), cstring(text), int16(0)]));
}

function bind(params: readonly (string | null)[], statement: string): Uint8Array {
  const parts: Uint8Array[] = [cstring(""), cstring(statement), int16(0), int16(params.length)];
  for (const param of params) {
    if (param === null) parts.push(int32(-1));
    else {
      const bytes = encoder.encode(param);
      parts.push(int32(bytes.length), bytes);
    }
  }
  parts.push(int16(0));
  return message(0x42, concat(parts));
}

function dataRow(body: Uint8Array): WireRow {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = view.getInt16(0);
  const row: WireRow = new Array(count);
  let at = 2;
  for (let i = 0; i < count; i++) {
    const length = view.getInt32(at);
    at += 4;
    if (length === -1) row[i] = null;
    else {
      row[i] = decoder.decode(body.subarray(at, at + length));
      at += length;
    }
  }
  return row;
}

function serverError(body: Uint8Array): WireServerError {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const type = String.fromCharCode(body[at]!);
    const end = body.indexOf(0, at + 1);
    fields.set(type, decoder.decode(body.subarray(at + 1, end)));
    at = end + 1;
  }
  return new WireServerError(fields.get("C") ?? "XX000", fields.get("M") ?? "Server error");
}

/** A protocol message: its type byte, its length (itself included), its body. */
export function message(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 5);
  out[0] = type;
  new DataView(out.buffer).setInt32(1, body.length + 4);
  out.set(body, 5);
  return out;
}

function cstring(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function int32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, n);
  return out;
}

function int16(n: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setInt16(0, n);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// --- SCRAM-SHA-256 (RFC 5802, RFC 7677) -----------------------------------------------------

/** One SCRAM-SHA-256 exchange. PostgreSQL ignores the user name in it (`n=*`). */
export class Scram {
  private clientFirstBare: string;
  private serverSignature?: Uint8Array;
  /** Set once the server's final message carried the right signature. */
  serverVerified = false;

  constructor(
    private password: string,
    private nonce = toBase64(crypto.getRandomValues(new Uint8Array(18))),
    user = "*",
  ) {
    this.clientFirstBare = `n=${user},r=${this.nonce}`;
  }

  clientFirst(): string {
    return `n,,${this.clientFirstBare}`;
  }

  async clientFinal(serverFirst: string): Promise<string> {
    const attrs = new Map(serverFirst.split(",").map((kv) => [kv[0], kv.slice(2)] as const));
    const nonce = attrs.get("r") ?? "";
    const salt = attrs.get("s");
    const iterations = Number(attrs.get("i"));
    if (!nonce.startsWith(this.nonce) || !salt || !(iterations > 0)) {
      throw connectionError("SASL_SIGNATURE_MISMATCH", "Malformed SCRAM server message");
    }
    const material = await crypto.subtle.importKey(
      "raw",
      encoder.encode(this.password),
      "PBKDF2",
      false,
      ["deriveBits"],
    );
    const salted = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt: fromBase64(salt), iterations },
        material,
        256,
      ),
    );
    const clientKey = await hmac(salted, "Client Key");
    const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey));
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = await hmac(storedKey, authMessage);
    const proof = clientKey.map((byte, i) => byte ^ signature[i]!);
    this.serverSignature = await hmac(await hmac(salted, "Server Key"), authMessage);
    return `${withoutProof},p=${toBase64(proof)}`;
  }

  // deno-lint-ignore require-await
  async verifyServer(serverFinal: string): Promise<void> {
    const expected = this.serverSignature ? `v=${toBase64(this.serverSignature)}` : undefined;
    if (serverFinal.split(",")[0] !== expected) {
      throw connectionError("SASL_SIGNATURE_MISMATCH", "The server's SCRAM signature is wrong");
    }
    this.serverVerified = true;
  }
}

async function hmac(key: Uint8Array, text: string): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(text)));
}
