/**
 * The webhook receiver of the benchmark, in its own process (forked by bench/relay.ts) so that
 * its CPU is not billed to the relay and it does not compete with the relay's event loop.
 *
 * Every request, from autocannon or from the relay, takes the same path: read the body, note the
 * `webhook-id` with the receipt time, answer 200 "ok". The parent drives it over IPC:
 *   {op: 'reset'}  forget what was received (start of a phase)
 *   {op: 'stats'}  counts, the time the latest new id arrived, this process's CPU
 *   {op: 'dump'}   every id with its first receipt time
 *   {op: 'clock'}  this process's clock, to estimate the offset to the parent's
 * Times are epoch milliseconds with sub-millisecond resolution (performance.timeOrigin + now()),
 * the same clock the parent uses, so the two can be compared.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceiverRequest =
  | { seq: number; op: 'reset' }
  | { seq: number; op: 'stats' }
  | { seq: number; op: 'dump' }
  | { seq: number; op: 'clock' };

export interface ReceiverStats {
  /** Requests answered since the last reset, duplicates included. */
  requests: number;
  /** Distinct `webhook-id`s since the last reset. */
  distinct: number;
  /** Requests whose `webhook-id` had already been seen (redeliveries). */
  duplicates: number;
  /** When the latest distinct id arrived (epoch ms), 0 when none did. */
  lastNewAt: number;
  /** CPU of this process since the last reset, microseconds. */
  cpuMicros: number;
}

export type ReceiverMessage =
  | { seq: 0; op: 'ready'; port: number }
  | { seq: number; op: 'reset' }
  | { seq: number; op: 'stats'; stats: ReceiverStats }
  | { seq: number; op: 'dump'; receipts: Array<[string, number]> }
  | { seq: number; op: 'clock'; now: number };

const now = () => performance.timeOrigin + performance.now();

let seen = new Map<string, number>();
let requests = 0;
let duplicates = 0;
let lastNewAt = 0;
let cpuMark = process.cpuUsage();

const server = createServer((req, res) => {
  // Reading the body is part of the work a real receiver does (it must, to verify a signature).
  req.on('data', () => undefined);
  req.on('end', () => {
    const at = now();
    requests++;
    const id = req.headers['webhook-id'];
    if (typeof id === 'string') {
      if (seen.has(id)) duplicates++;
      else {
        seen.set(id, at);
        lastNewAt = at;
      }
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
});
// Longer than any pause between phases: pooled connections stay open from one phase to the next,
// so no phase pays for reconnects and no close can race a reuse (a retried delivery).
server.keepAliveTimeout = 65_000;

function send(msg: ReceiverMessage): void {
  process.send?.(msg);
}

process.on('message', (msg: ReceiverRequest) => {
  switch (msg.op) {
    case 'reset':
      seen = new Map();
      requests = 0;
      duplicates = 0;
      lastNewAt = 0;
      cpuMark = process.cpuUsage();
      send({ seq: msg.seq, op: 'reset' });
      return;
    case 'stats': {
      const cpu = process.cpuUsage(cpuMark);
      send({
        seq: msg.seq,
        op: 'stats',
        stats: { requests, distinct: seen.size, duplicates, lastNewAt, cpuMicros: cpu.user + cpu.system },
      });
      return;
    }
    case 'dump':
      send({ seq: msg.seq, op: 'dump', receipts: [...seen] });
      return;
    case 'clock':
      send({ seq: msg.seq, op: 'clock', now: now() });
      return;
  }
});

// The parent going away (normally or not) ends this process: no orphan keeps the port.
process.on('disconnect', () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
});

server.listen(0, '127.0.0.1', () => {
  send({ seq: 0, op: 'ready', port: (server.address() as AddressInfo).port });
});
