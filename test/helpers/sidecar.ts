import { Counter, Registry } from 'prom-client';
import type { SeedAccess } from '../../src/http/access.js';
import type { HealthReport, ServerDeps } from '../../src/http/server.js';
import type { RecordsQuery, SeedRequest } from '../../src/seeding/seed.js';

/** The sidecar's dependencies with in-memory seed and records calls, for buildServer() in tests. */

export const TOKEN = 'test-token-0123456789abcdef';
export const OPEN: SeedAccess = { token: undefined, ratePerMinute: 1000 };
export const WITH_TOKEN: SeedAccess = { token: TOKEN, ratePerMinute: 1000 };

export interface Calls {
  readonly seeded: SeedRequest[];
  readonly listed: RecordsQuery[];
}

export function sidecarDeps(
  overrides: Partial<ServerDeps> = {},
  access: SeedAccess | 'disabled' = OPEN,
): ServerDeps & Calls {
  const calls: Calls = { seeded: [], listed: [] };
  const registry = new Registry();
  new Counter({ name: 'sqs_worker_test_total', help: 'test', registers: [registry] }).inc(3);
  const ok: HealthReport = { ok: true, checks: { consumer: { ok: true } } };
  return {
    ...calls,
    registry,
    liveness: () => ok,
    readiness: () => ok,
    // A measured delay depends on the machine's load: tests that need one inject it.
    eventLoopDelayMs: () => 0,
    seed: {
      access: access === 'disabled' ? undefined : access,
      send: async (request) => {
        calls.seeded.push(request);
        const count = 'count' in request ? request.count : request.messages.length;
        const duplicates = 'count' in request ? (request.duplicates ?? 0) : 0;
        return { sent: count + duplicates, unique: count, duplicates, keys: [] };
      },
      records: async (query) => {
        calls.listed.push(query);
        return { records: [], next: null };
      },
    },
    ...overrides,
  };
}

/** The status page's section headings, in page order (unit and browser tests look for each). */
export const STATUS_HEADINGS = [
  'Worker status',
  'Messages settled per second, by outcome',
  'In flight',
  'Queue depth',
  'Readiness',
  'Recently settled messages',
  'Seed messages',
] as const;
