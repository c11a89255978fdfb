/**
 * Misspelt variables. A variable in the environment that is not one of ours is normally none of
 * our business (PATH, HOSTNAME, the AWS SDK's own...). But one that is nearly one of ours is
 * almost certainly a typo, and ignoring it silently runs the worker with the default instead of
 * what the operator wrote: that is an error, with the variable it was probably meant to be.
 *
 * "Nearly one of ours": equal ignoring case and underscores (MAXINFLIGHT, max_in_flight), or, for
 * names written in capitals, at most 2 edits away (1 for names under 8 characters: MAX_INFLIGHT,
 * SQS_QUEUE_URLS). Never flagged: names in namespaces other software owns (AWS_*, OTEL_*, NODE_*
 * only when equal ignoring underscores; npm_* never), and Kubernetes service links
 * (FOO_SERVICE_HOST, FOO_SERVICE_PORT_HTTP, FOO_PORT_8080_TCP_ADDR, FOO_PORT=tcp://...).
 */

/** Namespaces of other software: only an exact match ignoring case and underscores counts there. */
const FOREIGN_PREFIXES = /^(AWS|OTEL|NODE)_/i;
/** Never ours. */
const NEVER_OURS = /^npm_/i;
/** Kubernetes service-link variables, by name. */
const SERVICE_LINK = /_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$|_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/;
/** FOO_PORT=tcp://10.0.0.1:80, the one service-link variable whose name alone could be ours. */
const SERVICE_LINK_VALUE = /^(tcp|udp|sctp):\/\//;

const squash = (name: string): string => name.toUpperCase().replace(/_/g, '');

/**
 * The variable of `known` that `name` was probably meant to be, or undefined when `name` is one
 * of `known` or not close to any.
 */
export function meantVariable(name: string, value: string, known: readonly string[]): string | undefined {
  if (known.includes(name) || NEVER_OURS.test(name)) return undefined;
  if (SERVICE_LINK.test(name) || (/_PORT$/.test(name) && SERVICE_LINK_VALUE.test(value))) return undefined;
  const squashed = squash(name);
  const same = known.find((candidate) => squash(candidate) === squashed);
  if (same !== undefined) return same;
  if (FOREIGN_PREFIXES.test(name) || !/^[A-Z][A-Z0-9_]*$/.test(name)) return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const limit = candidate.length >= 8 ? 2 : 1;
    const distance = editDistance(name, candidate, limit);
    if (distance <= limit && (best === undefined || distance < best.distance)) {
      best = { name: candidate, distance };
    }
  }
  return best?.name;
}

/** Levenshtein distance, or anything above `limit` once it is certain to exceed it. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? 0;
}
