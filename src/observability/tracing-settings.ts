import type { Config } from '../config/load.js';

/**
 * Whether and where to trace: the OTEL_* variables as config/schema.ts reads them. In a file of
 * its own so that tracing.ts (which loads otel.ts) and otel.ts share it without importing each
 * other.
 */
export type TracingSettings = Config['tracing'];
