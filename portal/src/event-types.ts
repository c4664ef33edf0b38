import type { EventType } from './api.ts';
import { type Ctx, errorNotice, type View } from './context.ts';
import { h, notice, replace } from './dom.ts';

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

function eventTypeCard(t: EventType): HTMLElement {
  const headingId = `type-${t.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  return h(
    'li',
    { class: 'card event-type', 'data-type': t.name, 'aria-labelledby': headingId },
    h(
      'h3',
      { id: headingId },
      h('code', {}, t.name),
      t.deprecated && ' ',
      t.deprecated && h('span', { class: 'badge badge-warn' }, 'Deprecated'),
    ),
    t.description
      ? h('p', { class: 'description' }, t.description)
      : h('p', { class: 'hint' }, 'No description.'),
    t.deprecated &&
      h(
        'p',
        { class: 'hint' },
        'Deprecated: it may stop being sent. Subscribe to its replacement, if there is one.',
      ),
    h(
      'div',
      { class: 'type-docs' },
      h(
        'div',
        {},
        h('h4', {}, 'Schema of its data'),
        t.schema === undefined
          ? h('p', { class: 'hint' }, 'No schema: its data may be any JSON object.')
          : h('pre', { class: 'schema' }, pretty(t.schema)),
      ),
      h(
        'div',
        {},
        h('h4', {}, 'Example'),
        t.example === undefined
          ? h('p', { class: 'hint' }, 'No example.')
          : h('pre', { class: 'example' }, pretty(t.example)),
      ),
    ),
  );
}

/** `#/event-types`: the tenant's catalog, with each type's schema and example (all as text). */
export function eventTypesView(ctx: Ctx): View {
  const list = h('div', {}, notice('loading', 'Loading the event types…'));
  const el = h(
    'div',
    { class: 'view' },
    h('h2', { tabindex: -1 }, 'Event types'),
    h(
      'p',
      { class: 'lead' },
      'The events your endpoints can subscribe to, what their data holds and an example. ',
      'Send an endpoint a catalog type’s example from its page (Send test event).',
    ),
    list,
  );
  ctx.catalog(true).then(
    (types) => {
      if (types.length === 0) {
        replace(
          list,
          notice(
            'empty',
            'The catalog lists no event types yet. Endpoints can still subscribe to any type by name or with a wildcard (order.*).',
          ),
        );
        return;
      }
      const sorted = [...types].sort(
        (a, b) =>
          Number(a.deprecated ?? false) - Number(b.deprecated ?? false) || a.name.localeCompare(b.name),
      );
      replace(
        list,
        h('p', { class: 'hint' }, `${sorted.length} event type${sorted.length === 1 ? '' : 's'}.`),
        h('ul', { class: 'event-types', 'aria-label': 'Event types' }, ...sorted.map(eventTypeCard)),
      );
    },
    (err) => replace(list, errorNotice(err, 'The event types could not be loaded')),
  );
  return { el };
}
