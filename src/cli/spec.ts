/**
 * Every subcommand of `sqs-worker`, once, as data: the parser (args.ts), the usage text, each
 * command's `--help` and the command table of docs/operations.md (test/unit/docs-tables) all come from it.
 */

import { RECORD_STATUSES } from '../core/idempotency-store.js';

export type FlagType = 'string' | 'integer' | 'number' | 'boolean';

export interface FlagSpec {
  readonly type: FlagType;
  /** What the value is called in help (`--count N`); none for booleans. */
  readonly value?: string;
  readonly summary: string;
  /** Shown in help; the parser applies defaults given in the command itself. */
  readonly default?: string;
  /** Integers and numbers: the smallest and largest value accepted. */
  readonly min?: number;
  readonly max?: number;
}

export interface CommandSpec {
  /** One or two words: `produce`, `records show`. */
  readonly name: string;
  readonly summary: string;
  /** Positional arguments, in order, all required: `KEY`. */
  readonly positionals?: readonly string[];
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** One command line that works, without the `sqs-worker` prefix. */
  readonly example: string;
  /** True for commands that print results (and so take `--json`). */
  readonly output?: boolean;
}

const JSON_FLAG: FlagSpec = {
  type: 'boolean',
  summary: 'JSON lines on stdout (the default when stdout is not a terminal)',
};
const YES_FLAG: FlagSpec = { type: 'boolean', summary: 'do it without asking' };

/** Flags every command takes. */
export const GLOBAL_FLAGS: Readonly<Record<string, FlagSpec>> = {
  help: { type: 'boolean', summary: 'this help' },
};

/**
 * The one-shot commands' bound on a service that does not answer (cli/reachability.ts). Like
 * --json it is every one-shot command's, so the synopsis (and the README's table) leaves it out.
 */
const GIVE_UP_FLAG: FlagSpec = {
  type: 'number',
  value: 'S',
  summary:
    'give up (exit 1, naming the service and its endpoint) once SQS or DynamoDB has not answered for S seconds',
  default: '30',
  min: 0.01,
  max: 86_400,
};

/** Flags of every one-shot command that the synopsis leaves out. */
export const COMMON_FLAGS: readonly string[] = ['json', 'give-up'];

function printing(spec: CommandSpec): CommandSpec {
  return { ...spec, output: true, flags: { ...spec.flags, json: JSON_FLAG, 'give-up': GIVE_UP_FLAG } };
}

