// A child program for lazyload.test.ts: a plain HTTP/1.1 server and client
// with one WebSocket echo and one GET, then the live heap as JSON. With
// --preload it loads node:tls and node:http2 first, to show what they weigh.
import { liveheap } from "./liveheap.js";

if (process.argv.includes("--preload")) {
  await import("node:tls");
  await import("node:http2");
}
const { default: http } = await import("silly-net-http");
const { default: websocket } = await import("silly-net-websocket");

const [server, lerr] = await http.listen({
  addr: "127.0.0.1:0",
  handler: async (stream) => {
    if (stream.header["upgrade"] === undefined) {
      await stream.respond(200, { "content-type": "text/plain" });
      await stream.close("ok");
      return;
    }
    const [sock] = await websocket.upgrade(stream);
    if (sock === undefined) return;
    const [data] = await sock.read();
    if (data !== undefined) await sock.write(data, "text");
    await sock.close();
  },
});
if (server === undefined) throw new Error(lerr);
const [sock, cerr] = await websocket.connect(`ws://${server.addr}/`);
if (sock === undefined) throw new Error(cerr);
await sock.write("ping", "text");
const [echo] = await sock.read();
await sock.close();
const [res, gerr] = await http.get(`http://${server.addr}/`);
if (res === undefined) throw new Error(gerr);
const body = res.body;
server.close();
console.log(JSON.stringify({ echo: String(echo), body: String(body), heap: liveheap() }));
