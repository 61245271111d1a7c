// Your silly app. Run it with `npm start -- --port=8080`, type-check it with
// `npm run check`. Configuration comes from --key=value arguments (silly/env).
import silly from "silly";
import env from "silly/env";
import logger from "silly/logger";
import signal from "silly/signal";
import http from "silly-net-http";
import prometheus from "silly-metrics/prometheus";

const host = String(env.get("host") ?? "127.0.0.1");
const port = String(env.get("port") ?? "8080");

const requests = prometheus.counter("app_requests_total", "Requests served", ["path"]);
const metrics = prometheus.handler();

const [server, err] = await http.listen({
  addr: `${host}:${port}`,
  handler: async (stream) => {
    if (stream.path === "/metrics") return metrics(stream);
    requests.labels(stream.path === "/" ? "/" : "other").inc();
    await stream.respond(200, { "content-type": "text/plain; charset=utf-8" });
    await stream.close(`Hello from silly ${silly.version}\n`);
  },
});
if (server === undefined) {
  logger.error("cannot listen on %s:%s: %s", host, port, err);
  await silly.exit(1);
} else {
  logger.info("listening on http://%s/", server.addr);
  const stop = async (sig: string): Promise<void> => {
    logger.info("%s: stopping", sig);
    server.close();
    await silly.exit(0);
  };
  signal("SIGINT", stop);
  signal("SIGTERM", stop);
}
