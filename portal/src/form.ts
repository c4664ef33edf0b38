import type { ApiError, AuthInput, AuthType, Endpoint, EndpointInput, EventType, PublicAuth } from './api.ts';
import { errorNotice } from './context.ts';
import { checkbox, type ErrorLine, errorLine, field, h, replace, uid } from './dom.ts';

/** The relay's rule for an event-type filter: `order.created`, `order.*` or `*`. */
const TYPE_PATTERN = /^(\*|[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(\.\*)?)$/;
/** An HTTP field name (RFC 9110 token), as the relay checks it. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Custom headers of one endpoint, at most (the relay's limit). */
export const MAX_HEADERS = 20;

type Problem = { path: string; message: string };

export interface EndpointFormOptions {
  catalog: EventType[];
  initial?: Endpoint;
  submitLabel: string;
  /** Resolves on success; a rejection with an ApiError is shown on the form. */
  onSubmit(input: EndpointInput): Promise<void>;
}

/** `filter.data.total` → `['filter', 'data.total']`. */
function splitPath(path: string): [string, string] {
  const m = /^([^.[]*)[.[]?(.*)$/.exec(path);
  return [m?.[1] ?? '', (m?.[2] ?? '').replace(/\]/g, '')];
}

/** A labelled field with an error line under it. */
function errField(
  label: string,
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
) {
  const el = field(label, input, hint);
  const err = errorLine([input]);
  el.append(err.el);
  return { el, input, err };
}

// --- headers -----------------------------------------------------------------------------------

interface HeaderRow {
  el: HTMLElement;
  name: HTMLInputElement;
  value: HTMLInputElement;
  err: ErrorLine;
}

/** A small repeatable name/value editor (at most {@link MAX_HEADERS} rows). */
function headersEditor(initial: Record<string, string> | undefined) {
  const rows: HeaderRow[] = [];
  const list = h('div', { class: 'header-rows' });
  const add = h('button', { type: 'button', class: 'add-header' }, 'Add a header');
  const count = h('p', { class: 'hint', 'aria-live': 'polite' });
  const legendId = uid('headers');
  const fs = h(
    'fieldset',
    { class: 'headers', 'aria-labelledby': legendId },
    h('legend', { id: legendId }, 'Custom headers (optional)'),
    h(
      'p',
      { class: 'hint' },
      'Sent with every webhook, e.g. a routing key your gateway checks. Names are stored in lower case. ' +
        'They are shown to everyone who opens this portal: put credentials in Authentication below.',
    ),
    list,
  );
  const group = errorLine([], fs);
  fs.append(group.el, h('div', { class: 'actions' }, add), count);

  const update = () => {
    add.disabled = rows.length >= MAX_HEADERS;
    count.textContent = rows.length >= MAX_HEADERS ? `At most ${MAX_HEADERS} headers.` : '';
    add.textContent = rows.length ? 'Add another header' : 'Add a header';
  };
  const addRow = (n = '', v = '') => {
    if (rows.length >= MAX_HEADERS) return undefined;
    const name = h('input', {
      type: 'text',
      name: 'headerName',
      maxlength: 256,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'x-route',
      value: n,
    });
    const value = h('input', {
      type: 'text',
      name: 'headerValue',
      maxlength: 4096,
      autocomplete: 'off',
      spellcheck: 'false',
      value: v,
    });
    const err = errorLine([name, value]);
    const remove = h('button', { type: 'button', class: 'link remove-header' }, 'Remove');
    const row: HeaderRow = {
      el: h(
        'div',
        { class: 'header-row' },
        field('Header name', name),
        field('Header value', value),
        remove,
        err.el,
      ),
      name,
      value,
      err,
    };
    remove.addEventListener('click', () => {
      const i = rows.indexOf(row);
      rows.splice(i, 1);
      row.el.remove();
      update();
      (rows[i]?.name ?? rows[i - 1]?.name ?? add).focus();
    });
    rows.push(row);
    list.append(row.el);
    update();
    return row;
  };
  add.addEventListener('click', () => addRow()?.name.focus());
  for (const [n, v] of Object.entries(initial ?? {})) addRow(n, v);
  update();

  const normal = (headers: Record<string, string> | undefined) =>
    JSON.stringify(
      Object.entries(headers ?? {})
        .map(([k, v]) => [k.toLowerCase(), v])
        .sort(),
    );

  return {
    el: fs,
    /** The headers, and what is wrong with them (in the API's paths: `headers.X-Name`). */
    read(): { headers: Record<string, string>; problems: Problem[] } {
      const headers: Record<string, string> = {};
      const problems: Problem[] = [];
      const seen = new Set<string>();
      rows.forEach((r, i) => {
        const n = r.name.value.trim();
        const v = r.value.value.trim();
        if (!n && !v) return;
        if (!n) {
          problems.push({ path: 'headers', message: `header ${i + 1}: enter its name` });
          return;
        }
        const at = `headers.${n}`;
        if (!HEADER_NAME.test(n))
          problems.push({ path: at, message: 'letters, digits and - only (an HTTP header name)' });
        else if (seen.has(n.toLowerCase()))
          problems.push({ path: at, message: 'is given twice (names are case-insensitive)' });
        else if (!v) problems.push({ path: at, message: 'enter a value' });
        seen.add(n.toLowerCase());
        headers[n] = v;
      });
      return { headers, problems };
    },
    changed: (headers: Record<string, string>) => normal(headers) !== normal(initial),
    /** An error at `headers.<name>` (that row) or at `headers` (the group). */
    show(sub: string, messages: string[]): HTMLElement {
      const row = sub ? rows.find((r) => r.name.value.trim().toLowerCase() === sub.toLowerCase()) : undefined;
      if (row) {
        row.err.show(messages);
        return row.name;
      }
      group.show(sub ? messages.map((m) => `${sub}: ${m}`) : messages);
      return rows[0]?.name ?? add;
    },
    clear() {
      group.clear();
      for (const r of rows) r.err.clear();
    },
  };
}

// --- auth --------------------------------------------------------------------------------------

const AUTH_LABELS: Record<'none' | AuthType, string> = {
  none: 'None',
  basic: 'HTTP Basic (username and password)',
  bearer: 'Bearer token',
  oauth2: 'OAuth 2.0 client credentials',
};

/** What the API shows of an auth, in words (no secret is ever returned). */
export function authSummary(auth: PublicAuth | undefined): string {
  if (!auth) return 'none (requests carry only the signature headers).';
  switch (auth.type) {
    case 'basic':
      return `HTTP Basic, username ${auth.username} (the password is stored, never shown).`;
    case 'bearer':
      return 'a bearer token (stored, never shown).';
    case 'oauth2':
      return `OAuth 2.0 client credentials from ${auth.tokenUrl}, client ${auth.clientId}${
        auth.scope ? `, scope ${auth.scope}` : ''
      }${auth.audience ? `, audience ${auth.audience}` : ''} (the client secret is stored, never shown).`;
  }
}

type AuthKey =
  | 'username'
  | 'password'
  | 'token'
  | 'tokenUrl'
  | 'clientId'
  | 'clientSecret'
  | 'scope'
  | 'audience';
const SECRETS: readonly AuthKey[] = ['password', 'token', 'clientSecret'];
const KEYS_OF: Record<AuthType, readonly AuthKey[]> = {
  basic: ['username', 'password'],
  bearer: ['token'],
  oauth2: ['tokenUrl', 'clientId', 'clientSecret', 'scope', 'audience'],
};
const OPTIONAL: readonly AuthKey[] = ['scope', 'audience'];

/**
 * The auth select and the fields of the chosen type. Secrets are write-only: an edit shows the
 * stored type and non-secret fields, and sends `auth` only when the user changed something.
 */
function authEditor(initial: PublicAuth | undefined, editing: boolean) {
  const stored = initial?.type ?? 'none';
  const type = h(
    'select',
    { name: 'authType' },
    ...(['none', 'basic', 'bearer', 'oauth2'] as const).map((t) =>
      h('option', { value: t, selected: t === stored }, AUTH_LABELS[t]),
    ),
  );
  const text = (name: AuthKey, attrs: Record<string, string | number> = {}) =>
    h('input', { type: 'text', name, autocomplete: 'off', spellcheck: 'false', ...attrs });
  const secret = (name: AuthKey) => h('input', { type: 'password', name, autocomplete: 'new-password' });
  const init = (initial ?? {}) as Partial<Record<AuthKey, string>>;
  const secretHint = (t: AuthType) =>
    editing && stored === t
      ? 'Stored and never shown: leave it empty to keep it.'
      : 'Write-only: never shown again once saved.';
  const fields: Record<AuthKey, ReturnType<typeof errField>> = {
    username: errField('Username', text('username', { maxlength: 256, value: init.username ?? '' })),
    password: errField('Password', secret('password'), secretHint('basic')),
    token: errField('Token', secret('token'), `${secretHint('bearer')} Sent as Authorization: Bearer.`),
    tokenUrl: errField(
      'Token URL',
      text('tokenUrl', {
        type: 'url',
        maxlength: 2048,
        placeholder: 'https://auth.example.com/oauth/token',
        value: init.tokenUrl ?? '',
      }),
    ),
    clientId: errField('Client id', text('clientId', { maxlength: 1024, value: init.clientId ?? '' })),
    clientSecret: errField('Client secret', secret('clientSecret'), secretHint('oauth2')),
    scope: errField('Scope (optional)', text('scope', { maxlength: 1024, value: init.scope ?? '' })),
    audience: errField(
      'Audience (optional)',
      text('audience', { maxlength: 2048, value: init.audience ?? '' }),
    ),
  };
  const typeField = errField(
    'Authentication',
    type,
    'How the relay signs in to your endpoint, besides signing each webhook.',
  );
  const legendId = uid('auth');
  const fs = h(
    'fieldset',
    { class: 'auth', 'aria-labelledby': legendId },
    h('legend', { id: legendId }, 'Authentication (optional)'),
    editing && h('p', { class: 'auth-current' }, 'Now: ', authSummary(initial)),
    typeField.el,
    ...Object.values(fields).map((f) => f.el),
  );
  const showType = () => {
    const t = type.value as 'none' | AuthType;
    for (const [k, f] of Object.entries(fields) as Array<[AuthKey, (typeof fields)[AuthKey]]>) {
      f.el.hidden = t === 'none' || !KEYS_OF[t].includes(k);
    }
  };
  type.addEventListener('change', showType);
  showType();

  return {
    el: fs,
    /** `auth` to send (undefined: leave it as stored), and what is wrong with it. */
    read(): { auth: AuthInput | null | undefined; problems: Problem[] } {
      const t = type.value as 'none' | AuthType;
      if (t === 'none') return { auth: stored === 'none' ? undefined : null, problems: [] };
      const keys = KEYS_OF[t];
      const val = (k: AuthKey) =>
        SECRETS.includes(k) ? fields[k].input.value : fields[k].input.value.trim();
      const touched =
        t !== stored || keys.some((k) => (SECRETS.includes(k) ? val(k) !== '' : val(k) !== (init[k] ?? '')));
      if (editing && !touched) return { auth: undefined, problems: [] };
      const problems: Problem[] = [];
      const out: Record<string, string> = { type: t };
      for (const k of keys) {
        const v = val(k);
        if (v) out[k] = v;
        else if (!OPTIONAL.includes(k)) {
          problems.push({
            path: `auth.${k}`,
            message:
              SECRETS.includes(k) && editing && t === stored
                ? 'enter it again to change the authentication (the stored one is never shown)'
                : 'is required',
          });
        }
      }
      return { auth: out as unknown as AuthInput, problems };
    },
    /** An error at `auth.<field>` (that field) or `auth` / `auth.type` (the select). */
    show(sub: string, messages: string[]): HTMLElement {
      const f = (fields as Record<string, (typeof fields)[AuthKey]>)[sub];
      if (f && !f.el.hidden) {
        f.err.show(messages);
        return f.input;
      }
      typeField.err.show(sub && sub !== 'type' ? messages.map((m) => `${sub}: ${m}`) : messages);
      return type;
    },
    clear() {
      typeField.err.clear();
      for (const f of Object.values(fields)) f.err.clear();
    },
  };
}

// --- the form ----------------------------------------------------------------------------------

/**
 * Create and edit: URL, description, event types (the catalog's as checkboxes, plus free text
 * with wildcards), a content filter, custom headers, authentication, format and enabled. Errors
 * (the browser's checks and the API's `details[].path`) show next to their field.
 */
export function endpointForm(opts: EndpointFormOptions): HTMLFormElement {
  const { catalog, initial } = opts;
  const editing = initial !== undefined;
  const url = errField(
    'Endpoint URL',
    h('input', {
      type: 'url',
      name: 'url',
      required: true,
      maxlength: 2048,
      placeholder: 'https://example.com/webhooks',
      autocomplete: 'url',
      value: initial?.url ?? '',
    }),
    'Where the relay POSTs the webhooks: an https:// URL of your server.',
  );
  const description = errField(
    'Description (optional)',
    h('input', { type: 'text', name: 'description', maxlength: 1000, value: initial?.description ?? '' }),
  );
  const chosen = new Set(initial?.eventTypes ?? []);
  const catalogNames = new Set(catalog.map((t) => t.name));
  const boxes = catalog.map((t) => {
    const box = h('input', { name: 'eventType', value: t.name, checked: chosen.has(t.name) });
    return {
      name: t.name,
      box,
      el: checkbox(
        h('span', {}, h('code', {}, t.name), t.deprecated ? ' (deprecated)' : ''),
        box,
        t.description,
      ),
    };
  });
  const more = errField(
    boxes.length > 0 ? 'More event types' : 'Event types',
    h('input', {
      type: 'text',
      name: 'moreEventTypes',
      autocomplete: 'off',
      placeholder: 'order.*, invoice.paid',
      value: (initial?.eventTypes ?? []).filter((t) => !catalogNames.has(t)).join(', '),
    }),
    'Comma-separated. Wildcards: order.* (every order event) or * (everything).',
  );
  const filterArea = h('textarea', {
    name: 'filter',
    rows: 5,
    spellcheck: 'false',
    autocomplete: 'off',
    class: 'code',
    placeholder: '{"data": {"total": [{"numeric": [">", 100]}]}}',
  });
  filterArea.value = initial?.filter ? JSON.stringify(initial.filter, null, 2) : '';
  const filter = errField(
    'Filter (optional)',
    filterArea,
    'JSON, in EventBridge event-pattern syntax on {type, data}: only matching events are sent. Empty: every event of the types above.',
  );
  filterArea.addEventListener('input', () => filter.err.clear());
  const headers = headersEditor(initial?.headers);
  const auth = authEditor(initial?.auth, editing);
  const format = errField(
    'Payload format',
    h(
      'select',
      { name: 'format' },
      h('option', { value: 'json', selected: (initial?.format ?? 'json') === 'json' }, 'JSON'),
      h('option', { value: 'xml', selected: initial?.format === 'xml' }, 'XML'),
    ),
  );
  const enabled = h('input', { name: 'enabled', checked: initial ? initial.enabled : true });
  const enabledErr = errorLine([enabled]);
  const errors = h('div', { class: 'form-errors' });
  const submit = h('button', { type: 'submit', class: 'primary' }, opts.submitLabel);
  const legendId = uid('types');
  const typesSet = h(
    'fieldset',
    { class: 'types', 'aria-labelledby': legendId },
    h('legend', { id: legendId }, 'Event types'),
    h('p', { class: 'hint' }, 'The endpoint receives events of these types only.'),
    boxes.length > 0
      ? h('div', { class: 'type-list' }, ...boxes.map((b) => b.el))
      : h('p', { class: 'hint' }, 'The catalog lists no event types yet: type the ones you want below.'),
    more.el,
  );

  const form = h(
    'form',
    { class: 'endpoint-form', novalidate: true },
    url.el,
    description.el,
    typesSet,
    filter.el,
    headers.el,
    auth.el,
    format.el,
    checkbox('Enabled', enabled, 'A disabled endpoint receives nothing until it is enabled again.'),
    enabledErr.el,
    errors,
    h('div', { class: 'actions' }, submit),
  );

  const simple: Record<string, ReturnType<typeof errField> | undefined> = {
    url,
    description,
    eventTypes: more,
    format,
    filter,
  };
  const clearAll = () => {
    for (const f of Object.values(simple)) f?.err.clear();
    enabledErr.clear();
    headers.clear();
    auth.clear();
  };
  /** Shows each problem at its field; returns the first field to focus. */
  const showProblems = (problems: Problem[]): HTMLElement | undefined => {
    clearAll();
    const byPath = new Map<string, string[]>();
    for (const p of problems) byPath.set(p.path, [...(byPath.get(p.path) ?? []), p.message]);
    let first: HTMLElement | undefined;
    for (const [path, messages] of byPath) {
      const [head, sub] = splitPath(path);
      let at: HTMLElement | undefined;
      if (head === 'headers') at = headers.show(sub, messages);
      else if (head === 'auth') at = auth.show(sub, messages);
      else if (head === 'enabled') {
        enabledErr.show(messages);
        at = enabled;
      } else {
        const f = simple[head];
        if (f) {
          f.err.show(head === 'filter' && sub ? messages.map((m) => `at ${sub}: ${m}`) : messages);
          at = f.input;
        }
      }
      first ??= at;
    }
    return first;
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(errors);
    const types = [
      ...boxes.filter((b) => b.box.checked).map((b) => b.name),
      ...more.input.value
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ];
    const unique = [...new Set(types)];
    const problems: Problem[] = [];
    if (!url.input.value.trim()) problems.push({ path: 'url', message: 'enter the URL webhooks go to' });
    if (unique.length === 0)
      problems.push({ path: 'eventTypes', message: 'pick or type at least one event type' });
    const bad = unique.filter((t) => !TYPE_PATTERN.test(t));
    if (bad.length > 0) {
      problems.push({
        path: 'eventTypes',
        message: `${bad.join(', ')}: not an event type (order.created), a wildcard (order.*) or *`,
      });
    }
    let parsedFilter: Record<string, unknown> | undefined;
    const filterText = filterArea.value.trim();
    if (filterText) {
      try {
        const v: unknown = JSON.parse(filterText);
        if (typeof v === 'object' && v !== null && !Array.isArray(v))
          parsedFilter = v as Record<string, unknown>;
        else
          problems.push({ path: 'filter', message: 'must be a JSON object, e.g. {"type": ["order.paid"]}' });
      } catch (err) {
        problems.push({ path: 'filter', message: `is not valid JSON: ${(err as Error).message}` });
      }
    }
    const hdrs = headers.read();
    const a = auth.read();
    problems.push(...hdrs.problems, ...a.problems);
    if (problems.length > 0) {
      const first = showProblems(problems);
      replace(errors, errorNotice({ message: 'Check the form', details: problems, status: 400 }));
      (first ?? url.input).focus();
      return;
    }
    const input: EndpointInput = {
      url: url.input.value.trim(),
      eventTypes: unique,
      description: description.input.value,
      enabled: enabled.checked,
      format: format.input.value === 'xml' ? 'xml' : 'json',
    };
    if (!editing) {
      if (parsedFilter) input.filter = parsedFilter;
      if (Object.keys(hdrs.headers).length) input.headers = hdrs.headers;
      if (a.auth) input.auth = a.auth;
    } else {
      if (JSON.stringify(parsedFilter ?? null) !== JSON.stringify(initial.filter ?? null)) {
        input.filter = parsedFilter ?? null;
      }
      if (headers.changed(hdrs.headers))
        input.headers = Object.keys(hdrs.headers).length ? hdrs.headers : null;
      if (a.auth !== undefined) input.auth = a.auth;
    }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      await opts.onSubmit(input);
      clearAll();
    } catch (err) {
      const first = showProblems((err as ApiError).details ?? []);
      replace(errors, errorNotice(err, 'Not saved'));
      first?.focus();
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  });
  return form;
}
