// The chat's metrics, served at /metrics in the Prometheus text format. Each
// chat server has a registry of its own (with the process and runtime
// collectors), so several servers in one process keep separate counts.
import registry from "silly-metrics/registry";
import type { Registry } from "silly-metrics/registry";
import counter from "silly-metrics/counter";
import type { Counter } from "silly-metrics/counter";
import gauge from "silly-metrics/gauge";
import type { Gauge } from "silly-metrics/gauge";
import processcollector from "silly-metrics/collector/process";
import sillycollector from "silly-metrics/collector/silly";

export interface ChatMetrics {
  registry: Registry;
  /** WebSocket sessions open now. */
  sockets: Gauge;
  /** Text messages received from clients, and their bytes. */
  messagesin: Counter;
  bytesin: Counter;
  /** WebSocket messages written to clients (one per recipient), and their bytes. */
  messagesout: Counter;
  bytesout: Counter;
  /** Clients dropped because their unsent backlog grew too large. */
  dropped: Counter;
  /** With Redis: publishes that went out (events, rosters, hellos, byes), that failed, and the other processes' received. */
  relayed: Counter;
  relayfailed: Counter;
  relayin: Counter;
}

export function chatmetrics(): ChatMetrics {
  const m: ChatMetrics = {
    registry: registry.new(),
    sockets: gauge("chat_sockets_open", "WebSocket sessions open now."),
    messagesin: counter("chat_messages_received_total", "Text messages received from clients."),
    bytesin: counter("chat_received_bytes_total", "Bytes of the text messages received from clients."),
    messagesout: counter("chat_messages_sent_total", "WebSocket messages written to clients, one per recipient."),
    bytesout: counter("chat_sent_bytes_total", "Bytes of the WebSocket messages written to clients."),
    dropped: counter("chat_clients_dropped_total", "Clients dropped because they read too slowly."),
    relayed: counter("chat_redis_published_total", "Publishes to the other chat processes through Redis (events, rosters, hellos, byes)."),
    relayfailed: counter("chat_redis_publish_failures_total", "Publishes that Redis did not take."),
    relayin: counter("chat_redis_received_total", "Publishes of the other chat processes received through Redis."),
  };
  const own = [m.sockets, m.messagesin, m.bytesin, m.messagesout, m.bytesout, m.dropped, m.relayed, m.relayfailed, m.relayin];
  for (const metric of own) m.registry.register(metric);
  m.registry.register(sillycollector.new());
  m.registry.register(processcollector.new());
  return m;
}
