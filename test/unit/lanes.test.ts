import { Lanes, scheduleBatch } from '../../src/worker/lanes.js';

/** A task the test finishes by hand, to control interleaving without timers. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('Lanes', () => {
  it('runs one lane in order and different lanes at the same time', async () => {
    const lanes = new Lanes();
    const log: string[] = [];
    const a1 = gate();
    const first = lanes.run('a', async () => {
      log.push('a1 start');
      await a1.opened;
      log.push('a1 end');
    });
    const second = lanes.run('a', async () => void log.push('a2'));
    await lanes.run('b', async () => void log.push('b1'));
    expect(log).toEqual(['a1 start', 'b1']); // b ran while a1 was still open; a2 waits
    a1.open();
    await Promise.all([first, second]);
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
    expect(lanes.size).toBe(0);
  });

  it('goes on with a lane after a task rejects', async () => {
    const lanes = new Lanes();
    const failed = lanes.run('a', async () => {
      throw new Error('boom');
    });
    await expect(failed).rejects.toThrow('boom');
    await expect(lanes.run('a', async () => 'next')).resolves.toBe('next');
  });
});

describe('scheduleBatch (FIFO groups)', () => {
  it('blocks the rest of a group in the same batch once one fails, and leaves other groups alone', async () => {
    const lanes = new Lanes();
    const calls: string[] = [];
    const items = ['g1:a', 'g1:b', 'g2:c', 'g1:d', 'g2:e'];
    await Promise.all(
      scheduleBatch(
        lanes,
        items,
        (item) => item.split(':')[0] as string,
        async (item, blocked) => {
          calls.push(`${item}${blocked ? ' (blocked)' : ''}`);
          return item !== 'g1:b';
        },
      ),
    );
    expect(calls.filter((c) => c.startsWith('g1'))).toEqual(['g1:a', 'g1:b', 'g1:d (blocked)']);
    expect(calls.filter((c) => c.startsWith('g2'))).toEqual(['g2:c', 'g2:e']);
  });

  it('does not carry a block over to the next batch', async () => {
    const lanes = new Lanes();
    const seen: boolean[] = [];
    await Promise.all(
      scheduleBatch(
        lanes,
        ['x'],
        () => 'g',
        async () => false,
      ),
    );
    await Promise.all(
      scheduleBatch(
        lanes,
        ['y'],
        () => 'g',
        async (_i, blocked) => (seen.push(blocked), true),
      ),
    );
    expect(seen).toEqual([false]);
  });
});
