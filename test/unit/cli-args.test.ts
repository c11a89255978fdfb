import { nearest, parseCommand, UsageError } from '../../src/cli/args.js';
import { Progress, table } from '../../src/cli/output.js';
import { COMMAND_SPECS, findCommand } from '../../src/cli/spec.js';

const spec = (name: string) => COMMAND_SPECS.find((s) => s.name === name)!;

describe('parseCommand', () => {
  it('types values as the spec says', () => {
    expect(parseCommand(spec('produce'), ['--count', '12', '--rate', '2.5', '--json']).flags).toEqual({
      count: 12,
      rate: 2.5,
      json: true,
    });
    expect(parseCommand(spec('records get'), ['order-1']).positionals).toEqual(['order-1']);
  });

  it.each([
    [['--count', '1.5'], '--count "1.5" must be an integer of 1 or more'],
    [['--count=-1'], '--count -1 must be an integer of 1 or more'],
    [['--count', '-1'], '--count needs a value (write --count=-N for one starting with -)'],
    [['--rate', '0'], '--rate 0 must be a number of at least 0.001'],
    [['--count'], '--count needs a value'],
    [['extra'], 'unexpected argument "extra" for produce'],
    [['--duplicats', '1'], 'unknown flag --duplicats for produce; did you mean --duplicates?'],
    [['--zzz'], 'unknown flag --zzz for produce'],
  ])('%j is a UsageError: %s', (args, message) => {
    let error: unknown;
    try {
      parseCommand(spec('produce'), args);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(message);
    expect((error as UsageError).code).toBe('ERR_USAGE');
  });

  it('--help needs no positional', () => {
    expect(parseCommand(spec('records forget'), ['--help']).flags.help).toBe(true);
  });

  it('finds two-word commands before one-word ones', () => {
    expect(findCommand(['records', 'show', '--limit', '1'])?.spec.name).toBe('records show');
    expect(findCommand(['produce', '--count', '1'])?.rest).toEqual(['--count', '1']);
    expect(findCommand(['records'])).toBeUndefined();
  });

  it('suggests only near names', () => {
    expect(nearest('cuont', ['count', 'duplicates'])).toBe('count');
    expect(nearest('banana', ['count', 'duplicates'])).toBeUndefined();
  });
});

describe('Progress', () => {
  it('off a terminal writes one plain line per tenth done', () => {
    const written: string[] = [];
    let now = 0;
    const progress = new Progress({ write: (t: string) => written.push(t) }, 'produce', 100, () => now);
    for (let done = 1; done <= 100; done += 1) {
      now += 10;
      progress.update(done);
    }
    progress.finish();
    expect(written).toHaveLength(10);
    expect(written.at(-1)).toBe('produce: 100/100 (100/s)\n');
  });

  it('on a terminal redraws a bar in place and ends its line', () => {
    const written: string[] = [];
    const progress = new Progress(
      { write: (t: string) => written.push(t), isTTY: true },
      'redrive',
      4,
      () => 0,
    );
    progress.update(2);
    progress.finish();
    expect(written[0]).toMatch(/^\r\[#{15}\.{15}\] redrive: 2\/4/);
    expect(written.at(-1)).toMatch(/\n$/);
  });
});

describe('table', () => {
  it('aligns columns and shortens long cells', () => {
    const text = table([{ key: 'a', body: 'x'.repeat(100) }, { key: 'longer' }], ['key', 'body']);
    const lines = text.split('\n');
    expect(lines[0]).toBe(`key     body`);
    expect(lines[2]).toMatch(/^a {7}x+…$/);
    expect(lines[2]?.length).toBeLessThan(60);
    expect(lines[3]).toBe('longer');
  });
});
