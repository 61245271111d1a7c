// Two chat processes sharing one redis-server, a Chromium page on each: each
// page sees the other's messages and presence; when one process is killed,
// its user leaves the other page's list, and its own page reconnects once
// a chat process listens on its port again.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { havechromium, launch } from "./lib/chromium.js";
import type { Browser, Page } from "playwright-core";
import { startredis } from "./lib/redis.js";
import type { RedisServer } from "./lib/redis.js";
import { chatprocess } from "./lib/chat.js";
import type { ChatProcess } from "./lib/chat.js";

const HEARTBEAT = 200;

if (havechromium()) {
  let browser: Browser;
  let redis: RedisServer;
  const procs: ChatProcess[] = [];

  const chat = async (port = 0): Promise<ChatProcess> => {
    const p = await chatprocess([`--redis=redis://${redis.addr}`, `--heartbeat=${HEARTBEAT}`, ...(port === 0 ? [] : [`--port=${port}`])]);
    procs.push(p);
    return p;
  };

  test.before(async () => {
    redis = await startredis();
    browser = await launch();
  });

  test.after(async () => {
    await browser?.close();
    for (const p of procs) {
      p.child.proc.kill("SIGKILL");
      await p.child.exited();
    }
    await redis?.stop();
  });

  async function open(addr: string, name: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`http://${addr}/?name=${name}`);
    await page.waitForFunction((n) => document.getElementById("status")!.textContent === `connected as ${n}`, name);
    return page;
  }

  const online = (page: Page, has: string, yes = true): Promise<unknown> =>
    page.waitForFunction(([n, y]) => document.getElementById("online")!.textContent!.includes(n as string) === y, [has, yes] as const, { timeout: 15_000 });

  test("a page on each of two processes: messages and presence cross; a killed process's user leaves, then comes back", async () => {
    const [one, two] = await Promise.all([chat(), chat()]);
    const ann = await open(one.addr, "ann");
    const bob = await open(two.addr, "bob");
    await online(ann, "bob");
    await online(bob, "ann");

    await ann.fill("#text", "hello from process one");
    await ann.press("#text", "Enter");
    await bob.waitForFunction(() => document.getElementById("log")!.textContent!.includes("annhello from process one"));
    await bob.fill("#text", "hi from two");
    await bob.press("#text", "Enter");
    await ann.waitForFunction(() => document.getElementById("log")!.textContent!.includes("bobhi from two"));

    // Process two dies: bob leaves ann's list, and bob's page waits to reconnect.
    two.child.proc.kill("SIGKILL");
    await two.child.exited();
    await online(ann, "bob", false);
    await ann.waitForFunction(() => document.getElementById("log")!.textContent!.includes("bob left"));
    await bob.waitForFunction(() => document.getElementById("status")!.textContent!.includes("reconnecting"));
    // A new process on the same port: bob's page is back in the room, with its name.
    await chat(Number(two.addr.split(":")[1]));
    await bob.waitForFunction(() => document.getElementById("status")!.textContent === "connected as bob", undefined, { timeout: 20_000 });
    await online(ann, "bob");
    await online(bob, "ann");
    await bob.fill("#text", "back again");
    await bob.press("#text", "Enter");
    await ann.waitForFunction(() => document.getElementById("log")!.textContent!.includes("bobback again"));
    await ann.close();
    await bob.close();
  });
}

test.run();
