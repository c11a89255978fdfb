import { REPEAT_WINDOW_MS, signalMeanings } from '../../src/cli/signals.js';

/** Issue 21, item 8: one Ctrl-C on `npm start` reaches the worker twice (the terminal's and npm's). */
describe('signalMeanings', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000;
  });

  it('takes a SIGINT right behind the first for the same Ctrl-C', () => {
    const meaning = signalMeanings(clock);
    expect(meaning('SIGINT')).toBe('stop');
    now += 5;
    expect(meaning('SIGINT')).toBe('same');
  });

  it('takes a SIGINT once the window has passed for a second signal', () => {
    const meaning = signalMeanings(clock);
    meaning('SIGINT');
    now += REPEAT_WINDOW_MS - 1;
    expect(meaning('SIGINT')).toBe('same');
    now += 1;
    expect(meaning('SIGINT')).toBe('again');
  });

  it('always takes a second SIGTERM, or a SIGTERM after a SIGINT, for a second signal', () => {
    const terms = signalMeanings(clock);
    expect(terms('SIGTERM')).toBe('stop');
    expect(terms('SIGTERM')).toBe('again');
    const mixed = signalMeanings(clock);
    expect(mixed('SIGINT')).toBe('stop');
    expect(mixed('SIGTERM')).toBe('again');
  });
});
