/**
 * A webhook receiver for trying the relay out: prints every delivery and, when WEBHOOK_SECRET is
 * set, verifies its signature with the `standardwebhooks` package, as a customer's server would.
 *
 *   PORT=4000 WEBHOOK_SECRET=whsec_... FAIL_FIRST=1 npm run receiver
 *
 * FAIL_FIRST=n answers 503 to the first n requests, to watch the relay retry.
 */
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const port = Number(process.env.PORT ?? 4000);
const secret = process.env.WEBHOOK_SECRET;
let failFirst = Number(process.env.FAIL_FIRST ?? 0);

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const h = (name: string) => String(req.headers[name] ?? '');
    let verdict = 'not checked (set WEBHOOK_SECRET)';
    if (secret) {
      try {
        new Webhook(secret).verify(body, {
          'webhook-id': h('webhook-id'),
          'webhook-timestamp': h('webhook-timestamp'),
          'webhook-signature': h('webhook-signature'),
        });
        verdict = 'valid';
      } catch (err) {
        // verify() checks the signature, then JSON.parses the body: an XML body with a valid
        // signature stops at the parse.
        verdict =
          err instanceof SyntaxError && h('content-type').startsWith('application/xml')
            ? 'valid (XML body)'
            : `INVALID (${(err as Error).message})`;
      }
    }
    const extra = ['content-type', 'authorization', 'x-api-key'].filter((n) => req.headers[n]);
    const status = failFirst > 0 ? 503 : 200;
    if (failFirst > 0) failFirst--;
    process.stdout.write(
      `${req.method} ${req.url} -> ${status}\n` +
        `  webhook-id:        ${h('webhook-id')}\n` +
        `  webhook-timestamp: ${h('webhook-timestamp')}\n` +
        `  webhook-signature: ${h('webhook-signature')}  (${verdict})\n` +
        extra.map((n) => `  ${`${n}:`.padEnd(19)}${h(n)}\n`).join('') +
        `  body: ${body}\n\n`,
    );
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'ok' : 'try again later');
  });
}).listen(port, '127.0.0.1', () => {
  process.stdout.write(`receiver listening on http://127.0.0.1:${port}\n`);
});
