import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/load.js';
import { isLoopback, type SeedAccess } from './access.js';

/**
 * Whether a request may see the status page's protected parts (the keys of recent messages, the
 * seed form): the same policy as POST /seed and GET /records (see access.ts). A browser cannot
 * send a bearer token from a plain link or form, so SEED_TOKEN is also accepted as the password of
 * HTTP Basic authentication (any user name): the browser asks for it once (GET /status/login) and
 * then sends it with every request to this origin, the page's polling included.
 */
export type Viewer =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly status: 401 | 403 | 404; readonly why: string };

export const SIGN_IN_REALM = 'sqs-worker status';

const SEEDING_OFF =
  'seeding and records are off (on by default in embedded mode; elsewhere SEED_ENABLED=true and SEED_TOKEN)';
export const KEYS_OFF = 'STATUS_SHOW_KEYS is off (on by default in embedded mode only)';

/**
 * Who may see the keys of recent and failed deliveries (STATUS_SHOW_KEYS): undefined when off,
 * else loopback clients, or whoever signs in with SEED_TOKEN when it is set. Apart from
 * SEED_ENABLED: showing keys opens neither POST /seed nor GET /records.
 */
export function keyAccess(config: Pick<Config, 'queueUrl' | 'seed' | 'status'>): SeedAccess | undefined {
  const embedded = config.queueUrl === undefined;
  if (!(config.status.showKeys ?? embedded)) return undefined;
  return { token: config.seed.token, ratePerMinute: config.seed.ratePerMinute, embedded };
}

export function viewer(
  access: SeedAccess | undefined,
  request: FastifyRequest,
  off: string = SEEDING_OFF,
): Viewer {
  if (access === undefined) return { allowed: false, status: 404, why: off };
  if (access.token === undefined) {
    // No secret at all: besides the client's address, a loopback Host, so that a page from
    // another site whose name was rebound to 127.0.0.1 (DNS rebinding) is not let in.
    if (isLoopback(request.socket.remoteAddress) && isLoopbackHost(request.hostname)) {
      return { allowed: true };
    }
    return {
      allowed: false,
      status: 403,
      why: 'SEED_TOKEN is not set: only loopback clients (at localhost, 127.0.0.1 or [::1]) may see this',
    };
  }
  const given = presentedToken(request.headers.authorization);
  if (given !== undefined && timingSafeEqual(digest(given), digest(access.token))) return { allowed: true };
  return {
    allowed: false,
    status: 401,
    why: given === undefined ? 'sign in with SEED_TOKEN to see this' : 'wrong SEED_TOKEN',
  };
}

/** The token of `Authorization: Bearer T` or the password of `Authorization: Basic base64(user:T)`. */
export function presentedToken(header: string | undefined): string | undefined {
  const bearer = /^Bearer +(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (bearer !== undefined) return bearer;
  const basic = /^Basic +([A-Za-z0-9+/]+=*)\s*$/i.exec(header ?? '')?.[1];
  if (basic === undefined) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 || colon === decoded.length - 1 ? undefined : decoded.slice(colon + 1);
}

/**
 * Whether a state-changing request comes from this page and not from another site's form (CSRF):
 * a browser's `Sec-Fetch-Site` must say same-origin (or none: typed by the user), and its `Origin`,
 * when sent, must be this server. Clients that send neither (curl, scripts) pass.
 */
export function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  return origin === undefined || origin === `${request.protocol}://${request.host}`;
}

function isLoopbackHost(hostname: string): boolean {
  const name = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return name === 'localhost' || isLoopback(name);
}

/** Digests have equal lengths, as timingSafeEqual needs, whatever the token's length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
