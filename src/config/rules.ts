import type { z } from 'zod';

/** The fields the cross-field rules read (the schema's output has them all). */
export interface RuleInput {
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly handler: string | undefined;
  readonly webhook: { readonly url?: string | undefined };
  readonly idempotency: { readonly retentionSeconds: number; readonly clockSkewMs?: number | undefined };
  readonly visibilityTimeoutSeconds: number;
  readonly queueUrl?: string | undefined;
  readonly seed: { readonly enabled?: boolean | undefined; readonly token?: string | undefined };
  readonly http: { readonly port: number };
  readonly embedded: { readonly sqsPort: number; readonly dynamodbPort: number };
}

/**
 * Rules that involve more than one field. Each issue sits on the field to change; its message
 * names fields as `{path}`, which loadConfig() renders as the variable (`RETRY_BACKOFF_BASE`)
 * or, when the value came from an override, as the field and its variable.
 */
export function crossRules(config: RuleInput, ctx: z.RefinementCtx): void {
  if (config.backoff.baseMs > config.backoff.maxMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['backoff', 'baseMs'],
      message: '{backoff.baseMs} must not exceed {backoff.maxMs}',
    });
  }
  if (config.handler === 'webhook' && config.webhook.url === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['webhook', 'url'],
      message: '{webhook.url} is required when {handler}=webhook',
    });
  }
  if (config.idempotency.retentionSeconds <= config.visibilityTimeoutSeconds) {
    ctx.addIssue({
      code: 'custom',
      path: ['idempotency', 'retentionSeconds'],
      message: '{idempotency.retentionSeconds} must be longer than {visibilityTimeoutSeconds}',
    });
  }
  const skew = config.idempotency.clockSkewMs;
  if (skew !== undefined && skew * 6 > config.visibilityTimeoutSeconds * 1000) {
    ctx.addIssue({
      code: 'custom',
      path: ['idempotency', 'clockSkewMs'],
      message: '{idempotency.clockSkewMs} must be at most a sixth of {visibilityTimeoutSeconds}',
    });
  }
  if (config.queueUrl !== undefined && config.seed.enabled === true && config.seed.token === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['seed', 'token'],
      message: '{seed.token} is required when {seed.enabled}=true outside embedded mode ({queueUrl} set)',
    });
  }
  portRules(config, ctx);
}

/**
 * In embedded mode the process listens on three ports: each must differ from the others (0 picks
 * a free one each time, so it never clashes). Checking each port free one at a time cannot see
 * this: the second listen would fail after start, with exit 1 instead of 2.
 */
function portRules(config: RuleInput, ctx: z.RefinementCtx): void {
  if (config.queueUrl !== undefined) return;
  const { sqsPort, dynamodbPort } = config.embedded;
  if (sqsPort !== 0 && sqsPort === dynamodbPort) {
    ctx.addIssue({
      code: 'custom',
      path: ['embedded', 'dynamodbPort'],
      message: `{embedded.dynamodbPort} and {embedded.sqsPort} are both ${sqsPort}: each emulator needs its own port (0 picks a free one)`,
    });
  }
  const port = config.http.port;
  const clash =
    port === 0
      ? undefined
      : port === sqsPort
        ? 'sqsPort'
        : port === dynamodbPort
          ? 'dynamodbPort'
          : undefined;
  if (clash !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['http', 'port'],
      message: `{http.port} and {embedded.${clash}} are both ${port}: the sidecar and the embedded emulator need ports of their own`,
    });
  }
}
