import { test } from "uvu";
import * as assert from "uvu/assert";
import counter, { Counter, CounterVec } from "silly-metrics/counter";
import gauge from "silly-metrics/gauge";
import histogram, { DEFAULT_BUCKETS } from "silly-metrics/histogram";
import registry from "silly-metrics/registry";
import collector from "silly-metrics/collector";
import type { Collector, Metric } from "silly-metrics/collector";
import processcollector from "silly-metrics/collector/process";
import sillycollector from "silly-metrics/collector/silly";
import prometheus from "silly-metrics/prometheus";
import http from "silly-net-http";
import { family, parse, parseuntyped, samples } from "./lib/promtext.js";

test("counter: inc, add, labels; a counter only goes up", () => {
  const c = counter("requests_total", "Total requests");
  assert.instance(c, Counter);
  c.inc();
  c.add(2.5);
  assert.is(c.value, 3.5);
  assert.throws(() => c.add(-1), /can only increase/);
  assert.throws(() => c.add(Number.NaN), /must be a number/);
  const v = counter("http_requests_total", "By method and status", ["method", "status"]);
  assert.instance(v, CounterVec);
  v.labels("GET", 200).inc();
  v.labels("GET", "200").inc(); // numbers and strings name the same series
  v.labels("POST", "500").add(3);
  assert.is(v.labels("GET", "200").value, 2);
  assert.equal([...v.metrics.keys()], ['method="GET",status="200"', 'method="POST",status="500"']);
  // @ts-expect-error two label values are needed
  assert.throws(() => v.labels("GET"), /2 values expected/);
  const buf: Metric[] = [];
  c.collect(buf);
  v.collect(buf);
  assert.is(buf.length, 2);
  assert.is(buf[0], c);
});

test("gauge: set, inc, dec, add, sub, with and without labels", () => {
  const g = gauge("temperature_celsius", "Temperature");
  g.set(25.5);
  g.inc();
  g.dec();
  g.add(50);
  g.sub(5.5);
  g.add(-10);
  assert.is(g.value, 60);
  const v = gauge("cpu_usage_percent", "By core", ["core"]);
  v.labels(0).set(45.2);
  v.labels(1).set(-3);
  assert.is(v.labels("0").value, 45.2);
  assert.is(v.metrics.size, 2);
});

test("histogram: cumulative buckets, sum and count; sorted custom buckets", () => {
  const h = histogram("request_latency_seconds", "Latency");
  assert.equal(h.buckets, DEFAULT_BUCKETS);
  for (const x of [0.005, 0.123, 2.456, 15]) h.observe(x);
  assert.is(h.count, 4);
  assert.ok(Math.abs(h.sum - 17.584) < 1e-9);
  const at = (le: number) => h.bucketcounts[h.buckets.indexOf(le)];
  assert.is(at(0.005), 1, "le is inclusive");
  assert.is(at(0.25), 2);
  assert.is(at(2.5), 3);
  assert.is(at(10), 3, "15 only lands in +Inf");
  const sized = histogram("response_size_bytes", "Sizes", undefined, [1000, 100, 500, 100]);
  assert.equal(sized.buckets, [100, 500, 1000]);
  const vec = histogram("db_seconds", "By op", ["op"], [0.1, 1]);
  vec.labels("read").observe(0.05);
  vec.labels("read").observe(0.5);
  vec.labels("write").observe(3);
  assert.equal(vec.labels("read").bucketcounts, [1, 2]);
  assert.is(vec.labels("write").count, 1);
});

test("names, label names and buckets are checked", () => {
  assert.throws(() => counter("bad-name", "x"), /not a metric name/);
  assert.throws(() => counter("9lives", "x"), /not a metric name/);
  assert.throws(() => gauge("ok", "x", ["bad label"]), /not a label name/);
  assert.throws(() => gauge("ok", "x", ["__reserved"]), /not a label name/);
  assert.throws(() => gauge("ok", "x", ["a", "a"]), /appears twice/);
  assert.throws(() => histogram("h", "x", ["le"]), /not a label name/);
  assert.throws(() => histogram("h", "x", undefined, [1, Infinity]), /finite/);
  assert.throws(() => counter("c", 42 as never), /help/);
});

test("registry: registration order, no duplicates, unregister, custom collectors", () => {
  const reg = registry.new();
  const a = counter("aaa", "A");
  const b = gauge("bbb", "B");
  const custom: Collector = {
    name: "custom",
    collect(buf) {
      buf.push({ name: "custom_up", help: "Always 1", kind: "gauge", value: 1 });
    },
  };
  reg.register(b);
  reg.register(a);
  reg.register(a);
  reg.register(custom);
  assert.equal(reg.collect().map((m) => m.name), ["bbb", "aaa", "custom_up"]);
  reg.unregister(a);
  reg.unregister(a);
  assert.equal(reg.collect().map((m) => m.name), ["bbb", "custom_up"]);
  assert.throws(() => reg.register({ name: "x" } as never), /not a collector/);
});

