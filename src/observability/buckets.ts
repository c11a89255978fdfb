/**
 * Counts (and maxima) per fixed-width time bucket over a sliding window, in fixed memory: a ring of
 * `count` slots, each stamped with the bucket it holds, so that a slot left over from an older lap
 * reads as zero. Writes allocate nothing; reads build the series oldest first.
 */
export class Buckets<F extends string> {
  readonly #width: number;
  readonly #count: number;
  readonly #fields: readonly F[];
  readonly #stamps: number[];
  readonly #values: Record<F, number[]>;

  /** `widthMs` per bucket, `count` buckets kept; `fields` are the series each bucket holds. */
  constructor(widthMs: number, count: number, fields: readonly F[]) {
    this.#width = widthMs;
    this.#count = count;
    this.#fields = fields;
    this.#stamps = new Array<number>(count).fill(Number.NaN);
    this.#values = Object.fromEntries(fields.map((f) => [f, new Array<number>(count).fill(0)])) as Record<
      F,
      number[]
    >;
  }

  /** Adds `n` to `field` in the bucket of `at` (epoch ms). */
  add(field: F, at: number, n = 1): void {
    const slot = this.#slotFor(at);
    this.#values[field][slot] = (this.#values[field][slot] ?? 0) + n;
  }

  /** Raises `field` in the bucket of `at` to `value` when it is larger. */
  max(field: F, at: number, value: number): void {
    const slot = this.#slotFor(at);
    if (value > (this.#values[field][slot] ?? 0)) this.#values[field][slot] = value;
  }

  /** The window ending with the bucket of `now`: its first bucket's start (epoch ms) and each series. */
  series(now: number): { from: number; values: Record<F, number[]> } {
    const last = Math.floor(now / this.#width);
    const first = last - this.#count + 1;
    const values = Object.fromEntries(this.#fields.map((f) => [f, [] as number[]])) as Record<F, number[]>;
    for (let bucket = first; bucket <= last; bucket++) {
      const slot = this.#slotOf(bucket);
      const live = this.#stamps[slot] === bucket;
      for (const field of this.#fields) values[field].push(live ? (this.#values[field][slot] ?? 0) : 0);
    }
    return { from: first * this.#width, values };
  }

  /** The slot of `at`'s bucket, cleared first when it still holds an older bucket. */
  #slotFor(at: number): number {
    const bucket = Math.floor(at / this.#width);
    const slot = this.#slotOf(bucket);
    if (this.#stamps[slot] !== bucket) {
      this.#stamps[slot] = bucket;
      for (const field of this.#fields) this.#values[field][slot] = 0;
    }
    return slot;
  }

  /** Buckets before 1970 (fake clocks) too. */
  #slotOf(bucket: number): number {
    return ((bucket % this.#count) + this.#count) % this.#count;
  }
}
