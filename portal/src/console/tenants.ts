/*
 * Tenants and their API keys: every key the relay holds, grouped by tenant; create one (shown
 * once), revoke one (after a confirmation), and open the endpoint portal as a tenant.
 */
import { field, h, notice, replace, time, uid } from '../dom.ts';
import type { ApiKey } from './api.ts';
import { busy, type Ctx, copyControl, errorNotice, type View } from './ui.ts';

/** The relay's rule for a tenant name (core/keys.ts TenantSchema). */
const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function tenantsView(ctx: Ctx): View {
  const { api } = ctx;
  const listSlot = h('div', { class: 'tenants' });
  const createdSlot = h('div');
  const formError = h('div');
  const datalist = h('datalist', { id: uid('tenants') });

  const tenant = h('input', {
    type: 'text',
    name: 'tenant',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    maxlength: 63,
    list: datalist.id,
  });
  const description = h('input', { type: 'text', name: 'description', maxlength: 200, autocomplete: 'off' });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create key');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-key-h' },
    h('h3', { id: 'create-key-h' }, 'Create a key'),
    h(
      'div',
      { class: 'row' },
      field(
        'Tenant',
        tenant,
        'A new name makes a new tenant: lower-case letters, digits, - and _ (e.g. acme).',
      ),
      field('Description (optional)', description, 'Who or what uses it, e.g. "acme production".'),
    ),
    datalist,
    h('div', { class: 'actions' }, create),
    formError,
    createdSlot,
  );

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(formError);
    const name = tenant.value.trim();
    if (!TENANT.test(name)) {
      tenant.setAttribute('aria-invalid', 'true');
      replace(
        formError,
        notice(
          'error',
          'The tenant name must start with a lower-case letter or digit and hold only a-z, 0-9, - and _ (63 at most).',
        ),
      );
      tenant.focus();
      return;
    }
    tenant.removeAttribute('aria-invalid');
    try {
      const created = await busy(create, 'Creating…', () => api.createKey(name, description.value.trim()));
      showCreated(created);
      description.value = '';
      await load();
    } catch (err) {
      replace(
        formError,
        errorNotice(err, 'The key was not created', 'Correct the form and press Create key again.'),
      );
    }
  });

  /** The new key, this once, with a copy button; the relay keeps only its hash. */
  function showCreated(created: ApiKey & { key: string }) {
    const key = h('code', { class: 'secret', 'data-new-key': '' }, created.key);
    const copy = copyControl(created.key, 'Copy key', key);
    const done = h('button', { type: 'button' }, 'Done: I have stored it');
    done.addEventListener('click', () => {
      replace(createdSlot);
      tenant.focus();
    });
    replace(
      createdSlot,
      h(
        'section',
        { class: 'once', 'aria-labelledby': 'once-h' },
        h('h4', { id: 'once-h' }, 'New key for ', h('strong', {}, created.tenant), ` (${created.id})`),
        h(
          'p',
          { class: 'warning' },
          'Copy it now: it will not be shown again. The relay keeps only its hash; lost, it can only be revoked and replaced.',
        ),
        h('p', {}, key),
        h('div', { class: 'actions' }, copy, done),
      ),
    );
    copy.querySelector('button')?.focus();
  }

  const refresh = h('button', { type: 'button' }, 'Refresh');
  refresh.addEventListener('click', () => busy(refresh, 'Refreshing…', load));

  async function load() {
    if (!listSlot.firstChild) replace(listSlot, notice('loading', 'Loading the tenants and their keys…'));
    let keys: ApiKey[];
    try {
      keys = await api.listKeys();
    } catch (err) {
      replace(listSlot, errorNotice(err, 'The keys could not be loaded', 'Press Refresh to try again.'));
      return;
    }
    const byTenant = new Map<string, ApiKey[]>();
    for (const k of keys) byTenant.set(k.tenant, [...(byTenant.get(k.tenant) ?? []), k]);
    const tenants = [...byTenant.keys()].sort();
    replace(datalist, ...tenants.map((t) => h('option', { value: t })));
    if (tenants.length === 0) {
      replace(
        listSlot,
        notice(
          'empty',
          h(
            'p',
            {},
            'No tenant keys yet: create the first with the form above (a new tenant name makes the tenant).',
          ),
          h(
            'p',
            { class: 'hint' },
            'Keys set by configuration (RELAY_API_KEY in local mode) are not listed here.',
          ),
        ),
      );
      return;
    }
    replace(listSlot, ...tenants.map((t) => tenantCard(t, byTenant.get(t) ?? [])));
  }

  function tenantCard(name: string, keys: ApiKey[]): HTMLElement {
    const headingId = uid('tenant');
    const portalSlot = h('div');
    const open = h('button', { type: 'button', 'aria-label': `Open portal as ${name}` }, 'Open portal');
    open.addEventListener('click', async () => {
      replace(portalSlot);
      try {
        const session = await busy(open, 'Opening…', () => api.portalSession(name));
        window.open(session.url, '_blank', 'noopener,noreferrer');
        replace(
          portalSlot,
          notice(
            'ok',
            'A portal session for ',
            h('strong', {}, name),
            ' opened in a new tab; it works until ',
            time(session.expiresAt),
            '. No tab? ',
            h(
              'a',
              { href: session.url, target: '_blank', rel: 'noopener noreferrer' },
              'Open the portal link',
            ),
            '.',
          ),
        );
      } catch (err) {
        replace(portalSlot, errorNotice(err, 'The portal session was not created', 'Retry in a moment.'));
      }
    });
    const rows = keys.map((k) => keyRow(name, k));
    return h(
      'section',
      { class: 'card tenant', 'data-tenant': name, 'aria-labelledby': headingId },
      h(
        'div',
        { class: 'tenant-head' },
        h('h3', { id: headingId }, name),
        h('span', { class: 'hint' }, keys.length === 1 ? '1 key' : `${keys.length} keys`),
        h('span', { class: 'spacer' }),
        open,
      ),
      portalSlot,
      h(
        'table',
        { class: 'keys' },
        h('caption', { class: 'visually-hidden' }, `API keys of ${name}`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Key id'),
            h('th', { scope: 'col' }, 'Description'),
            h('th', { scope: 'col' }, 'Created'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    );
  }

  function keyRow(tenantName: string, k: ApiKey): HTMLElement {
    const actions = h('td', { class: 'row-actions' });
    const row = h(
      'tr',
      { 'data-key': k.id },
      h('td', {}, h('code', {}, k.id)),
      h('td', { class: 'description' }, k.description ?? '—'),
      h('td', {}, time(k.createdAt)),
      actions,
    );
    const revoke = h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.id}` }, 'Revoke');
    const idle = () => {
      replace(actions, revoke);
    };
    revoke.addEventListener('click', () => {
      const confirm = h('button', { type: 'button', class: 'danger' }, 'Revoke key');
      const cancel = h('button', { type: 'button' }, 'Cancel');
      const result = h('div');
      const box = h(
        'div',
        { class: 'confirm', role: 'group', 'aria-label': `Revoke ${k.id}` },
        h('p', {}, 'Revoke ', h('code', {}, k.id), ' of ', h('strong', {}, tenantName), '?'),
        h(
          'p',
          { class: 'hint' },
          'Whatever sends with it is refused (401) within 60 s. This cannot be undone.',
        ),
        h('div', { class: 'actions' }, confirm, cancel),
        result,
      );
      cancel.addEventListener('click', () => {
        idle();
        revoke.focus();
      });
      box.addEventListener('keydown', (e) => {
        if (e.key === 'Escape') cancel.click();
      });
      confirm.addEventListener('click', async () => {
        try {
          await busy(confirm, 'Revoking…', () => api.revokeKey(k.id));
          ctx.flash(`Key ${k.id} of ${tenantName} revoked: it is refused within 60 s.`);
          await load();
          el.querySelector<HTMLElement>('#tenants-h')?.focus();
        } catch (err) {
          replace(result, errorNotice(err, 'The key was not revoked', 'Retry, or press Cancel.'));
        }
      });
      replace(actions, box);
      confirm.focus();
    });
    idle();
    return row;
  }

  const el = h(
    'div',
    { class: 'view' },
    h('h2', { tabindex: -1 }, 'Tenants and keys'),
    h(
      'p',
      { class: 'lead' },
      "Each tenant's API keys. A key is shown once, when it is made; revoking one refuses it everywhere within 60 s.",
    ),
    form,
    h(
      'section',
      { 'aria-labelledby': 'tenants-h' },
      h('div', { class: 'list-head' }, h('h3', { id: 'tenants-h', tabindex: -1 }, 'Tenants'), refresh),
      listSlot,
    ),
  );
  void load();
  return { el };
}
