// Headless Chromium opens its WebSocket over HTTP/2 (RFC 8441): the page comes
// over an h2 connection, and the server announces extended CONNECT on it, so
// the browser's `new WebSocket("wss://...")` becomes a stream of that very
// connection. The server checks that the socket's stream is HTTP/2, on the
// page's connection, and that messages flow both ways; permessage-deflate is
// negotiated on the extended CONNECT as on an upgrade.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { havechromium, launch } from "./lib/chromium.js";
import type { Browser } from "playwright-core";
import http from "silly-net-http";
import type { ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import logger from "silly/logger";
import { bounded } from "./lib/bounded.js";

logger.setlevel(logger.ERROR);

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const certs = [{ cert: fixture("localhost.pem"), key: fixture("localhost-key.pem") }];

if (havechromium()) {
  let browser: Browser;
  test.before(async () => {
    browser = await launch();
  });
  test.after(async () => {
    await browser?.close();
  });

  test("Chromium opens its WebSocket as a stream of the page's HTTP/2 connection; messages flow both ways, compressed", bounded(60_000, async () => {
    const pages: ServerStream[] = [];
    const sockets: ServerStream[] = [];
    const [server, err] = await http.listen({
      addr: "127.0.0.1:0",
      certs,
      alpnprotos: ["h2", "http/1.1"],
      handler: async (stream) => {
        if (stream.path !== "/ws") {
          pages.push(stream);
          stream.respond(200, { "content-type": "text/html" });
          return void stream.close("<!doctype html><title>h2</title>");
        }
        sockets.push(stream);
        const [sock] = await websocket.upgrade(stream, { compression: true });
        if (sock === undefined) return;
        await sock.write("hello from the server", "text");
        for (;;) {
          const [data, typ] = await sock.read();
          if (data === undefined || typ === "close") break;
          if (typ === "text") await sock.write(`echo:${data}`, "text");
        }
      },
    });
    assert.ok(server, err);
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      const res = await page.goto(`https://localhost:${server!.port}/`);
      assert.is(res?.status(), 200);
      const got = await page.evaluate(
        (url) =>
          new Promise<string[]>((resolve, reject) => {
            const seen: string[] = [];
            const ws = new WebSocket(url);
            ws.onopen = () => seen.push(`extensions: ${ws.extensions}`);
            ws.onmessage = (e) => {
              seen.push(String(e.data));
              if (seen.length === 2) ws.send("hi from Chromium");
              else ws.close(1000);
            };
            ws.onclose = () => resolve(seen);
            ws.onerror = () => reject(new Error("the WebSocket failed"));
          }),
        `wss://localhost:${server!.port}/ws`,
      );
      assert.equal(got, ["extensions: permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", "hello from the server", "echo:hi from Chromium"]);
      assert.is(pages[0]!.version, "HTTP/2", "the page came over HTTP/2");
      assert.is(sockets.length, 1);
      assert.is(sockets[0]!.version, "HTTP/2", "the WebSocket's stream is HTTP/2");
      assert.is(sockets[0]!.method, "CONNECT");
      assert.is(sockets[0]!.protocol, "websocket");
      assert.ok(sockets[0]!.conn === pages[0]!.conn, "on the page's connection");
    } finally {
      await context.close();
      server!.close();
    }
  }));
}

test.run();
