import postgres from "postgres";
import { startTcpProxy } from "./dev/tcp_proxy.ts";
const proxy = await startTcpProxy({ targetHost: "127.0.0.1", targetPort: 5432 });
const sql = postgres(`postgres://postgres@127.0.0.1:${proxy.port}/postgres`, {
  max: 3,
  connect_timeout: 5,
  idle_timeout: 20,
  onnotice: () => {},
});
await sql`select 1`;
for (let round = 0; round < 5; round++) {
  const t0 = Date.now();
  const pending = Array.from(
    { length: 12 },
    (_, i) => sql`select ${i}::int as i, pg_sleep(0.01)`.then(() => "ok", (e) => e.code),
  );
  await new Promise((r) => setTimeout(r, round * 3));
  proxy.cut();
  const timer = setTimeout(() => console.log("round", round, "still pending after 8s"), 8000);
  const results = await Promise.all(pending);
  clearTimeout(timer);
  proxy.restore();
  console.log(round, Date.now() - t0, JSON.stringify(results));
}
console.log(await sql`select 2 as x`);
await sql.end();
await proxy.stop();
