/**
 * A resource for the tests of a describe block (or of a file): started in its own `beforeAll`,
 * stopped in its own `afterAll`. The handle returned at once stands for the resource: reading a
 * property or calling a method reaches the started resource, so the tests write
 * `const aws = useTestAws();` and then `aws.sqs` inside their hooks and tests, with no `let` and no
 * hooks of their own. Touching the handle before the `beforeAll` ran (in a describe body) is an
 * error that says so. Hooks at one level run in the order declared, `afterAll`s too: declare a
 * resource after the ones its start reads.
 */
export function useResource<T extends object>(
  what: string,
  start: () => Promise<T>,
  stop: (resource: T) => Promise<void>,
): T {
  let current: T | undefined;
  beforeAll(async () => {
    current = await start();
  });
  afterAll(async () => {
    const resource = current;
    current = undefined;
    if (resource !== undefined) await stop(resource);
  });
  const started = (): T => {
    if (current === undefined) {
      throw new Error(
        `${what} is started in beforeAll: use it inside a hook or a test, not in a describe body`,
      );
    }
    return current;
  };
  return new Proxy({} as T, {
    get(_, property) {
      const resource = started();
      // The resource itself as receiver: getters and methods that read #private fields work.
      const value: unknown = Reflect.get(resource, property, resource);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(resource) : value;
    },
    set(_, property, value) {
      return Reflect.set(started(), property, value);
    },
    has(_, property) {
      return Reflect.has(started(), property);
    },
    // Spreading the handle or listing its keys sees the resource's own properties.
    ownKeys() {
      return Reflect.ownKeys(started());
    },
    getOwnPropertyDescriptor(_, property) {
      const descriptor = Reflect.getOwnPropertyDescriptor(started(), property);
      // A proxy may not report a property its (empty) target lacks as non-configurable.
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
    },
  });
}
