// silly.metrics.collector.process: CPU time and memory of this process.
import type { Collector, Metric } from "../metric.js";

const startseconds = Date.now() / 1000 - process.uptime();

export class ProcessCollector implements Collector {
  readonly name = "process";

  collect(buf: Metric[]): void {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    buf.push(
      { name: "process_cpu_seconds_user", help: "User CPU time spent, in seconds.", kind: "counter", value: cpu.user / 1e6 },
      { name: "process_cpu_seconds_system", help: "System CPU time spent, in seconds.", kind: "counter", value: cpu.system / 1e6 },
      { name: "process_resident_memory_bytes", help: "Resident memory size, in bytes.", kind: "gauge", value: mem.rss },
      { name: "process_heap_bytes", help: "Size of the JavaScript heap, in bytes.", kind: "gauge", value: mem.heapTotal },
      { name: "process_start_time_seconds", help: "Start time of the process, in seconds since the Unix epoch.", kind: "gauge", value: startseconds },
    );
  }
}

/** A collector of process_* metrics. */
export function create(): ProcessCollector {
  return new ProcessCollector();
}

const processcollector = { new: create, create, ProcessCollector };
export { create as new };
export default processcollector;
