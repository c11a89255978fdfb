import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The connection cap, kept so that probes never wait behind clients (issue 20, item 10). Node's
 * own `server.maxConnections` closes every connection over the cap as soon as it is accepted: 256
 * clients that connect and send nothing (or half their headers, or a body that never comes) kept
 * the kubelet's /healthz and /readyz out until the headers timeout freed a slot, and could get a
 * healthy pod restarted. Here a new connection over the cap takes the place of the oldest one on
 * which the server is not working: one still sending its request (headers or body), or idle
 * between keep-alive requests. Only when every connection carries a whole request that the
 * server is answering is the new one closed, as before. A client cannot hold a slot by being slow.
 */

interface Tracked {
  /** The request being answered on it, once it fully arrived; undefined: idle or still arriving. */
  request: IncomingMessage | undefined;
}

export function capConnections(server: Server, max: number): void {
  // Insertion order: the oldest connection first.
  const open = new Map<Socket, Tracked>();
  server.on('connection', (socket: Socket) => {
    if (open.size >= max && !evictOne(open)) {
      socket.destroy();
      return;
    }
    open.set(socket, { request: undefined });
    socket.once('close', () => open.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const tracked = open.get(request.socket);
    if (tracked === undefined) return;
    tracked.request = request;
    const done = (): void => {
      if (tracked.request === request) tracked.request = undefined;
    };
    response.once('finish', done).once('close', done);
  });
}

/** Closes the oldest connection the server is not answering on; false when there is none. */
function evictOne(open: Map<Socket, Tracked>): boolean {
  for (const [socket, tracked] of open) {
    // `complete`: the whole request (headers and body) has arrived, so the server is working on it.
    if (tracked.request?.complete === true) continue;
    open.delete(socket);
    socket.destroy();
    return true;
  }
  return false;
}
