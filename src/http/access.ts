import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/load.js';
import { sendError } from './errors.js';

/** Who may call POST /seed and GET /records. */
export interface SeedAccess {
  /** Bearer token every request must carry; undefined: loopback clients only, no token. */
  readonly token: string | undefined;
  /** Requests per minute per client address, one budget across every protected route. */
  readonly ratePerMinute: number;
  /**
   * Embedded mode: messages go to the in-process emulator, which refuses characters above U+FFFF
   * that real SQS accepts; /seed says so with a 400 instead of a 503 after the failed send.
   */
  readonly embedded?: boolean;
}

/**
 * The seed routes' policy from the config: undefined means disabled (404).
 * - Embedded mode: on unless SEED_ENABLED=false; open to loopback clients, or to anyone with
 *   SEED_TOKEN when it is set.
 * - A real queue: off unless SEED_ENABLED=true, and then SEED_TOKEN is required (loadConfig
 *   refuses the combination without it; this never opens the routes without one either).
 */
export function seedAccess(config: Pick<Config, 'queueUrl' | 'seed'>): SeedAccess | undefined {
  const embedded = config.queueUrl === undefined;
  if (!(config.seed.enabled ?? embedded)) return undefined;
  if (!embedded && config.seed.token === undefined) return undefined;
  return { token: config.seed.token, ratePerMinute: config.seed.ratePerMinute, embedded };
}

/** A preParsing hook: runs after the Host rule and the rate limit, before the body is read. */
export function authorize(access: SeedAccess) {
  const expected = access.token === undefined ? undefined : digest(access.token);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (expected === undefined) {
      if (isLoopback(request.socket.remoteAddress)) return undefined;
      return sendError(reply, 403, 'SEED_TOKEN is not set: only loopback clients may use this route');
    }
    const given = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return undefined;
    reply.header('www-authenticate', 'Bearer realm="sqs-worker"');
    return sendError(
      reply,
      401,
      given === undefined
        ? 'missing bearer token (Authorization: Bearer <SEED_TOKEN>)'
        : 'wrong bearer token',
    );
  };
}

/** Digests have equal lengths, as timingSafeEqual needs, whatever the token's length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
