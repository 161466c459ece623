/**
 * Errors with a stable `code` and an HTTP status, and the one function that turns any error
 * into a JSON `Response`.
 *
 * @example
 * ```ts
 * throw new HttpError(404, "unknown_action", `Cannot handle action: "${name}"`);
 * ```
 */

/** An error meant for the client: its code and message are safe to show. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown; headers?: HeadersInit },
  ) {
    super(message, options);
    this.headers = new Headers(options?.headers);
  }
  readonly headers: Headers;
}

/**
 * Configuration that cannot work: raised when a function starts, or (the `session`
 * function's sign-in settings) when a request first needs the bad setting.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly code = "invalid_configuration";
}

/** The database could not be reached; the client may retry. */
export class UnavailableError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, "service_unavailable", message, {
      ...options,
      headers: { "Retry-After": "1" },
    });
  }
}

/** The JSON body every error response carries. */
export interface ErrorBody {
  error: string;
  message: string;
}

/**
 * Turns any thrown value into a JSON response. `HttpError`s keep their status, code and
 * message; anything else becomes a 500 whose body says nothing internal (the details go to
 * `log`, without stack traces in the response).
 *
 * @example
 * ```ts
 * try { return await handle(req); } catch (e) { return errorResponse(e); }
 * ```
 */
export function errorResponse(
  error: unknown,
  log: (message: string) => void = console.error,
): Response {
  if (error instanceof HttpError) {
    const headers = new Headers(error.headers);
    headers.set("Content-Type", "application/json");
    const body: ErrorBody = { error: error.code, message: error.message };
    return new Response(JSON.stringify(body), {
      status: error.status,
      headers,
    });
  }
  if (error instanceof ConfigError) {
    // The variable's name is for the operator's log, not for every client.
    log(describe(error));
    const body: ErrorBody = {
      error: error.code,
      message: "This function's configuration is invalid: its log names the variable",
    };
    return Response.json(body, { status: 500 });
  }
  if (isConnectionError(error)) {
    return errorResponse(
      new UnavailableError("Cannot reach the database: try again shortly"),
      log,
    );
  }
  log(`Unexpected error: ${describe(error)}`);
  const body: ErrorBody = {
    error: "internal_error",
    message: "Something went wrong on our side",
  };
  return Response.json(body, { status: 500 });
}

/** One line naming the error, never its stack. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === "string" ? ` [${code}]` : ""}: ${error.message}`;
  }
  return String(error);
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
]);

/** True for errors that mean "the database is not there right now", however wrapped. */
export function isConnectionError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
