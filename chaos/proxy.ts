import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of one emulator, with faults:
 * - `pass`: bytes flow both ways untouched;
 * - `delay`: every chunk of the emulator's replies reaches the client `ms` later (order kept);
 * - `stall`: connections are accepted and requests taken, but nothing reaches the emulator
 *   until the stall ends (then what was held is sent, as a process resumed after SIGSTOP would);
 * - `refuse`: the listener is closed and every open connection is cut, so connects are refused.
 */
export type ProxyMode =
  { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'stall' } | { kind: 'refuse' };

export interface FaultProxy {
  readonly port: number;
  readonly url: string;
  mode(): ProxyMode;
  set(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Client bytes held during a stall. */
  readonly held: Buffer[];
  /** When the last delayed reply chunk is due: later chunks never overtake it. */
  lastDue: number;
}

export async function startProxy(targetPort: number): Promise<FaultProxy> {
  let current: ProxyMode = { kind: 'pass' };
  const pairs = new Set<Pair>();
  let server: Server | undefined;
  let port = 0;

  const openUpstream = (pair: Pair) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    pair.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => {
      if (current.kind !== 'delay') {
        pair.client.write(chunk);
        return;
      }
      const due = Math.max(Date.now() + current.ms, pair.lastDue);
      pair.lastDue = due;
      setTimeout(() => pair.client.destroyed || pair.client.write(chunk), due - Date.now());
    });
    upstream.on('close', () => {
      const wait = Math.max(0, pair.lastDue - Date.now());
      setTimeout(() => pair.client.destroy(), wait);
    });
    upstream.on('error', () => pair.client.destroy());
    for (const chunk of pair.held.splice(0)) upstream.write(chunk);
  };

  const onConnection = (client: Socket) => {
    const pair: Pair = { client, upstream: undefined, held: [], lastDue: 0 };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (current.kind === 'stall' || !pair.upstream) pair.held.push(chunk);
      else pair.upstream.write(chunk);
    });
    client.on('close', () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    client.on('error', () => pair.upstream?.destroy());
    if (current.kind !== 'stall') openUpstream(pair);
  };

  const listen = async (): Promise<void> => {
    const s = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };

  const closeListener = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    for (const pair of pairs) pair.client.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    mode: () => current,
    async set(mode) {
      const before = current;
      current = mode;
      if (mode.kind === 'refuse') {
        await closeListener();
        return;
      }
      // Re-listen on the same port (another process could have taken it meanwhile: then fail loudly).
      if (before.kind === 'refuse') await listen();
      if (before.kind === 'stall' && mode.kind !== 'stall') {
        for (const pair of pairs) {
          if (pair.upstream) for (const chunk of pair.held.splice(0)) pair.upstream.write(chunk);
          else openUpstream(pair);
        }
      }
    },
    async close() {
      current = { kind: 'pass' };
      await closeListener();
    },
  };
}
