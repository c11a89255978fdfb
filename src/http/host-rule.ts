import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The Host rule (DNS rebinding): a page of another site whose name was made to resolve to this
 * machine sends its own name in `Host`. Every route that reads data or acts (/seed, /records, the
 * status page and its JSON, sign-in and form) answers only requests addressed to a loopback name
 * (localhost, 127.0.0.1, [::1]) or to a name listed in HTTP_ALLOWED_HOSTS, at any port. It is the
 * first check of those routes: before the rate limit, the token and the body. Probes and /metrics
 * answer any Host (the kubelet and Prometheus address the pod by IP).
 */

const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

export const HOST_REFUSED =
  'this route answers only requests addressed to localhost, 127.0.0.1 or [::1], or to a name listed in HTTP_ALLOWED_HOSTS (a defence against DNS rebinding)';

/** The name of a Host header without its port, brackets or final dot, lower-cased; undefined if malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]@/\s]+))(?::\d{1,5})?$/i.exec(header.trim());
  const name = (match?.[1] ?? match?.[2])?.toLowerCase();
  if (name === undefined) return undefined;
  return name.endsWith('.') ? undefined : name;
}

/** Whether `header` names this server: a loopback name (127.0.0.1 only, not the whole /8) or a listed one. */
export function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  const name = hostName(header);
  if (name === undefined) return false;
  return LOOPBACK_NAMES.includes(name) || allowed.includes(name);
}

/** An onRequest hook that refuses other Hosts with 403, answered by `refuse` (JSON or a page). */
export function hostRule(
  allowed: readonly string[],
  refuse: (reply: FastifyReply, message: string) => FastifyReply,
) {
  const names = allowed.map((name) => name.toLowerCase());
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> =>
    hostAllowed(request.headers.host, names) ? undefined : refuse(reply, HOST_REFUSED);
}
