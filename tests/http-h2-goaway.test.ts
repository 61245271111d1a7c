// The watch on the frames node:http2 sends (packages/silly-net-http/src/h2/goaway.ts),
// without sockets: it finds a GOAWAY with an error code however the bytes are
// cut, past the client's preface, and passes over every other frame, NO_ERROR
// GOAWAYs and payloads that merely look like a GOAWAY header.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GoawayWatch, PREFACE_LENGTH } from "../packages/silly-net-http/src/h2/goaway.js";

function frame(type: number, payload: Buffer, stream = 0): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

function goaway(code: number, debug = ""): Buffer {
  const p = Buffer.alloc(8 + debug.length);
  p.writeUInt32BE(5, 0); // last stream id
  p.writeUInt32BE(code, 4);
  p.write(debug, 8);
  return frame(7, p);
}

const SETTINGS = frame(4, Buffer.alloc(6));
const PING = frame(6, Buffer.alloc(8));
// DATA whose payload is a GOAWAY frame with an error: only frame headers count.
const DECOY = frame(0, goaway(2), 1);

/** Every error code the watch reports when `bytes` arrive in pieces of `size`. */
function feed(watch: GoawayWatch, bytes: Buffer, size: number): number[] {
  const codes: number[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const c = watch.push(bytes.subarray(at, at + size));
    if (c !== 0) codes.push(c);
  }
  return codes;
}

test("a GOAWAY with an error code is reported once, however the bytes are cut", () => {
  const bytes = Buffer.concat([SETTINGS, DECOY, PING, goaway(0, "bye"), goaway(1, "protocol error"), PING]);
  for (let size = 1; size <= bytes.length; size++) {
    assert.equal(feed(new GoawayWatch(), bytes, size), [1], `pieces of ${size}`);
  }
});

test("the client's preface is passed over first", () => {
  const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  assert.is(preface.length, PREFACE_LENGTH);
  const bytes = Buffer.concat([preface, SETTINGS, goaway(5)]);
  for (const size of [1, 7, 24, 25, bytes.length]) assert.equal(feed(new GoawayWatch(PREFACE_LENGTH), bytes, size), [5], `pieces of ${size}`);
});

test("no error, no report: NO_ERROR GOAWAYs and other frames", () => {
  const bytes = Buffer.concat([SETTINGS, DECOY, goaway(0), PING, frame(7, Buffer.alloc(0))]);
  for (let size = 1; size <= bytes.length; size += 3) assert.equal(feed(new GoawayWatch(), bytes, size), [], `pieces of ${size}`);
});

test.run();
