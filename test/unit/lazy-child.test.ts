import { lazyChild, type Logger } from '../../src/core/logger.js';
import { createLogger } from '../../src/observability/logger.js';
import { MemoryLog } from '../helpers/app.js';

/** A logger that counts the children made through it, delegating to a real one. */
function counting(inner: Logger, made: { count: number }): Logger {
  return {
    isLevelEnabled: (level) => inner.isLevelEnabled?.(level) ?? true,
    trace: (o, m) => inner.trace(o, m),
    debug: (o, m) => inner.debug(o, m),
    info: (o, m) => inner.info(o, m),
    warn: (o, m) => inner.warn(o, m),
    error: (o, m) => inner.error(o, m),
    child: (bindings) => {
      made.count += 1;
      return counting(inner.child(bindings), made);
    },
  };
}

describe('lazyChild', () => {
  it('makes no child while nothing is written', () => {
    const made = { count: 0 };
    const parent = counting(createLogger('info', new MemoryLog()), made);
    const child = lazyChild(parent, { messageId: 'm-1' });
    lazyChild(child, { attempt: 1 }).debug({}, 'below the level');
    child.child({ fence: 2 });
    expect(made.count).toBe(0);
  });

  it('writes with every binding of the chain, once made', () => {
    const log = new MemoryLog();
    const made = { count: 0 };
    const parent = counting(createLogger('info', log), made);
    const child = lazyChild(parent, { messageId: 'm-1' });
    const grandchild = lazyChild(child, { attempt: 3 });
    grandchild.warn({ n: 1 }, 'first');
    grandchild.info({ n: 2 });
    child.error({ n: 3 }, 'third');
    expect(made.count).toBe(2);
    expect(log.lines()).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'first', messageId: 'm-1', attempt: 3, n: 1 }),
      expect.objectContaining({ level: 'info', messageId: 'm-1', attempt: 3, n: 2 }),
      expect.objectContaining({ level: 'error', msg: 'third', messageId: 'm-1', n: 3 }),
    ]);
    expect(log.lines()[1]).not.toHaveProperty('msg');
    expect(log.lines()[2]).not.toHaveProperty('attempt');
  });
});
