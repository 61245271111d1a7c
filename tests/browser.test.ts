// End to end in headless Chromium (Debian's package, driven by playwright-core):
// pages chat through examples/chat. Chromium's own handshake offers
// permessage-deflate: a server without compression declines it and still
// accepts; one with compression (the chat) agrees and messages flow. The
// page tells a guest its name and lets it change it, marks its own messages,
// shows times, fits 380 px, refuses a message too long with a notice, and
// reconnects with a growing delay; no request of any page fails.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createServer } from "node:net";
import { havechromium, launch } from "./lib/chromium.js";
import type { Browser, Page } from "playwright-core";
import { startchat } from "../examples/chat/server.js";
import type { Chat } from "../examples/chat/server.js";
import http from "silly-net-http";
import type { ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import logger from "silly/logger";
import { bounded } from "./lib/bounded.js";

logger.setlevel(logger.ERROR);

if (havechromium()) {
  let browser: Browser;
  let chat: Chat;
  /** Every response of 400 or more, and every failed request, of every page. */
  const failures: string[] = [];

  let pagehtml = "";
  test.before(async () => {
    const [c, err] = await startchat("127.0.0.1:0");
    if (c === undefined) throw new Error(err);
    chat = c;
    const [res] = await http.get(`http://${chat.addr}/`);
    pagehtml = res!.body.toString();
    browser = await launch();
  });

  test.after(async () => {
    await browser?.close();
    await chat?.stop();
  });

  /** A page of the chat; without a name, a guest's. */
  async function open(name = "", width = 1000): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 700 } });
    page.on("response", (r) => {
      if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`);
    });
    page.on("requestfailed", (r) => failures.push(`failed ${r.url()}`));
    await page.goto(`http://${chat.addr}/${name === "" ? "" : `?name=${name}`}`);
    await page.waitForFunction((n) => (document.getElementById("status")!.textContent ?? "").startsWith(`connected as ${n}`), name);
    return page;
  }

  /** Serves a blank page for anything but /ws; true when it did. */
  function probepage(stream: ServerStream): boolean {
    if (stream.path === "/ws") return false;
    stream.respond(200, { "content-type": "text/html" });
    stream.close("<!doctype html><title>probe</title>");
    return true;
  }

  const logtext = (page: Page): Promise<string> => page.evaluate(() => document.getElementById("log")!.textContent!);

  test("Chromium's handshake (offering permessage-deflate) is accepted without extensions", async () => {
    const seen: { offered?: string; answered?: string } = {};
    const [server] = await http.listen({
      addr: "127.0.0.1:0",
      handler: async (stream) => {
        if (probepage(stream)) return;
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

  test("with compression on, Chromium agrees to permessage-deflate and compressed messages flow both ways", async () => {
    const [server] = await http.listen({
      addr: "127.0.0.1:0",
      handler: async (stream) => {
        if (probepage(stream)) return;
        const [sock] = await websocket.upgrade(stream, { compression: true });
        if (sock === undefined) return;
        for (;;) {
          const [data, typ] = await sock.read();
          if (data === undefined || typ === "close") break;
          await sock.write(`echo:${String(data)}`, "text");
        }
        await sock.close();
      },
    });
    const page = await browser.newPage();
    await page.goto(`http://${server!.addr}/`);
    const replies = await page.evaluate(
      (url) =>
        new Promise<string[]>((resolve, reject) => {
          const ws = new WebSocket(url);
          const sent = ["hi", "hello ".repeat(20_000), "你好".repeat(5000)];
          const got: string[] = [];
          ws.onopen = () => sent.forEach((m) => ws.send(m));
          ws.onmessage = (e) => {
            got.push(e.data === `echo:${sent[got.length]}` ? "ok" : `bad ${String(e.data).slice(0, 40)}`);
            if (got.length === sent.length) resolve([ws.extensions, ...got]);
          };
          ws.onerror = () => reject(new Error("websocket error"));
        }),
      `ws://${server!.addr}/ws`,
    );
    assert.equal(replies, ["permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", "ok", "ok", "ok"]);
    await page.close();
    server!.close();
  });

  test("the chat page's connection negotiates permessage-deflate (the 101's header, through CDP) and messages flow", async () => {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    const answered = new Promise<Record<string, string>>((resolve) =>
      cdp.on("Network.webSocketHandshakeResponseReceived", (e: { response: { status: number; headers: Record<string, string> } }) => resolve(e.response.headers)),
    );
    await page.goto(`http://${chat.addr}/?name=zip`);
    await page.waitForFunction(() => (document.getElementById("status")!.textContent ?? "").startsWith("connected as zip"));
    const headers = Object.fromEntries(Object.entries(await answered).map(([k, v]) => [k.toLowerCase(), v]));
    assert.is(headers["sec-websocket-extensions"], "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12");
    const other = await open("zap");
    const long = "compress me ".repeat(150);
    await page.fill("#text", long.trim());
    await page.press("#text", "Enter");
    await other.waitForFunction((t) => document.getElementById("log")!.textContent!.includes(`zip${t}`), long.trim());
    await other.fill("#text", "and back");
    await other.press("#text", "Enter");
    await page.waitForFunction(() => document.getElementById("log")!.textContent!.includes("zapand back"));
    await cdp.detach();
    await page.close();
    await other.close();
  });

  test("Chromium answers the server's keepalive pings and stays connected; a close code reaches it", bounded(30_000, async () => {
    const socks: import("silly-net-websocket").Socket[] = [];
    const [server] = await http.listen({
      addr: "127.0.0.1:0",
      handler: async (stream) => {
        if (probepage(stream)) return;
        const [sock] = await websocket.upgrade(stream, { pinginterval: 50, pongtimeout: 5000 });
        if (sock !== undefined) socks.push(sock);
      },
    });
    const page = await browser.newPage();
    await page.goto(`http://${server!.addr}/`);
    await page.evaluate((url) => {
      const w = window as unknown as { ws: WebSocket; wsclosed: Promise<string> };
      w.ws = new WebSocket(url);
      w.wsclosed = new Promise((resolve) => (w.ws.onclose = (e) => resolve(`${e.code} ${e.reason} ${e.wasClean}`)));
      return new Promise((resolve) => (w.ws.onopen = resolve));
    }, `ws://${server!.addr}/ws`);
    // A second client on the same server reads its own keepalive pings: a clock.
    const [clock] = await websocket.connect(`ws://${server!.addr}/ws`);
    for (let i = 0; i < 10; i++) {
      const [d, t] = await clock!.read();
      assert.is(t, "ping");
      await clock!.write(d, "pong");
    }
    const browserside = socks[0]!;
    assert.ok(browserside.isalive(), "Chromium's socket survived ten keepalive rounds");
    const reading = browserside.read();
    await page.evaluate(() => (window as unknown as { ws: WebSocket }).ws.send("still here"));
    assert.equal(await reading, ["still here", "text"], "no keepalive pong reached read()");
    await browserside.close(4001, "bye");
    assert.is(await page.evaluate(() => (window as unknown as { wsclosed: Promise<string> }).wsclosed), "4001 bye true");
    await clock!.close();
    await page.close();
    server!.close();
  }));

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

  test("a guest is told its name and can change it; the others see the rename", async () => {
    const watcher = await open("watcher");
    const guest = await open();
    const name = await guest.inputValue("#name");
    assert.match(name, /^guest-\d+$/);
    assert.is(await guest.textContent("#status"), `connected as ${name}`);
    await watcher.waitForFunction((n) => document.getElementById("online")!.textContent!.includes(n), name);
    await guest.fill("#name", "zora");
    await guest.click("#rename");
    await guest.waitForFunction(() => document.getElementById("status")!.textContent === "connected as zora");
    await watcher.waitForFunction((n) => document.getElementById("log")!.textContent!.includes(`${n} is now zora`), name);
    await watcher.waitForFunction(() => document.getElementById("online")!.textContent!.includes("zora"));
    assert.not.match(await watcher.textContent("#online") ?? "", /guest-/);
    await guest.close();
    await watcher.close();
  });

  test("own messages look different, and every message shows its time", async () => {
    const ann = await open("ann");
    const bob = await open("bob");
    await ann.fill("#text", "mine");
    await ann.press("#text", "Enter");
    await bob.waitForFunction(() => document.getElementById("log")!.textContent!.includes("annmine"));
    const own = await ann.locator("#log li.msg").last();
    const other = await bob.locator("#log li.msg").last();
    assert.is(await own.getAttribute("class"), "msg own");
    assert.is(await other.getAttribute("class"), "msg");
    const style = (l: typeof own) => l.evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.is.not(await style(own), await style(other), "an own message has a background of its own");
    const stamp = await other.locator("time").getAttribute("datetime");
    assert.ok(stamp !== null && Math.abs(Date.parse(stamp) - Date.now()) < 60_000, `time ${stamp}`);
    assert.match((await other.locator("time").textContent()) ?? "", /\d{1,2}:\d{2}/);
    await ann.close();
    await bob.close();
  });

  test("at 380 px wide nothing overflows: long words wrap, the controls fit", async () => {
    const narrow = await open("narrow-reader", 380);
    const other = await open("a-rather-long-name-of-31-chars_");
    await other.fill("#text", `${"averyveryverylongwordwithoutanyspaces".repeat(4)} and a few more words to wrap around`);
    await other.press("#text", "Enter");
    await narrow.waitForFunction(() => document.getElementById("log")!.textContent!.includes("averyvery"));
    const overflow = await narrow.evaluate(() => {
      const bad: string[] = [];
      if (document.documentElement.scrollWidth > window.innerWidth) bad.push(`page ${document.documentElement.scrollWidth}px`);
      for (const el of document.querySelectorAll<HTMLElement>("header, header *, aside, aside *, #log li, #form, #form *")) {
        const r = el.getBoundingClientRect();
        if (el.offsetParent === null && el.id !== "notice") continue; // not shown
        if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "auto") bad.push(`${el.tagName}#${el.id} clips its content`);
        if (r.right > window.innerWidth + 0.5 || r.left < -0.5) bad.push(`${el.tagName}#${el.id} outside the viewport`);
      }
      return bad;
    });
    assert.equal(overflow, []);
    // The box to type in stays usable.
    const box = (await narrow.locator("#text").boundingBox())!;
    assert.ok(box.width >= 150, `the text box is ${box.width}px wide`);
    await narrow.close();
    await other.close();
  });

  test("a message too long is refused with a notice instead of being cut", async () => {
    const ann = await open("ann");
    const bob = await open("bob");
    await ann.fill("#text", "z".repeat(2001));
    assert.match((await ann.textContent("#notice")) ?? "", /Too long: 2001 characters, the limit is 2000/);
    assert.is(await ann.isDisabled("#send"), true);
    await ann.press("#text", "Enter");
    assert.is(await ann.inputValue("#text"), "z".repeat(2001), "kept, so that it can be shortened");
    await ann.fill("#text", "z".repeat(2000));
    assert.is(await ann.textContent("#notice"), "");
    await ann.click("#send");
    await bob.waitForFunction(() => document.getElementById("log")!.textContent!.includes("z".repeat(2000)));
    assert.not.match(await logtext(bob), /z{2001}/);
    await ann.close();
    await bob.close();
  });

  test("after a disconnect the page reconnects, waiting longer each time", async () => {
    // A server that accepts and drops every connection: each attempt fails at once.
    let attempts = 0;
    const dropper = createServer((s) => {
      attempts++;
      s.destroy();
    });
    await new Promise<void>((resolve) => dropper.listen(0, "127.0.0.1", resolve));
    const port = (dropper.address() as { port: number }).port;
    const page = await browser.newPage();
    await page.route("**/*", (r) => r.fulfill({ status: 200, contentType: "text/html", body: pagehtml }));
    await page.goto(`http://127.0.0.1:${port}/?name=ann`);
    const t0 = Date.now();
    await page.waitForFunction(() => /reconnecting in \d+ s/.test(document.getElementById("status")!.textContent!));
    await new Promise((r) => setTimeout(r, 4000));
    const secs = (Date.now() - t0) / 1000;
    // Attempts at about 0, 0.5, 1.5, 3.5 s (with up to 25% jitter): no more than one per half second, and fewer later.
    assert.ok(attempts >= 2 && attempts <= 2 + secs / 0.5 / 2, `${attempts} connections in ${secs} s`);
    const status = await page.textContent("#status");
    assert.match(status ?? "", /^disconnected; reconnecting in \d+ s$/);
    await page.close();
    dropper.close();

    // The real chat stops and starts again on its port: the page comes back by itself, with its name.
    const ann = await open("ann");
    const addr = chat.addr;
    await chat.stop();
    await ann.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("disconnected (1001 server shutting down)"));
    const [again, err] = await startchat(addr);
    if (again === undefined) throw new Error(err);
    chat = again;
    await ann.waitForFunction(() => document.getElementById("status")!.textContent === "connected as ann", undefined, { timeout: 20_000 });
    const bob = await open("bob");
    await bob.fill("#text", "welcome back");
    await bob.press("#text", "Enter");
    await ann.waitForFunction(() => document.getElementById("log")!.textContent!.includes("bobwelcome back"));
    await ann.close();
    await bob.close();
  });

  test("no request of any page failed (the favicon included)", () => {
    assert.equal(failures, []);
  });
}

test.run();
