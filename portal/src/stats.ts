import type { EndpointStats } from './api.ts';
import { h } from './dom.ts';

const count = (n: number) => n.toLocaleString('en-US');

/** 0.9854 → "98.5": rounded down, so anything short of all reads below 100. */
export function percent(rate: number): string {
  const tenths = rate >= 1 ? 1000 : Math.floor(rate * 1000 + 1e-9);
  return (tenths / 10).toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** "98.5 % of 200 deliveries in 24 h", "(first 1,000)" when the relay looked at only so many. */
export function rateText(s: EndpointStats): string {
  const hours = Math.max(1, Math.round((Date.parse(s.to) - Date.parse(s.from)) / 3_600_000));
  const window = Number.isFinite(hours) ? `${hours} h` : '24 h';
  const partial = s.complete ? '' : ` (first ${count(s.deliveries)})`;
  if (s.deliveries === 0) return `No deliveries in ${window}`;
  const noun = s.deliveries === 1 ? 'delivery' : 'deliveries';
  if (s.successRate === null)
    return `${count(s.deliveries)} ${noun} in ${window}, none settled yet${partial}`;
  return `${percent(s.successRate)} % of ${count(s.deliveries)} ${noun} in ${window}${partial}`;
}

/** The success rate as a line, coloured by how it goes; `detail` adds the counts per status. */
export function rateLine(s: EndpointStats, detail = false): HTMLElement {
  const r = s.successRate;
  const kind = r === null ? 'none' : r >= 0.99 ? 'ok' : r >= 0.9 ? 'warn' : 'bad';
  const counts = [
    `${count(s.succeeded)} succeeded`,
    s.failed + s.dead > 0 && `${count(s.failed + s.dead)} failed`,
    s.pending > 0 && `${count(s.pending)} pending`,
  ]
    .filter(Boolean)
    .join(', ');
  return h(
    'p',
    { class: `rate rate-${kind}`, 'data-rate': r === null ? '' : String(r), title: counts },
    h('span', { class: 'rate-text' }, rateText(s)),
    detail && s.deliveries > 0 && h('span', { class: 'hint' }, ` — ${counts}`),
  );
}
