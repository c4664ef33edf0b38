/*
 * The operator console: tenants and their keys, the delivery DLQ and its redrive, replays.
 * Opened at `/console`; the admin key is pasted into the sign-in form, kept in this tab's session
 * storage, and sent only as the Bearer of the admin API's calls (same origin).
 */
import { appHeader, h, notice, replace } from '../dom.ts';
import { type ApiError, ConsoleApi } from './api.ts';
import { dlqView } from './dlq.ts';
import { replaysView } from './replays.ts';
import { tenantsView } from './tenants.ts';
import type { Ctx, View } from './ui.ts';

const STORAGE_KEY = 'relay.console.key';

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
    set(key: string | undefined) {
      memory = key;
      try {
        if (key) sessionStorage.setItem(STORAGE_KEY, key);
        else sessionStorage.removeItem(STORAGE_KEY);
      } catch {
        // memory only
      }
    },
  };
})();

const VIEWS = {
  tenants: { title: 'Tenants and keys', make: tenantsView },
  dlq: { title: 'Dead letters', make: dlqView },
  replays: { title: 'Replays', make: replaysView },
} as const;
type ViewName = keyof typeof VIEWS;

const WHERE_THE_KEY_IS =
  'Locally, npm start prints it (set it with RELAY_ADMIN_KEY); on AWS it is the secret the stack output AdminKeySecretArn names.';

const root = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
const flashRegion = h('div', { class: 'flash', role: 'status', 'aria-live': 'polite' });
const main = h('main', { id: 'main', tabindex: -1 });
const links = Object.fromEntries(
  Object.entries(VIEWS).map(([name, v]) => [name, h('a', { href: `#/${name}` }, v.title)]),
) as Record<ViewName, HTMLAnchorElement>;
const nav = h(
  'nav',
  { class: 'tabs', 'aria-label': 'Console', hidden: true },
  h('ul', {}, ...Object.values(links).map((a) => h('li', {}, a))),
);
const signOut = h('button', { type: 'button', class: 'link', hidden: true }, 'Sign out');
const header = appHeader({ title: 'Relay console', home: '#/tenants', main, nav, signOut });
replace(root, header, flashRegion, main);

let api: ConsoleApi | undefined;
let current: View | undefined;

const ctx = (): Ctx => ({
  api: api as ConsoleApi,
  flash: (text, kind = 'ok') => replace(flashRegion, notice(kind, text)),
});

function signIn(key: string) {
  store.set(key);
  api = new ConsoleApi(key);
  api.onUnauthorized = (err) => refused(err);
  signOut.hidden = false;
  nav.hidden = false;
}

function signedOut(message?: HTMLElement) {
  api = undefined;
  store.set(undefined);
  signOut.hidden = true;
  nav.hidden = true;
  current?.dispose?.();
  current = undefined;
  showSignIn(message);
}

/** The key was refused mid-session (rotated?): forget it and say what to do. */
function refused(err: ApiError) {
  if (!api) return;
  signedOut(
    notice(
      'error',
      h('p', {}, 'The relay refused the admin key (it may have been rotated): paste the current one.'),
      h('p', { class: 'hint' }, err.message),
    ),
  );
}

function showSignIn(message?: HTMLElement) {
  const input = h('input', {
    id: 'admin-key',
    type: 'password',
    name: 'admin-key',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'admin-key-hint',
  });
  const error = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card sign-in' },
    h('div', { class: 'field' }, h('label', { for: 'admin-key' }, 'Admin key'), input),
    h(
      'p',
      { class: 'hint', id: 'admin-key-hint' },
      `The console needs the relay's admin key. ${WHERE_THE_KEY_IS}`,
    ),
    h('div', { class: 'actions' }, submit),
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(error);
    const key = input.value.trim();
    if (!key || /\s/.test(key)) {
      input.setAttribute('aria-invalid', 'true');
      replace(error, notice('error', 'Paste the admin key: one word, no spaces.'));
      input.focus();
      return;
    }
    submit.disabled = true;
    try {
      // Try the key on an admin route before keeping it: a tenant key is told so, not stored.
      await new ConsoleApi(key).listKeys();
    } catch (err) {
      submit.disabled = false;
      input.setAttribute('aria-invalid', 'true');
      const e = err as ApiError;
      replace(
        error,
        e.status === 403
          ? notice(
              'error',
              h('p', {}, "That is a tenant's API key or a portal token: the console needs the admin key."),
              h('p', {}, WHERE_THE_KEY_IS),
            )
          : e.status === 401
            ? notice(
                'error',
                h('p', {}, 'The relay refused that key: check it and paste it again.'),
                h('p', {}, WHERE_THE_KEY_IS),
              )
            : notice(
                'error',
                h('p', {}, `Signing in failed: ${e.message}`),
                h('p', {}, 'Retry in a moment.'),
              ),
      );
      input.focus();
      return;
    }
    signIn(key);
    if (location.hash === '#/tenants') render();
    else location.hash = '#/tenants';
  });
  replace(
    main,
    h('div', { class: 'view' }, h('h2', { tabindex: -1 }, 'Sign in to the relay console'), message, form),
  );
  replace(flashRegion);
  input.focus();
}

function render() {
  if (!api) {
    current?.dispose?.();
    current = undefined;
    showSignIn();
    return;
  }
  const path = location.hash.replace(/^#\/?/, '') || 'tenants';
  current?.dispose?.();
  replace(flashRegion);
  for (const [name, a] of Object.entries(links)) {
    if (name === path) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (path in VIEWS) {
    const v = VIEWS[path as ViewName];
    current = v.make(ctx());
    document.title = `${v.title} · Relay console`;
  } else {
    current = {
      el: h(
        'div',
        { class: 'view' },
        h('h2', { tabindex: -1 }, 'Page not found'),
        notice(
          'error',
          'There is nothing at this address. ',
          h('a', { href: '#/tenants' }, 'Go to the tenants'),
          '.',
        ),
      ),
    };
  }
  replace(main, current.el);
  current.el.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

signOut.addEventListener('click', () =>
  signedOut(notice('ok', 'Signed out: the admin key is no longer kept in this tab.')),
);

const saved = store.get();
if (saved) signIn(saved);
window.addEventListener('hashchange', render);
render();
