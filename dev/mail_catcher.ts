/**
 * A mail catcher for the local stack and the tests: a real SMTP server (`smtp-server`) that
 * keeps every message in memory, and an HTTP page / JSON API listing them.
 *
 * @example
 * ```ts
 * const mail = await startMailCatcher({ smtpPort: 54325, httpPort: 54324 });
 * const message = await mail.waitFor((m) => m.to.includes("ada@example.com"));
 * ```
 */
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";

export interface CaughtMail {
  id: number;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  receivedAt: string;
}

export interface MailCatcher {
  smtpUrl: string;
  /** The page listing received mail; `${httpUrl}/api/messages` is the JSON list. */
  httpUrl: string;
  messages(): CaughtMail[];
  /** Resolves with the first message (already received or arriving) that matches. */
  waitFor(
    match: (mail: CaughtMail) => boolean,
    timeoutMs?: number,
  ): Promise<CaughtMail>;
  clear(): void;
  stop(): Promise<void>;
}

export async function startMailCatcher(
  { smtpPort = 0, httpPort = 0 }: { smtpPort?: number; httpPort?: number } = {},
): Promise<MailCatcher> {
  const inbox: CaughtMail[] = [];
  const waiters = new Set<() => void>();
  let nextId = 1;

  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    banner: "authjs-supabase-edge mail catcher",
    onData(stream, session, callback) {
      simpleParser(stream).then((parsed) => {
        inbox.push({
          id: nextId++,
          from: parsed.from?.text ?? "",
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: parsed.subject ?? "",
          text: parsed.text ?? "",
          html: typeof parsed.html === "string" ? parsed.html : "",
          receivedAt: new Date().toISOString(),
        });
        for (const wake of waiters) wake();
        callback();
      }, (error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once("error", reject);
    smtp.listen(smtpPort, "127.0.0.1", () => resolve());
  });
  const boundSmtpPort = (smtp.server.address() as { port: number }).port;

  const http = Deno.serve(
    { hostname: "127.0.0.1", port: httpPort, onListen: () => {} },
    (req) => {
      const { pathname } = new URL(req.url);
      if (pathname === "/api/messages") return Response.json(inbox);
      if (pathname === "/") {
        return new Response(renderInbox(inbox), {
          headers: { "Content-Type": "text/html; charset=utf-8" },
        });
      }
      return new Response("Not found", { status: 404 });
    },
  );

  return {
    smtpUrl: `smtp://127.0.0.1:${boundSmtpPort}`,
    httpUrl: `http://127.0.0.1:${http.addr.port}`,
    messages: () => [...inbox],
    clear: () => void inbox.splice(0),
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = inbox.find(match);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found);
          return true;
        };
        const wake = () => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`No matching mail within ${timeoutMs} ms`));
        }, timeoutMs);
        if (!check()) waiters.add(wake);
      });
    },
    async stop() {
      await http.shutdown();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderInbox(inbox: CaughtMail[]): string {
  const items = [...inbox].reverse().map((m) => {
    const links = [...m.text.matchAll(/https?:\/\/\S+/g)].map((l) =>
      `<a href="${escapeHtml(l[0])}">${escapeHtml(l[0])}</a>`
    ).join("<br>");
    return `<article><h2>${escapeHtml(m.subject)}</h2>
<p>To ${escapeHtml(m.to.join(", "))} · ${escapeHtml(m.receivedAt)}</p>
<pre>${escapeHtml(m.text)}</pre><p>${links}</p></article>`;
  }).join("\n");
  return `<!doctype html><meta charset="utf-8"><title>Mail catcher</title>
<meta http-equiv="refresh" content="5">
<style>body{font:15px system-ui;max-width:50rem;margin:2rem auto}article{border-bottom:1px solid #ccc}pre{white-space:pre-wrap}</style>
<h1>Mail catcher</h1><p>${inbox.length} message(s); this page refreshes itself.</p>${
    items || "<p>No mail yet.</p>"
  }`;
}
