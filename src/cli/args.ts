import { parseArgs } from 'node:util';
import { WorkerError } from '../core/errors.js';
import { COMMAND_SPECS, COMMON_FLAGS, GLOBAL_FLAGS, type CommandSpec, type FlagSpec } from './spec.js';

/** A command line that does not fit the command's spec: exit 2, before anything runs. */
export class UsageError extends WorkerError {
  /** The command whose `--help` to point at, when known. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super('ERR_USAGE', message);
    this.command = command;
  }
}

export type FlagValue = string | number | boolean;

export interface Parsed {
  readonly flags: Readonly<Record<string, FlagValue | undefined>>;
  readonly positionals: readonly string[];
}

/** Parses a command's arguments against its spec (node:util parseArgs, strict), values typed. */
export function parseCommand(spec: CommandSpec, args: readonly string[]): Parsed {
  const all = { ...spec.flags, ...GLOBAL_FLAGS };
  const options = Object.fromEntries(
    Object.entries(all).map(([name, f]) => [
      name,
      { type: f.type === 'boolean' ? 'boolean' : 'string' } as const,
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(explain(spec, (error as Error).message), spec.name);
  }
  const flags: Record<string, FlagValue | undefined> = {};
  for (const [name, raw] of Object.entries(parsed.values)) {
    const flag = all[name];
    if (flag && raw !== undefined) flags[name] = typed(spec, name, flag, raw as string | boolean);
  }
  if (flags.help === true) return { flags, positionals: parsed.positionals };
  const expected = spec.positionals ?? [];
  if (parsed.positionals.length > expected.length) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(parsed.positionals[expected.length])} for ${spec.name}`,
      spec.name,
    );
  }
  if (parsed.positionals.length < expected.length) {
    throw new UsageError(
      `${spec.name} needs ${expected.slice(parsed.positionals.length).join(' ')}`,
      spec.name,
    );
  }
  return { flags, positionals: parsed.positionals };
}

/** parseArgs's messages, in the command's terms: the flag, and the flag meant when misspelt. */
function explain(spec: CommandSpec, message: string): string {
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message);
  if (unknown) {
    const flag = unknown[1] as string;
    const near = nearest(flag.replace(/^-+/, ''), [...Object.keys(spec.flags), ...Object.keys(GLOBAL_FLAGS)]);
    return `unknown flag ${flag} for ${spec.name}${near ? `; did you mean --${near}?` : ''}`;
  }
  const missing = /Option '(--[^ ']+)[^']*' argument missing/.exec(message);
  if (missing) return `${missing[1]} needs a value`;
  const ambiguous = /Option '(--[^ ']+)[^']*' argument is ambiguous/.exec(message);
  if (ambiguous) return `${ambiguous[1]} needs a value (write ${ambiguous[1]}=-N for one starting with -)`;
  return message.replace(/\s*\n\s*/g, ' ');
}

function typed(spec: CommandSpec, name: string, flag: FlagSpec, raw: string | boolean): FlagValue {
  if (flag.type === 'boolean' || typeof raw === 'boolean') return raw;
  if (flag.type === 'string') return raw;
  const value = Number(raw);
  const whole = flag.type === 'integer';
  const range = `${whole ? 'an integer' : 'a number'}${bounds(flag)}`;
  if (raw.trim() === '' || !Number.isFinite(value) || (whole && !Number.isInteger(value))) {
    throw new UsageError(`--${name} ${JSON.stringify(raw)} must be ${range}`, spec.name);
  }
  if ((flag.min !== undefined && value < flag.min) || (flag.max !== undefined && value > flag.max)) {
    throw new UsageError(`--${name} ${raw} must be ${range}`, spec.name);
  }
  return value;
}

function bounds(flag: FlagSpec): string {
  if (flag.min !== undefined && flag.max !== undefined) return ` from ${flag.min} to ${flag.max}`;
  if (flag.min !== undefined)
    return flag.min === 1 && flag.type === 'integer' ? ' of 1 or more' : ` of at least ${flag.min}`;
  if (flag.max !== undefined) return ` of at most ${flag.max}`;
  return '';
}

/** The candidate closest to `word` by edit distance, when it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

/** Edit distance with adjacent transpositions (`cuont` is one step from `count`). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (before[j - 2] ?? 0) + 1);
      }
      row[j] = best;
    }
    before = previous;
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** `produce [--count N] [--duplicates D] ...`: the command as typed, with its flags. */
export function synopsis(spec: CommandSpec): string {
  const words = [spec.name, ...(spec.positionals ?? [])];
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (COMMON_FLAGS.includes(name)) continue;
    words.push(`[--${name}${flag.value ? ` ${flag.value}` : ''}]`);
  }
  return words.join(' ');
}

/** The text of `sqs-worker --help`. */
export function usage(version: string): string {
  const width = Math.max(...COMMAND_SPECS.map((c) => c.name.length)) + 2;
  const lines = COMMAND_SPECS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return [
    `usage: sqs-worker <command> [options]          (sqs-worker ${version})`,
    '',
    'commands:',
    ...lines,
    '',
    "Run 'sqs-worker <command> --help' for a command's flags and an example; 'sqs-worker --version'",
    '(or -v) prints the version. Without SQS_QUEUE_URL, commands other than start and emulators talk',
    'to the embedded emulators of a running `sqs-worker start` or `sqs-worker emulators` on this',
    'machine (ports EMBEDDED_SQS_PORT 9324 and EMBEDDED_DYNAMODB_PORT 8000 unless set otherwise).',
    'Configuration comes from environment variables; see docs/configuration.md.',
  ].join('\n');
}

/** The text of `sqs-worker <command> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const flags = Object.entries({ ...spec.flags, ...GLOBAL_FLAGS }).map(([name, f]) => {
    const left = `--${name}${f.value ? ` ${f.value}` : ''}`;
    const extra = f.default === undefined ? '' : ` (default ${f.default})`;
    return [left, `${f.summary}${extra}`] as const;
  });
  const width = Math.max(...flags.map(([left]) => left.length)) + 2;
  return [
    `usage: sqs-worker ${synopsis(spec)}`,
    '',
    spec.summary,
    '',
    'flags:',
    ...flags.map(([left, text]) => `  ${left.padEnd(width)}${text}`),
    '',
    'example:',
    `  sqs-worker ${spec.example}`,
  ].join('\n');
}

/** The command table of docs/operations.md: one row per command (synopsis, summary, example). */
export function commandTableRows(): {
  readonly command: string;
  readonly what: string;
  readonly example: string;
}[] {
  return COMMAND_SPECS.map((spec) => ({
    command: `\`${synopsis(spec)}\``,
    what: spec.summary,
    example: `\`sqs-worker ${spec.example}\``,
  }));
}