test("the exposition parses: help, types, label escapes, special values", () => {
  const reg = registry.new();
  const c = counter("app_requests_total", 'Requests "served"\\handled\nby path', ["path"]);
  c.labels('/a"b\\c\nd').add(2);
  c.labels("/").inc();
  const g = gauge("app_temperature", "Temp");
  g.set(-1.5e-7);
  reg.register(c);
  reg.register(g);
  reg.register({
    name: "special",
    collect(buf) {
      buf.push({ name: "app_inf", help: "", kind: "gauge", value: Infinity });
      buf.push({ name: "app_nan", help: "", kind: "gauge", value: Number.NaN });
      buf.push({
        name: "app_by_shard", help: "", kind: "gauge",
        metrics: new Map([[collector.labelset(["shard"], [1]), { value: -Infinity }]]),
      });
    },
  });
  const families = parse(prometheus.gather(reg));
  const req = family(families, "app_requests_total");
  assert.is(req.type, "COUNTER");
  assert.is(req.help, 'Requests "served"\\handled\nby path');
  assert.equal(req.metrics, [
    { value: "2", labels: { path: '/a"b\\c\nd' } },
    { value: "1", labels: { path: "/" } },
  ]);
  assert.is(Number(family(families, "app_temperature").metrics[0]!.value), -1.5e-7);
  assert.is(family(families, "app_temperature").type, "GAUGE");
  assert.is(family(families, "app_inf").metrics[0]!.value, "+Inf");
  assert.is(family(families, "app_nan").metrics[0]!.value, "NaN");
  assert.equal(family(families, "app_by_shard").metrics, [{ value: "-Inf", labels: { shard: "1" } }]);
});

test("a histogram's exposition: cumulative buckets up to +Inf, sum, count, per label set", () => {
  const reg = registry.new();
  const h = histogram("latency_seconds", "Latency", undefined, [0.1, 0.5, 1]);
  for (const x of [0.05, 0.3, 0.3, 0.7, 4]) h.observe(x);
  const v = histogram("size_bytes", "Sizes", ["route"], [100, 1000]);
  v.labels("/a").observe(50);
  v.labels("/a").observe(500);
  v.labels("/b").observe(5000);
  reg.register(h);
  reg.register(v);
  const text = prometheus.gather(reg);
  const lat = family(parse(text), "latency_seconds");
  assert.is(lat.type, "HISTOGRAM");
  assert.equal(lat.metrics, [{ buckets: { "0.1": "1", "0.5": "3", "1": "4", "+Inf": "5" }, count: "5", sum: "5.35" }]);
  assert.is(family(parse(text), "size_bytes").type, "HISTOGRAM");
  // The npm parser merges labelled histogram series; read their sample lines untyped.
  const untyped = parseuntyped(text);
  assert.equal(samples(untyped, "size_bytes_bucket").map((m) => [m.labels, m.value]), [
    [{ route: "/a", le: "100" }, "1"],
    [{ route: "/a", le: "1000" }, "2"],
    [{ route: "/a", le: "+Inf" }, "2"],
    [{ route: "/b", le: "100" }, "0"],
    [{ route: "/b", le: "1000" }, "0"],
    [{ route: "/b", le: "+Inf" }, "1"],
  ]);
  assert.equal(samples(untyped, "size_bytes_sum"), [
    { value: "550", labels: { route: "/a" } },
    { value: "5000", labels: { route: "/b" } },
  ]);
  assert.equal(samples(untyped, "size_bytes_count").map((m) => m.value), ["2", "1"]);
});

test("process and runtime collectors report live values", async () => {
  const reg = registry.new();
  reg.register(processcollector.new());
  reg.register(sillycollector.new());
  await new Promise((r) => setTimeout(r, 5));
  const families = parse(prometheus.gather(reg));
  const num = (name: string) => Number(family(families, name).metrics[0]!.value);
  assert.ok(num("process_resident_memory_bytes") > 1e6);
  assert.ok(num("process_heap_bytes") > 0);
  assert.ok(num("process_cpu_seconds_user") > 0);
  assert.is(family(families, "process_cpu_seconds_user").type, "COUNTER");
  assert.ok(Math.abs(num("process_start_time_seconds") - (Date.now() / 1000 - process.uptime())) < 5);
  assert.ok(num("silly_tasks") >= 0);
  assert.ok(num("silly_tasks_runnable") >= 0);
  assert.ok(num("nodejs_heap_used_bytes") > 0);
  const elu = num("nodejs_eventloop_utilization");
  assert.ok(elu >= 0 && elu <= 1);
});

test("prometheus: metrics register globally; the handler serves them over HTTP", async () => {
  const hits = prometheus.counter("test_hits_total", "Hits", ["route"]);
  hits.labels("/x").add(7);
  const up = prometheus.gauge("test_up", "Up");
  up.set(1);
  const lat = prometheus.histogram("test_seconds", "Latency", undefined, [1]);
  lat.observe(0.5);
  const [server, err] = await http.listen({ addr: "127.0.0.1:0", handler: prometheus.handler() });
  assert.ok(server, err);
  const url = `http://${server!.addr}/metrics`;
  const res = await fetch(url);
  assert.is(res.status, 200);
  assert.is(res.headers.get("content-type"), prometheus.CONTENT_TYPE);
  const families = parse(await res.text());
  assert.equal(family(families, "test_hits_total").metrics, [{ value: "7", labels: { route: "/x" } }]);
  assert.is(family(families, "test_up").metrics[0]!.value, "1");
  assert.equal(family(families, "test_seconds").metrics[0]!.buckets, { "1": "1", "+Inf": "1" });
  for (const name of ["process_resident_memory_bytes", "silly_tasks_runnable"]) family(families, name);
  const head = await fetch(url, { method: "HEAD" });
  assert.is(head.status, 200);
  assert.is(await head.text(), "");
  const post = await fetch(url, { method: "POST", body: "x" });
  assert.is(post.status, 405);
  assert.is(post.headers.get("allow"), "GET, HEAD");
  await post.text();
  // The global registry: unregistering removes a metric from the exposition.
  prometheus.registry().unregister(up);
  assert.not.match(prometheus.gather(), /test_up/);
  server!.close();
});

test.run();
