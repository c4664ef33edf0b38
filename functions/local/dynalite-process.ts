/**
 * dynalite in a process of its own: `npm start` runs it here so storage work does not share the
 * relay's event loop (and uses a second core). Reports its port to the parent over IPC and exits
 * when the parent goes away.
 */
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

const path = process.env.DYNALITE_PATH || undefined;
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
// The benchmark counts storage CPU too: answer { cpu } with this process's CPU time so far.
process.on('message', (m: { cpu?: boolean }) => {
  if (m?.cpu) {
    const u = process.cpuUsage();
    process.send?.({ cpuMicros: u.user + u.system });
  }
});
process.on('disconnect', () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
