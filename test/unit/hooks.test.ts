import { useResource } from '../helpers/hooks.js';

/** A resource with #private state, as TcpProxy has: its getters and methods must work through the handle. */
class Counter {
  #count = 0;
  label = 'counter';
  get count(): number {
    return this.#count;
  }
  bump(): number {
    this.#count += 1;
    return this.#count;
  }
}

const events: string[] = [];

describe('useResource', () => {
  let early: unknown;
  const counter = useResource(
    'the counter',
    async () => {
      events.push('start');
      return new Counter();
    },
    async () => {
      events.push('stop');
    },
  );
  try {
    void counter.count;
  } catch (error) {
    early = error;
  }

  it('refuses use in the describe body, before beforeAll started the resource', () => {
    expect(early).toBeInstanceOf(Error);
    expect((early as Error).message).toMatch(/^the counter is started in beforeAll/);
  });

  it('reaches getters and methods that use #private fields, and writes through', () => {
    expect(counter.bump()).toBe(1);
    expect(counter.count).toBe(1);
    counter.label = 'renamed';
    expect(counter.label).toBe('renamed');
    expect({ ...counter }).toEqual({ label: 'renamed' });
    expect('bump' in counter).toBe(true);
  });

  it('starts the resource once for the block', () => {
    expect(events).toEqual(['start']);
  });
});

describe('after the block', () => {
  it('the resource was stopped once', () => {
    expect(events).toEqual(['start', 'stop']);
  });
});
