import { type Delivery, type Endpoint, type EventType, matchesEventType, type RelayEvent } from './api.ts';
import { type Ctx, endpointHash, errorNotice, type View } from './context.ts';
import { field, h, notice, replace, time } from './dom.ts';
import { healthLine, statusBadges } from './endpoints.ts';
import { endpointForm } from './form.ts';

/** Polling of the log: quick for a while after an action (a test, a retry), slow otherwise. */
const FAST_MS = 500;
const SLOW_MS = 3000;
const BURST_MS = 15_000;
const PAGE = 25;

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
  let filter = '';
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

  const logTable = h('div', { class: 'log-table' });
  const logStatus = h('p', { class: 'hint log-updated', 'aria-live': 'off' });
  const filterSelect = h(
    'select',
    { name: 'statusFilter' },
    h('option', { value: '' }, 'All'),
    h('option', { value: 'succeeded' }, 'Succeeded'),
    h('option', { value: 'pending' }, 'Pending / retrying'),
    h('option', { value: 'failed' }, 'Failed'),
  );
  const refreshButton = h('button', { type: 'button' }, 'Refresh');
  const moreButton = h('button', { type: 'button', class: 'more', hidden: true }, 'Load older deliveries');
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
      h(
        'div',
        { class: 'row toolbar' },
        field('Status', filterSelect),
        h('div', { class: 'actions' }, refreshButton),
        logStatus,
      ),
      h('div', { class: 'log' }, logTable, moreButton),
      panel,
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
  };

  const shown = () => {
    const all = [...firstPage, ...older.filter((o) => !firstPage.some((f) => f.id === o.id))];
    return filter === ''
      ? all
      : all.filter((d) =>
          filter === 'failed' ? d.status === 'failed' || d.status === 'dead' : d.status === filter,
        );
  };

  const renderLog = () => {
    const rows = shown();
    moreButton.hidden = !next;
    renderIfChanged(logTable, JSON.stringify([rows, selected, lastError ? String(lastError) : '']), () => {
      if (lastError && firstPage.length === 0)
        return errorNotice(lastError, 'The delivery log could not be loaded');
      if (rows.length === 0) {
        return filter
          ? notice(
              'empty',
              'No deliveries with this status among those loaded. Choose “All” to see every one.',
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
    try {
      const [e, page] = await Promise.all([ctx.api.getEndpoint(id), ctx.api.listDeliveries(id, PAGE)]);
      if (disposed) return;
      endpoint = e;
      firstPage = page.deliveries;
      if (older.length === 0) next = page.next;
      lastError = undefined;
      if (selected && !firstPage.some((d) => d.id === selected) && !older.some((d) => d.id === selected)) {
        selectedFallback = await ctx.api.getDelivery(selected).catch(() => selectedFallback);
      }
      renderHeader();
      renderLog();
    } catch (err) {
      lastError = err;
      renderLog();
    }
    schedule();
  }

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

  filterSelect.addEventListener('change', () => {
    filter = filterSelect.value;
    renderLog();
  });
  refreshButton.addEventListener('click', () => {
    clearTimeout(timer);
    void tick();
  });
  moreButton.addEventListener('click', async () => {
    if (!next) return;
    moreButton.disabled = true;
    try {
      const page = await ctx.api.listDeliveries(id, PAGE, next);
      older = [...older, ...page.deliveries];
      next = page.next;
      renderLog();
    } catch (err) {
      replace(actionResult, errorNotice(err, 'Older deliveries could not be loaded'));
    } finally {
      moreButton.disabled = false;
    }
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
      replace(
        settingsSlot,
        endpointForm({
          catalog,
          initial: e,
          submitLabel: 'Save changes',
          onSubmit: async (input) => {
            endpoint = await ctx.api.updateEndpoint(id, input);
            renderHeader();
            renderTestTypes();
            ctx.flash('Changes saved.');
          },
        }),
      );
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
