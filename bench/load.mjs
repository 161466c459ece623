// The bench's load client, run by Node in a process of its own: autocannon against one URL,
// each connection with headers of its own (one user per connection, as real traffic is), the
// header sets taken in turn. Prints autocannon's JSON result.
//
// Usage: node bench/load.mjs <url> <connections> <seconds> <JSON array of header objects>
import autocannon from "autocannon";

const [url, connections, seconds, headerSets] = process.argv.slice(2);
const sets = JSON.parse(headerSets ?? "[{}]");
let next = 0;
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  setupClient(client) {
    client.setHeaders(sets[next++ % sets.length]);
  },
});
process.stdout.write(JSON.stringify(result));
