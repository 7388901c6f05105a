import { connect } from "/work/wt14/mod/cli/client.ts";
const [port] = Deno.args;
const client = connect(`127.0.0.1:${port}`);
let n = 0;
const s = client.WatchWorkerLogs({ task_id: "baseline", follow: true });
s.on("data", () => n++);
await new Promise((r) => s.on("end", r));
console.log("received", n);
client.close();
