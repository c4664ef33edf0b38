/*
 * The endpoint portal: one tenant's webhook endpoints, their delivery log, tests and secrets.
 * Opened at `/portal#token=ps_...` (a portal session link: the token is in the fragment, so it
 * never reaches a server log or a Referer); a tenant API key pasted in the sign-in form works too.
 */
import { Api, type ApiError, type EventType } from './api.ts';
import { type Ctx, parseRoute, type View } from './context.ts';
import { appHeader, h, notice, replace } from './dom.ts';
import { type EndpointView, endpointView } from './endpoint.ts';
import { endpointsView } from './endpoints.ts';
import { eventTypesView } from './event-types.ts';

const STORAGE_KEY = 'relay.portal.token';

/** sessionStorage when the browser allows it (a third-party iframe may not), memory otherwise. */
const store = (() => {
  let memory: string | undefined;
  return {
    get(): string | undefined {
      try {
        return sessionStorage.getItem(STORAGE_KEY) ?? memory;
      } catch {
        return memory;
      }
    },
    set(token: string | undefined) {
      memory = token;
      try {
        if (token) sessionStorage.setItem(STORAGE_KEY, token);
        else sessionStorage.removeItem(STORAGE_KEY);
      } catch {
        // memory only
      }
    },
  };
})();

/** Takes `#token=...` out of the address (replaceState: no history entry keeps it). */
function takeTokenFromHash(): string | undefined {
  const m = /^#(?:.*&)?token=([^&]*)/.exec(location.hash);
  if (!m) return undefined;
  history.replaceState(null, '', `${location.pathname}${location.search}#/endpoints`);
  try {
    return decodeURIComponent(m[1] ?? '').trim() || undefined;
  } catch {
    return undefined;
  }
}

const root = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
const flashRegion = h('div', { class: 'flash', role: 'status', 'aria-live': 'polite' });
const main = h('main', { id: 'main', tabindex: -1 });
const signOut = h('button', { type: 'button', class: 'link', hidden: true }, 'Sign out');
const navLinks = {
  endpoints: h('a', { href: '#/endpoints' }, 'Endpoints'),
  'event-types': h('a', { href: '#/event-types' }, 'Event types'),
};
const nav = h(
  'nav',
  { 'aria-label': 'Portal', class: 'nav', hidden: true },
  h('ul', {}, h('li', {}, navLinks.endpoints), h('li', {}, navLinks['event-types'])),
);
/** Marks the section the view belongs to (or none) as the current page of the nav. */
function markNav(section: keyof typeof navLinks | undefined) {
  for (const [name, a] of Object.entries(navLinks)) {
    if (name === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}
const header = appHeader({ title: 'Webhooks', home: '#/endpoints', main, nav, signOut });
replace(root, header, flashRegion, main);

let api: Api | undefined;
let catalog: Promise<EventType[]> | undefined;
let current: View | undefined;
/** A message shown above the next view (and cleared by the one after). */
let pendingFlash: { text: string; kind: 'ok' | 'error' } | undefined;

const ctx = (): Ctx => ({
  api: api as Api,
  catalog: (fresh) => {
    if (fresh) catalog = undefined;
    catalog ??= (api as Api).listEventTypes().catch((err) => {
      catalog = undefined; // try again on the next view
      throw err;
    });
    return catalog;
  },
  navigate: (hash, message) => {
    pendingFlash = message ? { text: message, kind: 'ok' } : undefined;
    if (location.hash === hash) render();
    else location.hash = hash;
  },
  flash: (text, kind = 'ok') => replace(flashRegion, notice(kind, text)),
});

function showFlash() {
  replace(flashRegion, pendingFlash && notice(pendingFlash.kind, pendingFlash.text));
  pendingFlash = undefined;
}

function signIn(token: string) {
  store.set(token);
  api = new Api(token);
  catalog = undefined;
  api.onUnauthorized = (err) => expired(err);
  signOut.hidden = false;
  nav.hidden = false;
}

function signedOut() {
  api = undefined;
  store.set(undefined);
  signOut.hidden = true;
  nav.hidden = true;
  current?.dispose?.();
  current = undefined;
}

/** The token was refused: forget it and say what to do. */
function expired(err?: ApiError) {
  if (!api) return;
  signedOut();
  showSignIn(
    notice(
      'error',
      h('p', {}, 'The session expired or was revoked: ask for a new portal link.'),
      h('p', { class: 'hint' }, err?.message ?? ''),
    ),
  );
}

function showSignIn(message?: HTMLElement) {
  const input = h('input', {
    id: 'token',
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const form = h(
    'form',
    { class: 'card sign-in' },
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Portal token or API key'), input),
    h(
      'p',
      { class: 'hint', id: 'token-hint' },
      'Open the portal link you were given (it signs you in by itself), or paste an API key (rk_…).',
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
  );
  input.setAttribute('aria-describedby', 'token-hint');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token || /\s/.test(token)) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    signIn(token);
    if (location.hash === '#/endpoints') render();
    else location.hash = '#/endpoints';
  });
  replace(main, h('div', { class: 'view' }, h('h2', { tabindex: -1 }, 'Sign in'), message, form));
  replace(flashRegion);
  input.focus();
}

function render() {
  const token = takeTokenFromHash();
  if (token) signIn(token);
  if (!api) {
    signedOut();
    showSignIn();
    return;
  }
  const route = parseRoute(location.hash);
  // Same endpoint, another delivery: update the panel in place (keeps unsaved edits).
  if (route.name === 'endpoint' && (current as EndpointView | undefined)?.id === route.id) {
    (current as EndpointView).show(route.delivery);
    return;
  }
  current?.dispose?.();
  const c = ctx();
  markNav(route.name === 'endpoint' ? 'endpoints' : route.name === 'not-found' ? undefined : route.name);
  if (route.name === 'endpoints') current = endpointsView(c);
  else if (route.name === 'endpoint') current = endpointView(c, route.id, route.delivery);
  else if (route.name === 'event-types') current = eventTypesView(c);
  else {
    current = {
      el: h(
        'div',
        { class: 'view' },
        h('h2', { tabindex: -1 }, 'Page not found'),
        notice(
          'error',
          'There is nothing at this address. ',
          h('a', { href: '#/endpoints' }, 'Go to the endpoints'),
          '.',
        ),
      ),
    };
  }
  replace(main, current.el);
  showFlash();
  // Move the focus to the new view's heading, as a page load would, for keyboard and screen readers.
  current.el.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

signOut.addEventListener('click', () => {
  signedOut();
  showSignIn(notice('ok', 'Signed out.'));
});

const saved = store.get();
if (saved && !/token=/.test(location.hash)) signIn(saved);
window.addEventListener('hashchange', render);
render();
