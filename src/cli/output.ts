/**
 * What commands print. Results go to stdout: JSON lines for scripts (`--json`, and whenever stdout
 * is not a terminal), a table for people on a terminal. Progress and logs go to stderr.
 */

type Row = object;

export interface Output {
  readonly json: boolean;
  /**
   * Rows of one kind (records, messages): JSON lines with every field, or one table once all are
   * in, of `columns` when given (what a person reads first; the rest is in --json).
   */
  rows(rows: readonly Row[], columns?: readonly string[]): void;
  /** One result or summary: a JSON line, or `name: value` lines. */
  item(item: Row): void;
}

export interface Streams {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

export function createOutput(streams: Streams, forceJson: boolean): Output {
  const json = forceJson || streams.stdout.isTTY !== true;
  const write = (text: string) => streams.stdout.write(`${text}\n`);
  return {
    json,
    rows(rows, columns) {
      if (json) for (const row of rows) write(JSON.stringify(row));
      else write(rows.length === 0 ? '(none)' : table(rows, columns));
    },
    item(item) {
      if (json) write(JSON.stringify(item));
      else write(fields(item));
    },
  };
}

/** A plain-text table: one column per key seen, values shortened to fit a terminal. */
export function table(rows: readonly Row[], only?: readonly string[]): string {
  const columns = only ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => cell((r as Record<string, unknown>)[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function fields(item: Row): string {
  const width = Math.max(...Object.keys(item).map((k) => k.length)) + 1;
  return Object.entries(item)
    .map(
      ([k, v]) =>
        `${`${k}:`.padEnd(width)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`,
    )
    .join('\n');
}

const MAX_CELL = 48;

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
}

/**
 * Progress of a long job on stderr: a bar redrawn in place on a terminal; otherwise a plain line
 * each time another tenth of the total is done (and at the end), so logs stay short.
 */
export class Progress {
  readonly #stream: Streams['stderr'];
  readonly #label: string;
  readonly #total: number;
  readonly #started: number;
  readonly #now: () => number;
  #lastTenth = 0;
  #lastDraw = 0;
  #done = 0;

  constructor(stream: Streams['stderr'], label: string, total: number, now: () => number = Date.now) {
    this.#stream = stream;
    this.#label = label;
    this.#total = total;
    this.#now = now;
    this.#started = now();
  }

  update(done: number): void {
    this.#done = done;
    if (this.#stream.isTTY === true) {
      const at = this.#now();
      if (at - this.#lastDraw < 100 && done < this.#total) return;
      this.#lastDraw = at;
      this.#stream.write(`\r${this.#bar()}`);
      return;
    }
    const tenth = this.#total > 0 ? Math.floor((done * 10) / this.#total) : 10;
    if (tenth > this.#lastTenth) {
      this.#lastTenth = tenth;
      this.#stream.write(`${this.#text()}\n`);
    }
  }

  /** Ends the bar's line on a terminal. */
  finish(): void {
    if (this.#stream.isTTY === true) this.#stream.write(`\r${this.#bar()}\n`);
  }

  #text(): string {
    const seconds = Math.max(0.001, (this.#now() - this.#started) / 1000);
    const rate = Math.round(this.#done / seconds);
    return `${this.#label}: ${this.#done}/${this.#total} (${rate}/s)`;
  }

  #bar(): string {
    const width = 30;
    const filled = this.#total > 0 ? Math.min(width, Math.round((this.#done * width) / this.#total)) : width;
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.#text()}`;
  }
}
