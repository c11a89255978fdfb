/**
 * What a SIGTERM or SIGINT means to the binary (main.ts), kept free of imports so main.ts can
 * install its handlers before anything heavy loads.
 *
 * One Ctrl-C can arrive twice: the terminal sends SIGINT to the whole foreground group, and
 * `npm start` / `npm run cli` (npm, in that group) forwards its own SIGINT to the child as well.
 * So a SIGINT within REPEAT_WINDOW_MS of the first is the same keystroke, not a second signal.
 */

/** How close behind the first SIGINT another counts as the same Ctrl-C. */
export const REPEAT_WINDOW_MS = 1000;

/** `stop`: the first; `same`: the first delivered again (say nothing); `again`: a second signal. */
export type SignalMeaning = 'stop' | 'same' | 'again';

/** Classifies each signal in turn; `now` is a monotonic clock in milliseconds. */
export function signalMeanings(now: () => number): (signal: string) => SignalMeaning {
  let first: { signal: string; at: number } | undefined;
  return (signal) => {
    if (first === undefined) {
      first = { signal, at: now() };
      return 'stop';
    }
    const repeated = signal === 'SIGINT' && first.signal === 'SIGINT';
    return repeated && now() - first.at < REPEAT_WINDOW_MS ? 'same' : 'again';
  };
}
