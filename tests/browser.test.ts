// End to end in headless Chromium (Debian's package, driven by playwright-core):
// two pages chat through examples/chat. Chromium's own handshake offers
// permessage-deflate, which the server must decline and still accept.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { startchat } from "../examples/chat/server.js";
import type { Chat } from "../examples/chat/server.js";
import http from "silly-net-http";
import websocket from "silly-net-websocket";
import logger from "silly/logger";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
logger.setlevel(logger.ERROR);

if (!existsSync(CHROMIUM)) {
  test("Chromium is installed", () => {
    assert.unreachable(`no Chromium at ${CHROMIUM}: \`bash scripts/peers.sh\` installs Debian's (or set CHROMIUM_PATH)`);
  });
} else {
  let browser: Browser;
  let chat: Chat;

  test.before(async () => {
    const [c, err] = await startchat("127.0.0.1:0");
    if (c === undefined) throw new Error(err);
    chat = c;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
  });

  test.after(async () => {
    await browser?.close();
    await chat?.stop();
  });

  async function open(name: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`http://${chat.addr}/?name=${name}`);
    await page.waitForFunction((n) => document.getElementById("status")!.textContent === `connected as ${n}`, name);
    return page;
  }

  test("Chromium's handshake (offering permessage-deflate) is accepted without extensions", async () => {
    const seen: { offered?: string; answered?: string } = {};
    const [server] = await http.listen({
      addr: "127.0.0.1:0",
      handler: async (stream) => {
        if (stream.path !== "/ws") {
          stream.respond(200, { "content-type": "text/html" });
          stream.close("<!doctype html><title>probe</title>");
          return;
        }
        seen.offered = stream.header["sec-websocket-extensions"];
        const [sock] = await websocket.upgrade(stream);
        if (sock === undefined) return;
        const [data] = await sock.read();
        await sock.write(`echo:${String(data)}`, "text");
        await sock.close();
      },
    });
    const page = await browser.newPage();
    await page.goto(`http://${server!.addr}/`);
    const reply = await page.evaluate(
      (url) =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(url);
          ws.onopen = () => ws.send("hi");
          ws.onmessage = (e) => resolve(`${String(e.data)}|ext=${ws.extensions}`);
          ws.onerror = () => reject(new Error("websocket error"));
        }),
      `ws://${server!.addr}/ws`,
    );
    assert.match(seen.offered ?? "", /permessage-deflate/);
    assert.is(reply, "echo:hi|ext=");
    await page.close();
    server!.close();
  });

  test("two pages join, see each other's messages and presence, and a leave", async () => {
    const ann = await open("ann");
    const bob = await open("bob");
    await ann.waitForFunction(() => document.getElementById("online")!.textContent!.includes("bob"));
    await bob.waitForFunction(() => document.getElementById("online")!.textContent!.includes("ann"));

    await ann.fill("#text", "hello from ann");
    await ann.click("#send");
    await bob.waitForFunction(() => document.getElementById("log")!.textContent!.includes("annhello from ann"));

    await bob.fill("#text", "hi ann, 你好");
    await bob.press("#text", "Enter");
    await ann.waitForFunction(() => document.getElementById("log")!.textContent!.includes("bobhi ann, 你好"));

    await bob.close();
    await ann.waitForFunction(() => document.getElementById("log")!.textContent!.includes("bob left"));
    await ann.waitForFunction(() => !document.getElementById("online")!.textContent!.includes("bob"));
    const online = await ann.textContent("#online");
    assert.is(online, "ann");
    await ann.close();
  });
}

test.run();
