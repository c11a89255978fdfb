import { bearerToken, duration, env, flag, group, host, hostList, int, maybe, port } from './leaves.js';

/**
 * The HTTP sidecar: where it listens, its connection limits and Host rule, and what the seed
 * routes and the status page serve.
 * Part of the one config schema (schema.ts), which lists the fields in the documented order.
 */
export const httpFields = {
  seed: group({
    /** undefined: on in embedded mode only. */
    enabled: env('SEED_ENABLED', maybe(flag()), {
      description:
        'Whether POST /seed and GET /records are served. Default: on in embedded mode, off otherwise; when on outside embedded mode, SEED_TOKEN is required.',
    }),
    token: env('SEED_TOKEN', maybe(bearerToken(16)), {
      description: 'Bearer token required by POST /seed and GET /records when set. Never logged.',
      secret: true,
    }),
    ratePerMinute: env('SEED_RATE_LIMIT', int(1, 100000), {
      default: '60',
      description:
        'Requests per minute per client address accepted by POST /seed, GET /records and the status page routes that carry credentials or act, one budget across all of them.',
    }),
  }),
  status: group({
    /** undefined: on in embedded mode only. */
    showKeys: env('STATUS_SHOW_KEYS', maybe(flag()), {
      description:
        'Whether the status page shows the keys of recent and failed deliveries: to loopback clients, or to anyone signed in with SEED_TOKEN when set. Default: on in embedded mode, off otherwise. Apart from SEED_ENABLED: opens neither POST /seed nor GET /records; counts, reasons and redacted errors show either way.',
    }),
  }),
  http: group({
    host: env('HTTP_HOST', host(), {
      default: '127.0.0.1',
      description:
        'Address the sidecar (health, metrics, seed) listens on. The default serves this machine only; a container sets 0.0.0.0 (the Dockerfile, compose file and Kubernetes manifests do).',
    }),
    port: env('HTTP_PORT', port('0 picks a free port'), {
      default: '8080',
      description: 'Port of the sidecar.',
    }),
    allowedHosts: env(
      'HTTP_ALLOWED_HOSTS',
      maybe(hostList('host names or addresses, comma-separated (no port, no scheme)')),
      {
        description:
          'Names besides localhost, 127.0.0.1 and [::1] that a request to /seed, /records or the status page may carry in its Host header (any port); every other Host is refused with 403, so a page of another site rebound to this address (DNS rebinding) reaches nothing. Probes and /metrics answer any Host.',
      },
    ),
    requestTimeoutMs: env('HTTP_REQUEST_TIMEOUT', duration(1, 300), {
      default: '10',
      description:
        'A request to the sidecar, headers and body, must arrive within this many seconds; else 408 and the connection is closed (headers alone: within 5 s, or this when shorter).',
    }),
    keepAliveTimeoutMs: env('HTTP_KEEP_ALIVE_TIMEOUT', duration(1, 600), {
      default: '5',
      description: 'An idle keep-alive connection to the sidecar is closed after this many seconds.',
    }),
    maxConnections: env('HTTP_MAX_CONNECTIONS', int(1, 65535), {
      default: '256',
      description:
        'Open connections to the sidecar at most. A new one over the cap replaces the oldest connection the server is not answering on (still sending its request, or idle), so stalled clients never keep the probes out; it is closed only when every connection carries a request being answered.',
    }),
  }),
};
