import type { Api, EventType } from './api.ts';

/** What every view gets: the API client, the catalog (fetched once), navigation, messages. */
export interface Ctx {
  api: Api;
  /** `fresh`: fetched again (the catalog view), not the copy of the sign-in. */
  catalog(fresh?: boolean): Promise<EventType[]>;
  /** Goes to `hash`; `message` shows above the next view. */
  navigate(hash: string, message?: string): void;
  /** A message in the page's live region, until the next navigation. */
  flash(text: string, kind?: 'ok' | 'error'): void;
}

/** A view: its element, and what to do when it is left (stop polling). */
export interface View {
  el: HTMLElement;
  dispose?(): void;
}

export type Route =
  | { name: 'endpoints' }
  | { name: 'event-types' }
  | { name: 'endpoint'; id: string; delivery?: string }
  | { name: 'not-found'; hash: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  if (path === '' || path === 'endpoints') return { name: 'endpoints' };
  if (path === 'event-types') return { name: 'event-types' };
  const m = /^endpoints\/([^/]+)(?:\/deliveries\/([^/]+))?$/.exec(path);
  if (m?.[1]) {
    const id = safeDecode(m[1]);
    const delivery = m[2] ? safeDecode(m[2]) : undefined;
    if (id !== undefined) return delivery ? { name: 'endpoint', id, delivery } : { name: 'endpoint', id };
  }
  return { name: 'not-found', hash };
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

export const endpointHash = (id: string, delivery?: string) =>
  `#/endpoints/${encodeURIComponent(id)}${delivery ? `/deliveries/${encodeURIComponent(delivery)}` : ''}`;

export { errorNotice } from './dom.ts';
