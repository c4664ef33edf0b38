/*
 * Replays of archived events: start one over a time window, and each replay's status, refreshed
 * every second while any is still going.
 */
import { field, h, notice, replace, time } from '../dom.ts';
import { type Replay, replayDone } from './api.ts';
import { busy, type Ctx, errorNotice, every, stateBadge, type View } from './ui.ts';

/** A Date as a `datetime-local` value (the reader's local time, to the second). */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A `datetime-local` value (local time) as an ISO instant; undefined when empty or invalid. */
function isoOf(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value); // date and time without an offset: local time
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function replaysView(ctx: Ctx): View {
  const { api } = ctx;
  const listSlot = h('div');
  const formError = h('div');
  /** Replays started from this page, for a relay that cannot list them (no GET /v1/replays). */
  const mine = new Map<string, Replay>();
  let listable = true;
  let poll: { stop(): void } | undefined;
  let disposed = false;

  const now = new Date();
  const from = h('input', {
    type: 'datetime-local',
    name: 'from',
    required: true,
    step: 1,
    value: localInput(new Date(now.getTime() - 3600_000)),
  });
  const to = h('input', { type: 'datetime-local', name: 'to', step: 1 });
  const start = h('button', { type: 'submit', class: 'primary' }, 'Start replay');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'replay-h' },
    h('h3', { id: 'replay-h' }, 'Replay a time window'),
    h(
      'p',
      { class: 'hint' },
      "Every event accepted in the window fans out again to today's matching subscriptions, as new deliveries with the same webhook-id (receivers deduplicate on it).",
    ),
    h(
      'div',
      { class: 'row' },
      field('From', from, 'Your local time.'),
      field('To (optional)', to, 'Empty: now. A time in the future counts as now.'),
    ),
    h('div', { class: 'actions' }, start),
    formError,
  );

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(formError);
    const fromIso = isoOf(from.value);
    const toIso = isoOf(to.value);
    if (!fromIso) {
      from.setAttribute('aria-invalid', 'true');
      replace(formError, notice('error', 'Pick the start of the window (From): a date and a time.'));
      from.focus();
      return;
    }
    from.removeAttribute('aria-invalid');
    if (toIso && toIso <= fromIso) {
      to.setAttribute('aria-invalid', 'true');
      replace(formError, notice('error', 'To must be later than From; or leave it empty for now.'));
      to.focus();
      return;
    }
    to.removeAttribute('aria-invalid');
    try {
      const r = await busy(start, 'Starting…', () => api.startReplay(fromIso, toIso));
      mine.set(r.id, r);
      ctx.flash(`Replay ${r.id} started.`);
      await load();
    } catch (err) {
      replace(
        formError,
        errorNotice(err, 'The replay did not start', 'Correct the window and press Start replay again.'),
      );
    }
  });

  async function fetchReplays(): Promise<Replay[]> {
    if (listable) {
      try {
        return await api.listReplays();
      } catch (err) {
        if ((err as { status?: number }).status !== 404) throw err;
        listable = false; // an older relay: follow the replays started here, one by one
      }
    }
    const fresh = await Promise.all(
      [...mine.values()].map((r) => (replayDone(r.status) ? r : api.getReplay(r.id))),
    );
    for (const r of fresh) mine.set(r.id, r);
    return fresh.reverse();
  }

  async function load() {
    if (!listSlot.firstChild) replace(listSlot, notice('loading', 'Loading the replays…'));
    let replays: Replay[];
    try {
      replays = await fetchReplays();
    } catch (err) {
      replace(listSlot, errorNotice(err, 'The replays could not be loaded', 'Press Refresh to try again.'));
      return;
    }
    if (disposed) return;
    render(replays);
    const running = replays.some((r) => !replayDone(r.status));
    if (running && !poll) poll = every(1000, load);
    if (!running) {
      poll?.stop();
      poll = undefined;
    }
  }

  function render(replays: Replay[]) {
    if (replays.length === 0) {
      replace(
        listSlot,
        notice(
          'empty',
          listable
            ? 'No replays yet: start one with the form above.'
            : 'This relay does not list its replays (GET /v1/replays): the ones you start here are shown.',
        ),
      );
      return;
    }
    replace(
      listSlot,
      h(
        'div',
        { class: 'log' },
        h(
          'table',
          { class: 'replays' },
          h('caption', { class: 'visually-hidden' }, 'Replays, newest first'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Replay', 'Status', 'From', 'To', 'Events replayed', 'Last event replayed'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...replays.map((r) =>
              h(
                'tr',
                { 'data-replay': r.id },
                h('td', {}, h('code', {}, r.id)),
                h('td', {}, stateBadge(r.status), r.reason && h('p', { class: 'error-text' }, r.reason)),
                h('td', {}, time(r.from)),
                h('td', {}, time(r.to)),
                h('td', { class: 'num' }, r.replayed ?? '—'),
                h('td', {}, time(r.lastReplayedAt)),
              ),
            ),
          ),
        ),
      ),
    );
  }

  const refresh = h('button', { type: 'button' }, 'Refresh');
  refresh.addEventListener('click', () => busy(refresh, 'Refreshing…', load));

  const el = h(
    'div',
    { class: 'view' },
    h('h2', { tabindex: -1 }, 'Replays'),
    h(
      'p',
      { class: 'lead' },
      "Send a window of archived events again: after a receiver's outage, or to a new subscription.",
    ),
    form,
    h(
      'section',
      { 'aria-labelledby': 'replays-h' },
      h('div', { class: 'list-head' }, h('h3', { id: 'replays-h' }, 'Replays'), refresh),
      listSlot,
    ),
  );
  void load();
  return {
    el,
    dispose() {
      disposed = true;
      poll?.stop();
    },
  };
}
