/*
 * What every console view shares: its context, the error notice, badges, a copy button and a
 * timer that stops with its view. Values reach the page only through ../dom.ts (textContent).
 */
import { h, errorNotice as sharedErrorNotice } from '../dom.ts';
import type { ConsoleApi } from './api.ts';

export interface Ctx {
  api: ConsoleApi;
  /** A message in the page's live region, until the next navigation. */
  flash(text: string, kind?: 'ok' | 'error'): void;
}

/** A view: its element, and what to do when it is left (stop polling). */
export interface View {
  el: HTMLElement;
  dispose?(): void;
}

/** The shared error notice (../dom.ts), with the console's word for a relay it cannot reach. */
export const errorNotice = (err: unknown, what?: string, todo?: string): HTMLElement =>
  sharedErrorNotice(err, what, {
    todo,
    offline: 'Check that the relay is running and reachable, then retry.',
  });

export type BadgeKind = 'ok' | 'warn' | 'bad' | 'off';

export const badge = (text: string, kind: BadgeKind) =>
  h('span', { class: `badge badge-${kind}`, 'data-status': text }, text);

/** A status of a redrive or a replay as a badge. */
export function stateBadge(state: string): HTMLElement {
  const kind: BadgeKind =
    state === 'COMPLETED' ? 'ok' : state === 'FAILED' ? 'bad' : state === 'CANCELLED' ? 'off' : 'warn';
  return badge(state, kind);
}

/** A Copy button for `text` (shown in `shown`), and a live line that says it copied. */
export function copyControl(text: string, label: string, shown: HTMLElement): HTMLElement {
  const said = h('span', { class: 'hint', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'button' }, label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      said.textContent = 'Copied to the clipboard.';
    } catch {
      // No clipboard here (a plain-http origin, a refused permission): select it for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(shown);
      const sel = window.getSelection();
      sel?.removeAllRanges();
      sel?.addRange(range);
      said.textContent = 'Selected: press Ctrl+C (⌘C) to copy it.';
    }
  });
  return h('span', { class: 'copy' }, button, said);
}

/** `setInterval` that skips a tick while the last one still runs, and stops when told. */
export function every(ms: number, tick: () => Promise<void>): { stop(): void } {
  let busy = false;
  let stopped = false;
  const timer = setInterval(async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      await tick();
    } finally {
      busy = false;
    }
  }, ms);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** A button that is disabled and says so while `work` runs. */
export async function busy<T>(button: HTMLButtonElement, doing: string, work: () => Promise<T>): Promise<T> {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = doing;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = label;
  }
}
