import net from 'node:net';
import tls from 'node:tls';
import type { ISocketFactory } from 'kafkajs';
import type { ConnectionObserver } from './driver.js';

/** kafkajs' own keep-alive delay (its default socket factory). */
const KEEP_ALIVE_DELAY_MS = 60_000;

/**
 * kafkajs' default socket factory, plus a watch on every socket it opens: kafkajs emits no
 * event when a broker connection drops (it reconnects on the next request), so the sockets
 * themselves say it. Data read → `alive`; an error (reset, refused, TLS) or the broker closing
 * a socket kafkajs had not closed itself → `lost`. A socket kafkajs ends on purpose
 * (disconnect) has already ended its writable side when the broker's FIN arrives.
 */
export function watchedSocketFactory(observer: ConnectionObserver): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const socket = ssl ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect) : net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    // Registered before kafkajs' own listeners (it adds them when this returns), so 'end' is
    // seen before kafkajs reacts by ending the socket itself.
    socket.on('data', () => observer.alive());
    socket.on('error', (error: Error) => observer.lost(new Error(`connection to ${host}:${port} failed: ${error.message}`)));
    socket.on('end', () => {
      if (!socket.writableEnded) observer.lost(new Error(`connection to ${host}:${port} closed by the broker`));
    });
    return socket;
  };
}