export const COMMAND_SPECS: readonly CommandSpec[] = [
  {
    name: 'start',
    summary: 'run the worker and its HTTP sidecar until SIGTERM or SIGINT',
    flags: {},
    example: 'start',
  },
  {
    name: 'emulators',
    summary: 'run only the embedded SQS and DynamoDB (queue, DLQ, table), no worker',
    flags: {},
    example: 'emulators',
  },
  printing({
    name: 'produce',
    summary: 'send generated messages (or a JSON-lines file) and print a summary',
    flags: {
      count: { type: 'integer', value: 'N', summary: 'messages with distinct keys', default: '3', min: 1 },
      duplicates: {
        type: 'integer',
        value: 'D',
        summary: 're-sends of keys already sent (same body)',
        default: '0',
        min: 0,
      },
      file: {
        type: 'string',
        value: 'PATH',
        summary:
          'send these messages instead: one JSON object a line, {"body", "key"?, "attributes"?, "group"?}',
      },
      group: { type: 'string', value: 'G', summary: 'FIFO queues: the message group (default: one per key)' },
      rate: {
        type: 'number',
        value: 'R',
        summary: 'at most R messages a second (default: as fast as it can)',
        min: 0.001,
      },
      envelope: {
        type: 'string',
        value: 'KIND',
        summary:
          'sns or eventbridge: each message as SNS or EventBridge delivers it, its key the envelope id',
      },
    },
    example: 'produce --count 10000 --duplicates 100 --rate 2000',
  }),
  printing({
    name: 'consume',
    summary: 'handle messages with the configured handler and idempotency, then exit',
    flags: {
      count: {
        type: 'integer',
        value: 'N',
        summary: 'handle N messages, waiting for them (default: until one receive comes back empty)',
        min: 1,
      },
      wait: {
        type: 'integer',
        value: 'S',
        summary: 'without --count: the long poll of a receive, seconds',
        default: '1',
        min: 0,
        max: 20,
      },
    },
    example: 'consume --count 100',
  }),
  printing({
    name: 'records show',
    summary: 'list this namespace\'s idempotency records (a last line {"next"} gives the next page)',
    flags: {
      status: { type: 'string', value: 'S', summary: `only ${RECORD_STATUSES.join(', ')}` },
      limit: {
        type: 'integer',
        value: 'N',
        summary: 'records on the page',
        default: '100',
        min: 1,
        max: 1000,
      },
      cursor: { type: 'string', value: 'C', summary: 'the page after this cursor' },
    },
    example: 'records show --status FAILED --limit 10',
  }),
  printing({
    name: 'records get',
    summary: "one key's idempotency record (exit 1 when there is none)",
    positionals: ['KEY'],
    flags: {},
    example: 'records get order-42',
  }),
  printing({
    name: 'records forget',
    summary: "delete one key's record, so the key can be claimed again",
    positionals: ['KEY'],
    flags: { force: { type: 'boolean', summary: 'even while a worker holds a live claim on it' } },
    example: 'records forget order-42',
  }),
  printing({
    name: 'records clear',
    summary: "delete this namespace's idempotency records except live claims (asks on a terminal)",
    flags: {
      yes: YES_FLAG,
      force: { type: 'boolean', summary: 'delete live claims too (their handlers may then run twice)' },
    },
    example: 'records clear --yes',
  }),
  printing({
    name: 'table create',
    summary: 'create the idempotency table (on-demand, TTL on expiresAt where the store has TTL)',
    flags: {},
    example: 'table create',
  }),
  printing({
    name: 'queue create',
    summary: 'create a queue and its dead-letter queue NAME-dlq, wired by a redrive policy',
    flags: { name: { type: 'string', value: 'NAME', summary: 'queue name (default: EMBEDDED_QUEUE_NAME)' } },
    example: 'queue create --name orders',
  }),
  printing({
    name: 'queue stats',
    summary: 'messages visible, in flight and delayed, in the queue and its dead-letter queue',
    flags: {},
    example: 'queue stats',
  }),
  printing({
    name: 'queue purge',
    summary: 'delete every message of the queue (or of its dead-letter queue)',
    flags: { yes: YES_FLAG, dlq: { type: 'boolean', summary: 'purge the dead-letter queue instead' } },
    example: 'queue purge --yes',
  }),
  printing({
    name: 'dlq show',
    summary: 'dead-lettered messages with key, reason, attempts and attributes, left in place',
    flags: {
      limit: { type: 'integer', value: 'N', summary: 'at most N messages', default: '10', min: 1, max: 1000 },
    },
    example: 'dlq show --limit 20',
  }),
  printing({
    name: 'dlq redrive',
    summary: 'move dead-lettered messages back to the queue (key and attributes kept)',
    flags: {
      count: {
        type: 'integer',
        value: 'N',
        summary: 'at most N messages',
        default: "the dead-letter queue's depth at start",
        min: 1,
      },
    },
    example: 'dlq redrive --count 1000',
  }),
];

/** The spec whose name the arguments start with (two words before one), and the rest. */
export function findCommand(
  argv: readonly string[],
): { spec: CommandSpec; rest: readonly string[] } | undefined {
  const two = COMMAND_SPECS.find((c) => c.name === `${argv[0]} ${argv[1]}`);
  if (two) return { spec: two, rest: argv.slice(2) };
  const one = COMMAND_SPECS.find((c) => c.name === argv[0]);
  return one ? { spec: one, rest: argv.slice(1) } : undefined;
}

/** The actions of a group (`records` -> show, get, forget, clear), for a group named alone. */
export function groupActions(group: string): readonly string[] {
  return COMMAND_SPECS.filter((c) => c.name.startsWith(`${group} `)).map(
    (c) => c.name.split(' ')[1] as string,
  );
}
