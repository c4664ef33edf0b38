import type { Endpoint } from './api.ts';
import { type Ctx, endpointHash, errorNotice, type View } from './context.ts';
import { h, notice, replace, time } from './dom.ts';
import { endpointForm } from './form.ts';
import { rateLine } from './stats.ts';

/**
 * Fills each endpoint's slot with its 24 h success rate, a few requests at a time; a slot stays
 * empty (hidden) where the relay answers no figures (an older relay: 404) or fails.
 */
export function loadRates(ctx: Ctx, slots: Array<[string, HTMLElement]>, alive: () => boolean): void {
  const queue = [...slots];
  const worker = async () => {
    for (let next = queue.shift(); next && alive(); next = queue.shift()) {
      const [id, slot] = next;
      const stats = await ctx.api.getStats(id).catch(() => undefined);
      if (stats && alive()) replace(slot, rateLine(stats));
    }
  };
  for (let i = 0; i < 4; i++) void worker();
}

/** Enabled / disabled, and the health the relay records: failing since, circuit open. */
export function statusBadges(e: Endpoint): HTMLElement {
  const now = new Date().toISOString();
  const circuitOpen = e.circuit && e.circuit.openUntil > now;
  return h(
    'span',
    { class: 'badges' },
    e.enabled
      ? h('span', { class: 'badge badge-ok' }, 'Enabled')
      : h('span', { class: 'badge badge-off' }, 'Disabled'),
    circuitOpen && h('span', { class: 'badge badge-bad' }, 'Circuit open'),
    e.failingSince && h('span', { class: 'badge badge-warn' }, 'Failing'),
    !e.failingSince && !circuitOpen && e.enabled && h('span', { class: 'badge badge-ok' }, 'Healthy'),
  );
}

/** The health in words, or nothing when all is well. */
export function healthLine(e: Endpoint): HTMLElement | false {
  const now = new Date().toISOString();
  const parts: Array<Node | string> = [];
  if (!e.enabled && e.disabledReason) parts.push(`Disabled by the relay: ${e.disabledReason}. `);
  if (e.failingSince) parts.push('Failing since ', time(e.failingSince), '. ');
  if (e.circuit && e.circuit.openUntil > now) {
    parts.push(
      `Not answering: paused after ${e.circuit.timeouts} timeout(s) until `,
      time(e.circuit.openUntil),
      '. ',
    );
  }
  if (parts.length === 0) return false;
  return h('p', { class: 'health' }, ...parts);
}

export function endpointsView(ctx: Ctx): View {
  let disposed = false;
  const list = h('div', { class: 'list' }, notice('loading', 'Loading endpoints…'));
  const formSlot = h('div', {}, notice('loading', 'Loading the event-type catalog…'));
  const heading = h('h2', { tabindex: -1 }, 'Endpoints');
  const el = h(
    'div',
    { class: 'view' },
    heading,
    h(
      'p',
      { class: 'lead' },
      'The URLs that receive webhooks. Open one to edit it, see its deliveries or send a test event.',
    ),
    list,
    h(
      'section',
      { 'aria-labelledby': 'add-heading', class: 'card' },
      h('h2', { id: 'add-heading' }, 'Add an endpoint'),
      formSlot,
    ),
  );

  ctx.api.listEndpoints().then(
    (endpoints) => {
      if (endpoints.length === 0) {
        replace(list, notice('empty', 'No endpoints yet — add one with the form below.'));
        return;
      }
      const sorted = [...endpoints].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      const rates: Array<[string, HTMLElement]> = sorted.map((e) => [e.id, h('div', { class: 'rate-slot' })]);
      replace(
        list,
        h(
          'ul',
          { class: 'endpoints', 'aria-label': 'Endpoints' },
          ...sorted.map((e, i) =>
            h(
              'li',
              { class: 'endpoint-item' },
              h(
                'div',
                { class: 'endpoint-main' },
                h('a', { href: endpointHash(e.id), class: 'endpoint-url' }, e.url),
                e.description && h('p', { class: 'description' }, e.description),
                h(
                  'p',
                  { class: 'types' },
                  ...e.eventTypes.flatMap((t, i) => [i > 0 ? ' ' : '', h('code', {}, t)]),
                ),
                healthLine(e),
                rates[i]?.[1],
              ),
              statusBadges(e),
            ),
          ),
        ),
      );
      loadRates(ctx, rates, () => !disposed);
    },
    (err) => replace(list, errorNotice(err, 'The endpoints could not be loaded')),
  );

  ctx.catalog().then(
    (catalog) => {
      replace(
        formSlot,
        endpointForm({
          catalog,
          submitLabel: 'Add endpoint',
          onSubmit: async (input) => {
            const created = await ctx.api.createEndpoint(input);
            ctx.navigate(
              endpointHash(created.id),
              `Endpoint ${created.url} added. Send it a test event to check it receives webhooks.`,
            );
          },
        }),
      );
    },
    (err) => replace(formSlot, errorNotice(err, 'The event-type catalog could not be loaded')),
  );

  return {
    el,
    dispose() {
      disposed = true;
    },
  };
}
