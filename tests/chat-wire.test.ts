// The chat's protocol rules and presence bookkeeping, without sockets:
// client frames (plain and v2), names, the envelopes between processes,
// rosters and their expiry, the order of the online list.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  MAX_NAME, MAX_TEXT, checkname, decodeenvelope, decoderoster, decodeuser, encode, encodeenvelope, encoderoster, parseframe, queryname,
} from "../examples/chat/protocol.js";
import { Rosters, online } from "../examples/chat/presence.js";

test("a plain client's text frame is a message: trimmed, cut to the limit, nothing for blanks", () => {
  assert.equal(parseframe("  hello  ", false), { type: "message", text: "hello" });
  assert.equal(parseframe('{"type":"name","name":"x"}', false), { type: "message", text: '{"type":"name","name":"x"}' });
  assert.equal(parseframe(" \n\t ", false), { type: "none" });
  const long = parseframe("y".repeat(MAX_TEXT + 5), false);
  assert.equal(long, { type: "message", text: "y".repeat(MAX_TEXT) });
});

test("a v2 client's frame is a JSON command; a message too long is refused, not cut", () => {
  assert.equal(parseframe('{"type":"message","text":" hi "}', true), { type: "message", text: "hi" });
  assert.equal(parseframe('{"type":"message","text":"   "}', true), { type: "none" });
  assert.equal(parseframe(JSON.stringify({ type: "message", text: "z".repeat(MAX_TEXT) }), true), { type: "message", text: "z".repeat(MAX_TEXT) });
  const long = parseframe(JSON.stringify({ type: "message", text: "z".repeat(MAX_TEXT + 1) }), true);
  assert.equal(long, { type: "error", text: `message too long: ${MAX_TEXT + 1} characters, the limit is ${MAX_TEXT}` });
  assert.equal(parseframe('{"type":"name","name":" bob "}', true), { type: "name", name: "bob" });
  for (const bad of ["hello", "[1]", "null", '"text"', "{", '{"type":"message"}', '{"type":"message","text":5}', '{"type":"shout","text":"x"}']) {
    assert.is(parseframe(bad, true).type, "error", bad);
  }
});

test("names: ?name= is cleaned and cut; a v2 name is cleaned and refused when empty or too long", () => {
  assert.is(queryname("  ann\u0000\u001b "), "ann");
  assert.is(queryname("n".repeat(MAX_NAME + 3)), "n".repeat(MAX_NAME));
  assert.is(queryname(" \u0007 "), "");
  assert.equal(checkname(" ann\u0000 "), ["ann", undefined]);
  assert.equal(checkname("你好"), ["你好", undefined]);
  assert.is(checkname("  ")[1], "a name cannot be empty");
  assert.match(checkname("n".repeat(MAX_NAME + 1))[1]!, /at most 32 characters \(this one has 33\)/);
});

test("events are JSON objects with a type first", () => {
  const text = encode({ type: "message", name: "ann", text: 'say "hi"', at: 5 });
  assert.is(text, '{"type":"message","name":"ann","text":"say \\"hi\\"","at":5}');
});

test("envelopes between processes: ORIGIN KIND PAYLOAD; anything else is ignored", () => {
  const payload = encode({ type: "message", name: "a b", text: "x y", at: 1 });
  const s = encodeenvelope("abc123", "m", payload);
  assert.equal(decodeenvelope(s), { origin: "abc123", kind: "m", payload });
  assert.equal(decodeenvelope(encodeenvelope("o", "h")), { origin: "o", kind: "h", payload: "" });
  for (const bad of ["", "abc", " m x", "abc x payload", "abc mm payload", "abc m", "abcm payload"]) {
    assert.is(decodeenvelope(bad), undefined, JSON.stringify(bad));
  }
});

test("rosters and users: decoded only when well formed", () => {
  assert.equal(decoderoster(encoderoster(3000, [["ann", 1], ["bob", 2]])), { ttl: 3000, users: [["ann", 1], ["bob", 2]] });
  for (const bad of ["", "3000", "0 []", "-1 []", "x []", "3000 {", "3000 {}", '3000 [["ann"]]', '3000 [[1, 2]]']) {
    assert.is(decoderoster(bad), undefined, bad);
  }
  assert.equal(decodeuser(encode({ type: "join", name: "ann", at: 7 })), ["ann", 7]);
  for (const bad of ["", "{", "[]", '{"name":"ann"}', '{"at":1}']) assert.is(decodeuser(bad), undefined, bad);
});

test("Rosters: set, joins and leaves between rosters, bye, expiry", () => {
  const r = new Rosters();
  assert.is(r.set("p1", [["ann", 1]], 1000, 0), true);
  assert.is(r.set("p1", [["ann", 1]], 1000, 500), false, "the same users: no change");
  r.add("p1", ["bob", 2], 1000, 600);
  r.add("p2", ["cid", 3], 1000, 600); // a join from an origin not heard of yet
  assert.equal(r.users(), [["ann", 1], ["bob", 2], ["cid", 3]]);
  assert.is(r.remove("p1", "ann"), true);
  assert.is(r.remove("p1", "nobody"), false);
  assert.is(r.remove("p9", "ann"), false);
  // p1 was last refreshed at 500 (valid to 1500), p2 was made at 600 (valid to 1600).
  assert.equal(r.expire(1499), []);
  assert.equal(r.expire(1500), [["bob", 2]]);
  assert.is(r.size, 1);
  assert.equal(r.drop("p2"), [["cid", 3]]);
  assert.equal(r.drop("p2"), []);
  assert.is(r.size, 0);
  assert.is(r.set("p3", [], 1000, 0), false, "an empty roster changes nobody's list");
});

test("the online list: own users in join order; with others, by join time then name, the same on every process", () => {
  assert.equal(online([["zed", 5], ["amy", 1]], []), ["zed", "amy"]);
  const a = online([["ann", 10], ["bob", 20]], [["cid", 15], ["abe", 20]]);
  const b = online([["cid", 15], ["abe", 20]], [["ann", 10], ["bob", 20]]);
  assert.equal(a, ["ann", "cid", "abe", "bob"]);
  assert.equal(b, a);
});

test.run();
