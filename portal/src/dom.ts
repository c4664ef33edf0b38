/*
 * The only way the portal puts anything on the page: elements made with createElement and text
 * set with textContent (a Text node). No innerHTML anywhere, so a value that holds markup (an
 * event's data, a response body, a description) always shows as the characters it is.
 */

type Child = Node | string | number | false | null | undefined;
type Attrs = Record<string, string | number | boolean | undefined | null | EventListener>;

/**
 * `h('button', { class: 'primary', onclick: save }, 'Save')`. Attributes are set with
 * setAttribute (never `style`: the CSP allows no inline styles); `on*` keys add listeners;
 * `true` sets a boolean attribute, `false`/`undefined`/`null` leaves it out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'style') {
      throw new Error('inline styles are refused by the CSP; use a class');
    } else if (typeof value !== 'function') {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    parent.appendChild(
      typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c,
    );
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

let ids = 0;
/** A fresh id for a `<label for>` / `aria-describedby` pair. */
export const uid = (prefix: string) => `${prefix}-${++ids}`;

/** An ISO instant as a `<time>`, in the reader's locale. */
export function time(iso: string | undefined): HTMLElement | string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h('time', { datetime: iso, title: iso }, d.toLocaleString());
}

/** A labelled text input: `<label for>` and its `<input>`, with an optional hint. */
export function field(
  label: string,
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLElement {
  if (!input.id) input.id = uid('f');
  const hintEl = hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : undefined;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl);
}

/** Adds or removes `id` in the element's aria-describedby list. */
export function describedBy(el: Element, id: string, on: boolean): void {
  const ids = (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter((x) => x && x !== id);
  if (on) ids.push(id);
  if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
  else el.removeAttribute('aria-describedby');
}

export interface ErrorLine {
  el: HTMLElement;
  show(messages: string[]): void;
  clear(): void;
}

/**
 * An error line under a field, tied to its inputs by aria-describedby (after the hint) and
 * aria-invalid while it shows. `group` (a fieldset): described, never marked invalid.
 */
export function errorLine(targets: Element[], group?: Element): ErrorLine {
  const el = h('p', { class: 'field-error', id: uid('err'), hidden: true });
  const all = group ? [...targets, group] : targets;
  return {
    el,
    show(messages) {
      replace(el, ...messages.flatMap((m, i) => (i > 0 ? [h('br'), m] : [m])));
      el.hidden = false;
      for (const t of all) describedBy(t, el.id, true);
      for (const t of targets) t.setAttribute('aria-invalid', 'true');
    },
    clear() {
      replace(el);
      el.hidden = true;
      for (const t of all) describedBy(t, el.id, false);
      for (const t of targets) t.removeAttribute('aria-invalid');
    },
  };
}

/** A checkbox with its label after it. */
export function checkbox(label: Child, input: HTMLInputElement, hint?: string): HTMLElement {
  input.type = 'checkbox';
  if (!input.id) input.id = uid('c');
  const hintEl = hint ? h('span', { class: 'hint', id: `${input.id}-hint` }, hint) : undefined;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'check' }, input, h('label', { for: input.id }, label), hintEl);
}

/** A status line for loading, empty and error states; `role=status` so it is announced. */
export function notice(kind: 'loading' | 'empty' | 'error' | 'ok', ...children: Child[]): HTMLElement {
  return h(
    'div',
    { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    ...children,
  );
}

/**
 * An API error as a notice that says what happened and, where the API names them, which fields;
 * `offline` is what to do when the relay was not reached (status 0), `todo` what to do otherwise.
 */
export function errorNotice(
  err: unknown,
  what?: string,
  opts: { todo?: string | undefined; offline?: string } = {},
): HTMLElement {
  const e = err as { message?: unknown; details?: unknown; status?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const details = Array.isArray(e.details) ? (e.details as Array<{ path: string; message: string }>) : [];
  return notice(
    'error',
    h('p', {}, what ? `${what}: ${message}` : message),
    details.length > 0 &&
      h(
        'ul',
        { class: 'details' },
        ...details.map((d) => h('li', {}, h('code', {}, d.path || '(body)'), ` ${d.message}`)),
      ),
    e.status === 0
      ? h('p', {}, opts.offline ?? 'Check your connection, then reload the page.')
      : opts.todo !== undefined && h('p', {}, opts.todo),
  );
}

/** The top bar of an app: a skip link to `main`, the title linking home, the nav and sign-out. */
export function appHeader(parts: {
  title: string;
  home: string;
  main: HTMLElement;
  nav: HTMLElement;
  signOut: HTMLElement;
}): HTMLElement {
  return h(
    'header',
    { class: 'bar' },
    h(
      'a',
      {
        href: '#main',
        class: 'skip',
        onclick: (e: Event) => {
          e.preventDefault(); // #main is no route: focus the content instead of navigating
          parts.main.focus();
        },
      },
      'Skip to content',
    ),
    h('h1', {}, h('a', { href: parts.home }, parts.title)),
    parts.nav,
    parts.signOut,
  );
}
