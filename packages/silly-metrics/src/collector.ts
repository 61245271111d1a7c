// silly.metrics.collector: the interface a custom collector implements, the
// shapes it may append, and labelset() to key the series of a vector.
export type { Collector, HistogramSample, Kind, LabelValues, Metric, Sample } from "./metric.js";
import { labelset } from "./metric.js";
export { labelset };

const collector = { labelset };
export default collector;
