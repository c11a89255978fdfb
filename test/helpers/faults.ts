type Method<T> = { [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof T];
type Hook = (...args: unknown[]) => void | Promise<void>;

/**
 * A view of a queue or a store whose calls can be slowed, failed or cut off, for one worker only:
 * `before` runs ahead of the call (throw to fail it, await to delay the request), `after` runs
 * once the call has taken effect (await to delay the reply: the write landed, the answer is late).
 */
export class Faults<T extends object> {
  readonly subject: T;
  readonly #before = new Map<PropertyKey, Set<Hook>>();
  readonly #after = new Map<PropertyKey, Set<Hook>>();

  constructor(target: T) {
    this.subject = new Proxy(target, {
      get: (object, property, receiver) => {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          for (const hook of this.#before.get(property) ?? []) await hook(...args);
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
          for (const hook of this.#after.get(property) ?? []) await hook(result, ...args);
          return result;
        };
      },
    });
  }

  before(method: Method<T>, hook: Hook): () => void {
    return add(this.#before, method, hook);
  }

  after(method: Method<T>, hook: Hook): () => void {
    return add(this.#after, method, hook);
  }

  /** Every call of these methods hangs (never answers) until the returned function is called. */
  cut(...methods: Method<T>[]): () => void {
    let heal!: () => void;
    const healed = new Promise<void>((resolve) => (heal = resolve));
    const removers = methods.map((m) => this.before(m, () => healed));
    return () => {
      for (const remove of removers) remove();
      heal();
    };
  }
}

function add(hooks: Map<PropertyKey, Set<Hook>>, method: PropertyKey, hook: Hook): () => void {
  const set = hooks.get(method) ?? new Set<Hook>();
  hooks.set(method, set);
  set.add(hook);
  return () => set.delete(hook);
}
