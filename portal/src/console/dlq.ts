/*
 * The delivery DLQ: how many dead tasks it holds (every tenant's), and a redrive that moves them
 * back to the delivery queue, with its progress polled every second until it ends.
 */
import { h, notice, replace } from '../dom.ts';
import { type Redrive, redriveDone } from './api.ts';
import { busy, type Ctx, errorNotice, every, stateBadge, type View } from './ui.ts';

export function dlqView(ctx: Ctx): View {
  const { api } = ctx;
  const countSlot = h('div', { class: 'dlq-count' });
  const redriveSlot = h('div', { class: 'redrive' });
  const redriveError = h('div');
  const start = h('button', { type: 'button', class: 'primary' }, 'Redrive the DLQ');
  const refresh = h('button', { type: 'button' }, 'Refresh');
  let poll: { stop(): void } | undefined;
  let countTimer: { stop(): void } | undefined;
  let disposed = false;

  async function loadCount() {
    try {
      const count = await api.deadLetterCount();
      replace(
        countSlot,
        h('p', { class: 'big' }, h('span', { class: 'figure', 'data-dlq-count': String(count) }, count)),
        h(
          'p',
          { class: 'hint' },
          count === 0
            ? 'The DLQ is empty: every delivery is either done or still being attempted.'
            : `${count === 1 ? 'task' : 'tasks'} out of attempts, across every tenant (approximate: SQS counts in flight). Fix the receivers, then redrive.`,
        ),
      );
    } catch (err) {
      replace(
        countSlot,
        errorNotice(
          err,
          'The DLQ count could not be read',
          (err as { status?: number }).status === 404
            ? 'This relay does not report it (GET /v1/admin/dlq): update it. Redriving still works.'
            : 'Press Refresh to try again.',
        ),
      );
    }
  }

  function showRedrive(r: Redrive) {
    const done = r.status === 'COMPLETED' && r.total === 0 ? 1 : r.moved;
    const max = Math.max(r.total, 1);
    const bar = h('progress', { id: 'redrive-progress', max, value: Math.min(done, max) });
    replace(
      redriveSlot,
      h(
        'div',
        { class: 'progress-line' },
        h('label', { for: 'redrive-progress' }, 'Redrive progress'),
        bar,
        h(
          'span',
          { class: 'figures', 'data-redrive': `${r.moved}/${r.total}` },
          `${r.moved} of ${r.total} moved`,
        ),
        stateBadge(r.status),
      ),
      h(
        'p',
        { class: 'hint' },
        r.status === 'RUNNING'
          ? 'Moving the tasks back to the delivery queue; each is attempted again as it arrives.'
          : r.status === 'COMPLETED'
            ? 'Done: the tasks are back on the delivery queue for a fresh round of attempts.'
            : r.status === 'FAILED'
              ? 'The redrive failed: the tasks not moved are still in the DLQ. Start it again.'
              : 'The redrive was cancelled: the tasks not moved are still in the DLQ.',
      ),
    );
    start.disabled = r.status === 'RUNNING';
  }

  /** Polls the redrive each second until it ends; then reads the count again. */
  function follow() {
    poll?.stop();
    poll = every(1000, async () => {
      try {
        const r = await api.redriveStatus();
        if (disposed) return;
        showRedrive(r);
        if (redriveDone(r.status)) {
          poll?.stop();
          await loadCount();
        }
      } catch (err) {
        poll?.stop();
        start.disabled = false;
        replace(
          redriveError,
          errorNotice(err, 'The progress could not be read', 'Refresh to see where it got to.'),
        );
      }
    });
  }

  start.addEventListener('click', async () => {
    replace(redriveError);
    try {
      const r = await busy(start, 'Starting…', () => api.startRedrive());
      showRedrive(r);
      if (redriveDone(r.status)) await loadCount();
      else follow();
    } catch (err) {
      replace(redriveError, errorNotice(err, 'The redrive did not start', 'Retry in a moment.'));
    }
  });

  async function loadRedrive() {
    try {
      const r = await api.redriveStatus();
      showRedrive(r);
      if (!redriveDone(r.status)) follow();
    } catch (err) {
      if ((err as { status?: number }).status === 404) {
        replace(redriveSlot, notice('empty', 'No redrive has been started yet.'));
      } else {
        replace(redriveSlot, errorNotice(err, "The last redrive's progress could not be read"));
      }
    }
  }

  refresh.addEventListener('click', () =>
    busy(refresh, 'Refreshing…', () => Promise.all([loadCount(), loadRedrive()])),
  );

  replace(countSlot, notice('loading', 'Reading the DLQ…'));
  replace(redriveSlot, notice('loading', 'Reading the last redrive…'));
  void loadCount();
  void loadRedrive();
  // The count moves as deliveries die: read it again now and then while the view is open.
  countTimer = every(10_000, loadCount);

  const el = h(
    'div',
    { class: 'view' },
    h('h2', { tabindex: -1 }, 'Dead letters'),
    h(
      'p',
      { class: 'lead' },
      'Deliveries that ran out of attempts wait in the delivery DLQ. A redrive puts every one back on the delivery queue for a fresh round of attempts.',
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'dlq-h' },
      h('div', { class: 'list-head' }, h('h3', { id: 'dlq-h' }, 'Tasks in the delivery DLQ'), refresh),
      countSlot,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'redrive-h' },
      h('h3', { id: 'redrive-h' }, 'Redrive'),
      h('div', { class: 'actions' }, start),
      redriveError,
      redriveSlot,
    ),
  );
  return {
    el,
    dispose() {
      disposed = true;
      poll?.stop();
      countTimer?.stop();
    },
  };
}
