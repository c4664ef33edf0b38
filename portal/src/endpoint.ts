import {
  type ApiError,
  type Delivery,
  type DeliveryQuery,
  type DeliveryStatus,
  type Endpoint,
  type EventType,
  matchesEventType,
  type RecoverResult,
  type RelayEvent,
} from './api.ts';
import { type Ctx, endpointHash, errorNotice, type View } from './context.ts';
import { errorLine, field, h, notice, replace, time, uid } from './dom.ts';
import { healthLine, statusBadges } from './endpoints.ts';
import { endpointForm } from './form.ts';
import { rateLine } from './stats.ts';

/** Polling of the log: quick for a while after an action (a test, a retry), slow otherwise. */
const FAST_MS = 500;
const SLOW_MS = 3000;
const BURST_MS = 15_000;
const PAGE = 25;
/** The 24 h figures scan up to a thousand deliveries: fetched now and then, not on every poll. */
const STATS_MS = 30_000;
/** An exact event type, as the log's filter takes it (no wildcards). */
const EXACT_TYPE = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/** A `datetime-local` value (the reader's time zone) for an instant, to the second. */
export function toLocalInput(d: Date): string {
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
}

/** A `datetime-local` value as an ISO instant; '' for empty, undefined when unreadable. */
export function fromLocalInput(v: string): string | undefined {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A labelled input with an error line under it. */
function withError(label: string, input: HTMLInputElement | HTMLSelectElement, hint?: string) {
  const el = field(label, input, hint);
  const err = errorLine([input]);
  el.append(err.el);
  return { el, input, err };
}

const STATUS_LABELS: Record<Delivery['status'], string> = {
  succeeded: 'Succeeded',
  pending: 'Pending',
  failed: 'Failed',
  dead: 'Failed (gave up)',
};
const STATUS_CLASS: Record<Delivery['status'], string> = {
  succeeded: 'badge-ok',
  pending: 'badge-warn',
  failed: 'badge-bad',
  dead: 'badge-bad',
};

function statusLabel(d: Delivery): string {
  if (d.status === 'pending' && d.attempts.length > 0) return 'Retrying';
  return STATUS_LABELS[d.status] ?? d.status;
}

export function statusBadge(d: Delivery): HTMLElement {
  return h(
    'span',
    { class: `badge ${STATUS_CLASS[d.status] ?? ''}`, 'data-status': d.status },
    statusLabel(d),
  );
}

const attemptResult = (status: number) => (status === 0 ? 'No response' : `HTTP ${status}`);

/**
 * Replaces `slot`'s content when `key` (the data it shows) changed, keeping the focus on the
 * element with the same `data-key` so polling never steals it from a keyboard user.
 */
const lastKeys = new WeakMap<Element, string>();
function renderIfChanged(slot: HTMLElement, key: string, build: () => Node): void {
  if (lastKeys.get(slot) === key) return;
  lastKeys.set(slot, key);
  const active = document.activeElement;
  const focusKey = active && slot.contains(active) ? active.getAttribute('data-key') : null;
  replace(slot, build());
  if (focusKey) slot.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
}

export interface EndpointView extends View {
  /** The same endpoint with another delivery selected: no reload of the page. */
  show(delivery: string | undefined): void;
  id: string;
}

export function endpointView(ctx: Ctx, id: string, initialDelivery?: string): EndpointView {
  let endpoint: Endpoint | undefined;
  let catalog: EventType[] = [];
  let firstPage: Delivery[] = [];
  let older: Delivery[] = [];
  let next: string | null = null;
  let selected = initialDelivery;
  let selectedFallback: Delivery | undefined;
  const events = new Map<string, RelayEvent | 'loading' | Error>();
  /** The log's filters as sent; `gen` counts their changes, so an older answer is dropped. */
  let query: DeliveryQuery = {};
  let gen = 0;
  let logLoaded = false;
  let statsAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let burstUntil = 0;
  let disposed = false;
  let lastError: unknown;

  const heading = h('h2', { tabindex: -1, class: 'endpoint-title' }, 'Endpoint');
  const badges = h('div', { class: 'badges-slot' });
  const health = h('div', {});
  const testSelect = h('select', { name: 'testType' });
  const testButton = h('button', { type: 'button', class: 'primary' }, 'Send test event');
  const toggleButton = h('button', { type: 'button' }, 'Disable endpoint');
  const actionResult = h('div', { class: 'action-result' });
  const top = h(
    'div',
    { class: 'endpoint-top' },
    h('p', {}, h('a', { href: '#/endpoints' }, '← All endpoints')),
    heading,
    badges,
    health,
  );
  const rateSlot = h('div', { class: 'rate-slot' });
  top.append(rateSlot);

  const logTable = h('div', { class: 'log-table' });
  const logStatus = h('p', { class: 'hint log-updated', 'aria-live': 'off' });
  const statusFilter = withError(
    'Status',
    h(
      'select',
      { name: 'status' },
      h('option', { value: '' }, 'All'),
      h('option', { value: 'succeeded' }, STATUS_LABELS.succeeded),
      h('option', { value: 'pending' }, 'Pending / retrying'),
      h('option', { value: 'dead' }, STATUS_LABELS.dead),
      h('option', { value: 'failed' }, STATUS_LABELS.failed),
    ),
  );
  const typeListId = uid('types');
  const typeList = h('datalist', { id: typeListId });
  const typeFilter = withError(
    'Event type',
    h('input', {
      type: 'text',
      name: 'eventType',
      list: typeListId,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'any',
      maxlength: 128,
    }),
  );
  const fromFilter = withError('From', h('input', { type: 'datetime-local', name: 'from', step: 1 }));
  const toFilter = withError('To', h('input', { type: 'datetime-local', name: 'to', step: 1 }));
  const filterFields = { status: statusFilter, eventType: typeFilter, from: fromFilter, to: toFilter };
  const clearButton = h('button', { type: 'button' }, 'Clear');
  const refreshButton = h('button', { type: 'button' }, 'Refresh');
  const logFilters = h(
    'form',
    { class: 'row toolbar log-filters', 'aria-label': 'Filter the delivery log', novalidate: true },
    statusFilter.el,
    typeFilter.el,
    typeList,
    fromFilter.el,
    toFilter.el,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, 'Apply filters'),
      clearButton,
      refreshButton,
    ),
  );
  const moreButton = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');

  const recoverFrom = withError(
    'From',
    h('input', {
      type: 'datetime-local',
      name: 'recoverFrom',
      step: 1,
      required: true,
      value: toLocalInput(new Date(Date.now() - 24 * 3_600_000)),
    }),
  );
  const recoverTo = withError(
    'To (empty: now)',
    h('input', { type: 'datetime-local', name: 'recoverTo', step: 1 }),
  );
  const recoverButton = h('button', { type: 'submit', class: 'primary' }, 'Recover');
  const recoverResult = h('div', { class: 'recover-result', 'aria-live': 'polite' });
  const recoverForm = h(
    'form',
    { class: 'recover-form', novalidate: true },
    h('div', { class: 'row' }, recoverFrom.el, recoverTo.el, h('div', { class: 'actions' }, recoverButton)),
    recoverResult,
  );
  const panel = h('div', { class: 'panel-slot' });

  const settingsSlot = h('div', {}, notice('loading', 'Loading…'));
  const secretSlot = h('div', { class: 'secret-slot' });
  const revealButton = h('button', { type: 'button' }, 'Reveal secret');
  const rotateButton = h('button', { type: 'button' }, 'Rotate secret');
  const rotateConfirm = h('div', { class: 'confirm', hidden: true });
  const deleteButton = h('button', { type: 'button', class: 'danger' }, 'Delete endpoint');
  const deleteConfirm = h('div', { class: 'confirm', hidden: true });

  const body = h(
    'div',
    { class: 'endpoint-body', hidden: true },
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'test-heading' },
      h('h2', { id: 'test-heading' }, 'Test and status'),
      h(
        'div',
        { class: 'row' },
        field('Event type to send', testSelect),
        h('div', { class: 'actions' }, testButton, toggleButton),
      ),
      actionResult,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'log-heading' },
      h('h2', { id: 'log-heading' }, 'Delivery log'),
      logFilters,
      logStatus,
      h('div', { class: 'log' }, logTable, moreButton),
      panel,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'recover-heading' },
      h('h2', { id: 'recover-heading' }, 'Recover failed deliveries'),
      h(
        'p',
        { class: 'hint' },
        'After an outage of your server: sends again every delivery that failed (gave up) for the events received in a time window.',
      ),
      recoverForm,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'settings-heading' },
      h('h2', { id: 'settings-heading' }, 'Settings'),
      settingsSlot,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'secret-heading' },
      h('h2', { id: 'secret-heading' }, 'Signing secret'),
      h(
        'p',
        { class: 'hint' },
        'Every webhook carries webhook-id, webhook-timestamp and webhook-signature headers (Standard Webhooks). ' +
          'Verify them with this secret before trusting a request.',
      ),
      secretSlot,
      h('div', { class: 'actions' }, revealButton, rotateButton),
      rotateConfirm,
    ),
    h(
      'section',
      { class: 'card danger-zone', 'aria-labelledby': 'delete-heading' },
      h('h2', { id: 'delete-heading' }, 'Delete'),
      h('p', { class: 'hint' }, 'Deleting stops every webhook to this URL at once. It cannot be undone.'),
      h('div', { class: 'actions' }, deleteButton),
      deleteConfirm,
    ),
  );
  const loading = h('div', {}, notice('loading', 'Loading the endpoint…'));
  const el = h('div', { class: 'view' }, top, loading, body);

  // --- rendering -------------------------------------------------------------------------------

  const renderHeader = () => {
    if (!endpoint) return;
    heading.textContent = endpoint.url;
    renderIfChanged(badges, JSON.stringify([endpoint.enabled, endpoint.failingSince, endpoint.circuit]), () =>
      h(
        'div',
        {},
        statusBadges(endpoint as Endpoint),
        endpoint?.description && h('p', { class: 'description' }, endpoint.description),
      ),
    );
    renderIfChanged(
      health,
      JSON.stringify([endpoint.failingSince, endpoint.circuit, endpoint.disabledReason, endpoint.enabled]),
      () => healthLine(endpoint as Endpoint) || h('span', {}),
    );
    toggleButton.textContent = endpoint.enabled ? 'Disable endpoint' : 'Enable endpoint';
    testButton.disabled = !endpoint.enabled;
    testButton.title = endpoint.enabled ? '' : 'Enable the endpoint to send it a test event';
  };

  const renderTestTypes = () => {
    if (!endpoint) return;
    const types = endpoint.eventTypes;
    const current = testSelect.value;
    const candidates = catalog.filter(
      (t) => t.example !== undefined && !t.deprecated && types.some((f) => matchesEventType(f, t.name)),
    );
    replace(
      testSelect,
      h('option', { value: '' }, 'webhook.test (a generic test event)'),
      ...candidates.map((t) => h('option', { value: t.name }, `${t.name} (its catalog example)`)),
    );
    testSelect.value = candidates.some((t) => t.name === current) ? current : '';
    replace(
      typeList,
      ...catalog
        .filter((t) => types.some((f) => matchesEventType(f, t.name)))
        .map((t) => h('option', { value: t.name })),
    );
  };

  /** The loaded pages; filtered here too, so a relay that ignores a filter still shows it right. */
  const shown = () => {
    const all = [...firstPage, ...older.filter((o) => !firstPage.some((f) => f.id === o.id))];
    return all.filter(
      (d) =>
        (!query.status || d.status === query.status) && (!query.eventType || d.eventType === query.eventType),
    );
  };
  const filtered = () => Object.values(query).some(Boolean);

  const renderLog = () => {
    const rows = shown();
    moreButton.hidden = !next;
    const key = JSON.stringify([rows, selected, lastError ? String(lastError) : '', logLoaded, next, query]);
    renderIfChanged(logTable, key, () => {
      if (lastError && firstPage.length === 0)
        return errorNotice(lastError, 'The delivery log could not be loaded');
      if (!logLoaded) return notice('loading', 'Loading the deliveries…');
      if (rows.length === 0) {
        return filtered()
          ? notice(
              'empty',
              next
                ? 'None of the deliveries looked at so far match these filters: “Load more” looks further back.'
                : 'No deliveries match these filters. Choose “Clear” to see every one.',
            )
          : notice(
              'empty',
              'No deliveries yet. Send a test event above: its delivery shows here within a few seconds.',
            );
      }
      return h(
        'table',
        { class: 'deliveries' },
        h('caption', { class: 'visually-hidden' }, 'Deliveries to this endpoint, newest first'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col' }, 'Event type'),
            h('th', { scope: 'col' }, 'Created'),
            h('th', { scope: 'col' }, 'Attempts'),
            h('th', { scope: 'col' }, 'Last result'),
          ),
        ),
        h(
          'tbody',
          {},
          ...rows.map((d) => {
            const last = d.attempts.at(-1);
            return h(
              'tr',
              {
                class: d.id === selected ? 'selected' : undefined,
                'data-delivery': d.id,
                'data-event': d.eventId,
              },
              h('td', {}, statusBadge(d)),
              h(
                'td',
                {},
                h(
                  'a',
                  {
                    href: endpointHash(id, d.id),
                    'data-key': `d:${d.id}`,
                    'aria-current': d.id === selected ? 'true' : undefined,
                    'aria-label': `${d.eventType}, ${statusLabel(d)}: show its attempts`,
                  },
                  d.eventType,
                ),
              ),
              h('td', {}, time(d.createdAt)),
              h('td', { class: 'num' }, d.attempts.length),
              h('td', {}, last ? attemptResult(last.status) : d.nextAttemptAt ? 'waiting' : '—'),
            );
          }),
        ),
      );
    });
    logStatus.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes by itself.`;
    renderPanel();
  };

  const selectedDelivery = () =>
    selected ? ([...firstPage, ...older].find((d) => d.id === selected) ?? selectedFallback) : undefined;

  const loadEvent = (eventId: string) => {
    if (events.has(eventId)) return;
    events.set(eventId, 'loading');
    ctx.api.getEvent(eventId).then(
      (e) => {
        events.set(eventId, e);
        renderPanel();
      },
      (err: Error) => {
        events.set(eventId, err);
        renderPanel();
      },
    );
  };

  const renderPanel = () => {
    if (!selected) {
      renderIfChanged(panel, '', () => h('span', {}));
      return;
    }
    const d = selectedDelivery();
    if (!d) {
      renderIfChanged(panel, `loading:${selected}`, () => notice('loading', 'Loading the delivery…'));
      return;
    }
    loadEvent(d.eventId);
    const ev = events.get(d.eventId);
    const evKey = ev instanceof Error ? `err:${ev.message}` : ev === 'loading' || !ev ? 'loading' : 'ok';
    renderIfChanged(panel, JSON.stringify([d, evKey]), () => deliveryPanel(d, ev));
  };

  const deliveryPanel = (d: Delivery, ev: RelayEvent | 'loading' | Error | undefined) =>
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'delivery-heading' },
      h(
        'div',
        { class: 'panel-head' },
        h('h3', { id: 'delivery-heading', tabindex: -1 }, `Delivery of ${d.eventType}`),
        h(
          'a',
          { href: endpointHash(id), class: 'close', 'aria-label': 'Close the delivery details' },
          'Close',
        ),
      ),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Status'),
        h('dd', {}, statusBadge(d)),
        h('dt', {}, 'Delivery'),
        h('dd', {}, h('code', {}, d.id)),
        h('dt', {}, 'Event'),
        h('dd', {}, h('code', {}, d.eventId)),
        h('dt', {}, 'Created'),
        h('dd', {}, time(d.createdAt)),
        d.nextAttemptAt && h('dt', {}, 'Next attempt'),
        d.nextAttemptAt && h('dd', {}, time(d.nextAttemptAt)),
        d.lastError && h('dt', {}, 'Last error'),
        d.lastError && h('dd', {}, d.lastError),
      ),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            'data-key': `retry:${d.id}`,
            onclick: (e: Event) => retry(d, e.currentTarget as HTMLButtonElement),
          },
          d.status === 'succeeded' ? 'Send again' : 'Retry',
        ),
      ),
      h('h4', {}, 'Attempts'),
      d.attempts.length === 0
        ? notice('empty', d.nextAttemptAt ? 'No attempt yet: the first is scheduled.' : 'No attempt yet.')
        : h(
            'table',
            { class: 'attempts' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, '#'),
                h('th', { scope: 'col' }, 'Time'),
                h('th', { scope: 'col' }, 'Result'),
                h('th', { scope: 'col' }, 'Duration'),
                h('th', { scope: 'col' }, 'Trigger'),
                h('th', { scope: 'col' }, 'Response'),
              ),
            ),
            h(
              'tbody',
              {},
              ...[...d.attempts]
                .reverse()
                .map((a) =>
                  h(
                    'tr',
                    { 'data-attempt': a.attempt },
                    h('td', { class: 'num' }, a.attempt),
                    h('td', {}, time(a.at)),
                    h(
                      'td',
                      {},
                      h(
                        'span',
                        { class: `badge ${a.status >= 200 && a.status < 300 ? 'badge-ok' : 'badge-bad'}` },
                        attemptResult(a.status),
                      ),
                    ),
                    h('td', { class: 'num' }, `${a.durationMs} ms`),
                    h('td', {}, a.trigger === 'manual' ? 'manual retry' : 'scheduled'),
                    h(
                      'td',
                      {},
                      a.error && h('p', { class: 'error-text' }, a.error),
                      a.responseBody !== undefined && a.responseBody !== ''
                        ? h('pre', { class: 'excerpt' }, a.responseBody)
                        : !a.error && h('span', { class: 'hint' }, '(empty body)'),
                    ),
                  ),
                ),
            ),
          ),
      h('h4', {}, 'What was sent'),
      ev instanceof Error
        ? errorNotice(ev, 'The event could not be loaded')
        : ev === 'loading' || !ev
          ? notice('loading', 'Loading the event…')
          : h(
              'div',
              {},
              h(
                'p',
                { class: 'hint' },
                'Event ',
                h('code', {}, ev.type),
                ' of ',
                time(ev.timestamp),
                ', its data:',
              ),
              h('pre', { class: 'payload' }, JSON.stringify(ev.data, null, 2)),
            ),
    );

  // --- data ------------------------------------------------------------------------------------

  const schedule = () => {
    if (disposed) return;
    clearTimeout(timer);
    const fast = Date.now() < burstUntil;
    timer = setTimeout(tick, fast ? FAST_MS : SLOW_MS);
  };
  const burst = () => {
    burstUntil = Date.now() + BURST_MS;
    schedule();
  };

  async function tick() {
    if (disposed) return;
    if (document.visibilityState === 'hidden' && Date.now() >= burstUntil) return schedule();
    const g = gen;
    if (Date.now() - statsAt > STATS_MS) loadStats();
    try {
      const [e, page] = await Promise.all([
        ctx.api.getEndpoint(id),
        ctx.api.listDeliveries(id, { ...query, limit: PAGE }),
      ]);
      if (disposed || g !== gen) return; // the filters changed meanwhile: the newer tick's answer counts
      endpoint = e;
      // New deliveries at the top push rows past the first page: rows loaded with "Load more"
      // would then miss those in between, so the log starts over from the fresh first page.
      const shifted = older.length > 0 && page.deliveries.some((d) => !firstPage.some((f) => f.id === d.id));
      firstPage = page.deliveries;
      if (shifted) older = [];
      if (older.length === 0) next = page.next;
      logLoaded = true;
      lastError = undefined;
      if (selected && !firstPage.some((d) => d.id === selected) && !older.some((d) => d.id === selected)) {
        selectedFallback = await ctx.api.getDelivery(selected).catch(() => selectedFallback);
      }
      renderHeader();
      renderLog();
    } catch (err) {
      if (disposed || g !== gen) return;
      lastError = err;
      showFilterErrors(err);
      renderLog();
    }
    schedule();
  }

  const loadStats = () => {
    statsAt = Date.now();
    ctx.api.getStats(id).then(
      (stats) => {
        if (!disposed) replace(rateSlot, stats && rateLine(stats, true));
      },
      () => replace(rateSlot), // no figures: nothing shown (the log says how it goes)
    );
  };

  /** The relay's 400 on a filter (`details[].path`: status, eventType, from, to) at its field. */
  const showFilterErrors = (err: unknown) => {
    for (const f of Object.values(filterFields)) f.err.clear();
    for (const d of (err as ApiError).details ?? []) {
      filterFields[d.path as keyof typeof filterFields]?.err.show([d.message]);
    }
  };

  /** Reads the filter form; undefined (errors shown at the fields) when it does not hold. */
  const readFilters = (): DeliveryQuery | undefined => {
    for (const f of Object.values(filterFields)) f.err.clear();
    const q: DeliveryQuery = {};
    let ok = true;
    if (statusFilter.input.value) q.status = statusFilter.input.value as DeliveryStatus;
    const type = typeFilter.input.value.trim();
    if (type && !EXACT_TYPE.test(type)) {
      typeFilter.err.show(['An exact event type, e.g. order.created (no wildcards).']);
      ok = false;
    } else if (type) q.eventType = type;
    for (const [k, f] of [
      ['from', fromFilter],
      ['to', toFilter],
    ] as const) {
      const v = fromLocalInput(f.input.value);
      if (v === undefined) {
        f.err.show(['Enter a date and time.']);
        ok = false;
      } else if (v) q[k] = v;
    }
    if (q.from && q.to && q.from > q.to) {
      toFilter.err.show(['Must not be earlier than From.']);
      ok = false;
    }
    return ok ? q : undefined;
  };

  const applyFilters = (q: DeliveryQuery) => {
    query = q;
    gen++;
    firstPage = [];
    older = [];
    next = null;
    logLoaded = false;
    lastError = undefined;
    clearTimeout(timer);
    renderLog();
    void tick();
  };

  const retry = async (d: Delivery, button: HTMLButtonElement) => {
    button.disabled = true;
    try {
      await ctx.api.retryDelivery(d.id);
      ctx.flash('Retry queued: the new attempt shows in this delivery within a few seconds.');
      burst();
    } catch (err) {
      replace(actionResult, errorNotice(err, 'The retry was refused'));
    } finally {
      button.disabled = false;
    }
  };

  testButton.addEventListener('click', async () => {
    testButton.disabled = true;
    replace(actionResult);
    try {
      const sent = await ctx.api.sendTest(id, testSelect.value || undefined);
      replace(
        actionResult,
        notice(
          'ok',
          'Test event ',
          h('code', {}, sent.id),
          ` (${sent.type}) sent: its delivery appears in the log below.`,
        ),
      );
      burst();
    } catch (err) {
      replace(actionResult, errorNotice(err, 'The test event was not sent'));
    } finally {
      testButton.disabled = !endpoint?.enabled;
    }
  });

  toggleButton.addEventListener('click', async () => {
    if (!endpoint) return;
    toggleButton.disabled = true;
    replace(actionResult);
    try {
      endpoint = await ctx.api.updateEndpoint(id, { enabled: !endpoint.enabled });
      const box = settingsSlot.querySelector<HTMLInputElement>('input[name="enabled"]');
      if (box) box.checked = endpoint.enabled;
      replace(
        actionResult,
        notice(
          'ok',
          endpoint.enabled
            ? 'Endpoint enabled: new events are delivered to it again.'
            : 'Endpoint disabled: it receives nothing until you enable it again.',
        ),
      );
      renderHeader();
    } catch (err) {
      replace(actionResult, errorNotice(err, 'Not changed'));
    } finally {
      toggleButton.disabled = false;
    }
  });

  logFilters.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = readFilters();
    if (q) applyFilters(q);
    else logFilters.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  });
  // The status applies at once; the type and the times on "Apply filters" (or Enter).
  statusFilter.input.addEventListener('change', () => {
    const q = readFilters();
    if (q) applyFilters(q);
  });
  clearButton.addEventListener('click', () => {
    logFilters.reset();
    for (const f of Object.values(filterFields)) f.err.clear();
    applyFilters({});
  });
  refreshButton.addEventListener('click', () => {
    clearTimeout(timer);
    statsAt = 0;
    void tick();
  });
  moreButton.addEventListener('click', async () => {
    if (!next) return;
    const g = gen;
    moreButton.disabled = true;
    try {
      const page = await ctx.api.listDeliveries(id, { ...query, limit: PAGE, cursor: next });
      if (g !== gen) return;
      older = [...older, ...page.deliveries];
      next = page.next;
      renderLog();
    } catch (err) {
      replace(actionResult, errorNotice(err, 'More deliveries could not be loaded'));
    } finally {
      moreButton.disabled = false;
    }
  });

  // Recover: one call looks at up to a thousand deliveries; "Continue" goes on from its cursor.
  let recoverTotals = { queued: 0, scanned: 0 };
  const recover = async (window: { from: string; to: string }, cursor?: string) => {
    const buttons = recoverForm.querySelectorAll('button');
    for (const b of buttons) b.disabled = true;
    recoverButton.setAttribute('aria-busy', 'true');
    try {
      const r: RecoverResult = await ctx.api.recover(id, cursor ? { ...window, cursor } : window);
      recoverTotals = cursor
        ? { queued: recoverTotals.queued + r.queued, scanned: recoverTotals.scanned + r.scanned }
        : { queued: r.queued, scanned: r.scanned };
      const n = recoverTotals.queued;
      const more = r.next
        ? h(
            'button',
            {
              type: 'button',
              class: 'continue',
              onclick: () => void recover(window, r.next ?? undefined),
            },
            'Continue',
          )
        : undefined;
      replace(
        recoverResult,
        notice(
          'ok',
          h(
            'p',
            { class: 'recover-summary' },
            n === 0
              ? 'No failed delivery to send again'
              : `${n.toLocaleString('en-US')} failed ${n === 1 ? 'delivery' : 'deliveries'} queued to be sent again`,
            ` (${recoverTotals.scanned.toLocaleString('en-US')} looked at, events received from `,
            time(window.from),
            ' to ',
            time(window.to),
            ').',
          ),
          more && h('p', {}, 'The window holds more deliveries than one call looks at. '),
          more && h('div', { class: 'actions' }, more),
          n > 0 &&
            h('p', { class: 'hint' }, 'Their new attempts show in the delivery log within a few seconds.'),
        ),
      );
      if (n > 0) burst();
      (more ?? recoverButton).focus();
    } catch (err) {
      for (const d of (err as ApiError).details ?? []) {
        (d.path === 'from' ? recoverFrom : d.path === 'to' ? recoverTo : undefined)?.err.show([d.message]);
      }
      replace(recoverResult, errorNotice(err, 'Not recovered'));
    } finally {
      for (const b of buttons) b.disabled = false;
      recoverButton.removeAttribute('aria-busy');
    }
  };
  recoverForm.addEventListener('submit', (e) => {
    e.preventDefault();
    recoverFrom.err.clear();
    recoverTo.err.clear();
    const from = fromLocalInput(recoverFrom.input.value);
    const to = fromLocalInput(recoverTo.input.value);
    if (!from) recoverFrom.err.show(['Enter when the window starts.']);
    if (to === undefined) recoverTo.err.show(['Enter a date and time, or leave it empty for now.']);
    if (!from || to === undefined) return;
    const window = { from, to: to || new Date().toISOString() };
    if (window.from >= window.to) {
      recoverTo.err.show(['Must be later than From.']);
      return;
    }
    void recover(window);
  });

  // Secret: shown only on request, hidden again on request; rotation confirmed inline (an
  // iframe sandbox may forbid confirm() dialogs).
  const showSecret = (secret: string, note?: Node) => {
    const code = h('code', { class: 'secret', 'data-secret': '' }, secret);
    const copy = h('button', { type: 'button' }, 'Copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(secret);
        copy.textContent = 'Copied';
      } catch {
        // Clipboard refused (an iframe without clipboard-write): select it for a manual copy.
        const range = document.createRange();
        range.selectNodeContents(code);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
        copy.textContent = 'Selected: press Ctrl+C';
      }
    });
    replace(secretSlot, note, h('p', { class: 'secret-line' }, code, ' ', copy));
    revealButton.textContent = 'Hide secret';
  };
  revealButton.addEventListener('click', async () => {
    if (secretSlot.querySelector('[data-secret]')) {
      replace(secretSlot);
      revealButton.textContent = 'Reveal secret';
      return;
    }
    revealButton.disabled = true;
    try {
      showSecret(await ctx.api.getSecret(id));
    } catch (err) {
      replace(secretSlot, errorNotice(err, 'The secret could not be read'));
    } finally {
      revealButton.disabled = false;
    }
  });

  const confirmBox = (
    box: HTMLElement,
    opener: HTMLButtonElement,
    text: string,
    label: string,
    action: () => Promise<void>,
  ) => {
    const yes = h('button', { type: 'button', class: 'danger' }, label);
    const no = h('button', { type: 'button' }, 'Cancel');
    const close = () => {
      box.hidden = true;
      replace(box);
      opener.focus();
    };
    no.addEventListener('click', close);
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await action();
        box.hidden = true;
        replace(box);
      } catch (err) {
        replace(box, errorNotice(err, 'Refused'), h('div', { class: 'actions' }, no));
      }
    });
    replace(box, h('p', {}, text), h('div', { class: 'actions' }, yes, no));
    box.hidden = false;
    yes.focus();
  };

  rotateButton.addEventListener('click', () =>
    confirmBox(
      rotateConfirm,
      rotateButton,
      'Rotate the secret? New webhooks are signed with a new secret; the current one keeps signing them too for a grace period, so you can update your server.',
      'Rotate now',
      async () => {
        const rotated = await ctx.api.rotateSecret(id);
        endpoint = rotated;
        const note = h(
          'div',
          {},
          notice(
            'ok',
            'Secret rotated. Update your server with the new secret',
            rotated.previousSecretExpiresAt
              ? h(
                  'span',
                  {},
                  '; the previous one also signs webhooks until ',
                  time(rotated.previousSecretExpiresAt),
                  '.',
                )
              : '.',
          ),
        );
        showSecret(rotated.secret, note);
        rotateButton.focus();
      },
    ),
  );

  deleteButton.addEventListener('click', () =>
    confirmBox(
      deleteConfirm,
      deleteButton,
      `Delete ${endpoint?.url ?? 'this endpoint'}? Webhooks to it stop at once.`,
      'Delete for good',
      async () => {
        await ctx.api.deleteEndpoint(id);
        ctx.navigate('#/endpoints', `Endpoint ${endpoint?.url ?? id} deleted.`);
      },
    ),
  );

  /** The edit form, from the endpoint as the API shows it (secrets never: they are write-only). */
  const renderSettings = () => {
    if (!endpoint) return;
    replace(
      settingsSlot,
      endpointForm({
        catalog,
        initial: endpoint,
        submitLabel: 'Save changes',
        onSubmit: async (input) => {
          endpoint = await ctx.api.updateEndpoint(id, input);
          renderHeader();
          renderTestTypes();
          renderSettings(); // what was saved, as the API returns it: secret fields empty again
          settingsSlot.querySelector<HTMLElement>('button[type="submit"]')?.focus();
          ctx.flash('Changes saved.');
        },
      }),
    );
  };

  // --- first load ------------------------------------------------------------------------------

  Promise.all([ctx.api.getEndpoint(id), ctx.catalog().catch(() => [] as EventType[])]).then(
    ([e, c]) => {
      if (disposed) return;
      endpoint = e;
      catalog = c;
      loading.remove();
      body.hidden = false;
      renderHeader();
      renderTestTypes();
      renderSettings();
      renderLog();
      void tick();
    },
    (err) => {
      if (disposed) return;
      heading.textContent = 'Endpoint not available';
      replace(
        loading,
        (err as { status?: number }).status === 404
          ? notice(
              'error',
              'This endpoint does not exist (it may have been deleted). ',
              h('a', { href: '#/endpoints' }, 'Go back to the endpoints'),
              '.',
            )
          : errorNotice(err, 'The endpoint could not be loaded'),
      );
    },
  );

  return {
    el,
    id,
    show(delivery) {
      selected = delivery;
      selectedFallback = undefined;
      renderLog();
      if (delivery) {
        panel.scrollIntoView({ block: 'nearest' });
        panel.querySelector<HTMLElement>('h3')?.focus();
        if (!selectedDelivery()) void tick();
      }
    },
    dispose() {
      disposed = true;
      clearTimeout(timer);
    },
  };
}
