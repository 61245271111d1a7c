// silly.metrics.collector.silly: the runtime's state: tasks, the JavaScript
// heap, and how busy the event loop has been since the previous scrape.
import { performance } from "node:perf_hooks";
import task from "silly/task";
import type { Collector, Metric } from "../metric.js";

export class SillyCollector implements Collector {
  readonly name = "silly";
  private last = performance.eventLoopUtilization();

  collect(buf: Metric[]): void {
    const mem = process.memoryUsage();
    const now = performance.eventLoopUtilization();
    const elu = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
    buf.push(
      { name: "silly_tasks_runnable", help: "Tasks queued to start or resume.", kind: "gauge", value: task.readycount() },
      { name: "silly_tasks", help: "Tasks alive (running, ready or waiting).", kind: "gauge", value: task.inspect().length },
      { name: "nodejs_heap_used_bytes", help: "JavaScript heap in use, in bytes.", kind: "gauge", value: mem.heapUsed },
      { name: "nodejs_external_memory_bytes", help: "Memory of buffers and other objects outside the JavaScript heap, in bytes.", kind: "gauge", value: mem.external },
      { name: "nodejs_eventloop_utilization", help: "Share of time the event loop was busy since the previous collection (0 to 1).", kind: "gauge", value: Number.isFinite(elu) ? elu : 0 },
    );
  }
}

/** A collector of the runtime's silly_* and nodejs_* metrics. */
export function create(): SillyCollector {
  return new SillyCollector();
}

const sillycollector = { new: create, create, SillyCollector };
export { create as new };
export default sillycollector;
