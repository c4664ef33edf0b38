import type { ApiError, Endpoint, EndpointInput, EventType } from './api.ts';
import { errorNotice } from './context.ts';
import { checkbox, field, h, replace, uid } from './dom.ts';

/** The relay's rule for an event-type filter: `order.created`, `order.*` or `*`. */
const TYPE_PATTERN = /^(\*|[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(\.\*)?)$/;

export interface EndpointFormOptions {
  catalog: EventType[];
  initial?: Endpoint;
  submitLabel: string;
  /** Resolves on success; a rejection with an ApiError is shown on the form. */
  onSubmit(input: EndpointInput): Promise<void>;
}

/**
 * Create and edit: URL, description, event types (the catalog's as checkboxes, plus free text
 * with wildcards), format and enabled. Errors of the API show next to the form, naming fields.
 */
export function endpointForm(opts: EndpointFormOptions): HTMLFormElement {
  const { catalog, initial } = opts;
  const url = h('input', {
    type: 'url',
    name: 'url',
    required: true,
    maxlength: 2048,
    placeholder: 'https://example.com/webhooks',
    autocomplete: 'url',
    value: initial?.url ?? '',
  });
  const description = h('input', {
    type: 'text',
    name: 'description',
    maxlength: 1000,
    value: initial?.description ?? '',
  });
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
  const more = h('input', {
    type: 'text',
    name: 'moreEventTypes',
    autocomplete: 'off',
    placeholder: 'order.*, invoice.paid',
    value: (initial?.eventTypes ?? []).filter((t) => !catalogNames.has(t)).join(', '),
  });
  const format = h(
    'select',
    { name: 'format' },
    h('option', { value: 'json', selected: (initial?.format ?? 'json') === 'json' }, 'JSON'),
    h('option', { value: 'xml', selected: initial?.format === 'xml' }, 'XML'),
  );
  const enabled = h('input', { name: 'enabled', checked: initial ? initial.enabled : true });
  const errors = h('div', { class: 'form-errors' });
  const submit = h('button', { type: 'submit', class: 'primary' }, opts.submitLabel);
  const legendId = uid('types');

  const form = h(
    'form',
    { class: 'endpoint-form', novalidate: true },
    field('Endpoint URL', url, 'Where the relay POSTs the webhooks: an https:// URL of your server.'),
    field('Description (optional)', description),
    h(
      'fieldset',
      { class: 'types' },
      h('legend', { id: legendId }, 'Event types'),
      h('p', { class: 'hint' }, 'The endpoint receives events of these types only.'),
      boxes.length > 0
        ? h('div', { class: 'type-list' }, ...boxes.map((b) => b.el))
        : h('p', { class: 'hint' }, 'The catalog lists no event types yet: type the ones you want below.'),
      field(
        boxes.length > 0 ? 'More event types' : 'Event types',
        more,
        'Comma-separated. Wildcards: order.* (every order event) or * (everything).',
      ),
    ),
    field('Payload format', format),
    checkbox('Enabled', enabled, 'A disabled endpoint receives nothing until it is enabled again.'),
    errors,
    h('div', { class: 'actions' }, submit),
  );

  const inputs: Record<string, HTMLElement> = { url, description, eventTypes: more, format, enabled };
  const markInvalid = (paths: string[]) => {
    for (const el of Object.values(inputs)) el.removeAttribute('aria-invalid');
    for (const p of paths) inputs[p.split(/[.[]/)[0] ?? '']?.setAttribute('aria-invalid', 'true');
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(errors);
    const types = [
      ...boxes.filter((b) => b.box.checked).map((b) => b.name),
      ...more.value
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ];
    const unique = [...new Set(types)];
    const problems: Array<{ path: string; message: string }> = [];
    if (!url.value.trim()) problems.push({ path: 'url', message: 'enter the URL webhooks go to' });
    if (unique.length === 0)
      problems.push({ path: 'eventTypes', message: 'pick or type at least one event type' });
    const bad = unique.filter((t) => !TYPE_PATTERN.test(t));
    if (bad.length > 0) {
      problems.push({
        path: 'eventTypes',
        message: `${bad.join(', ')}: not an event type (order.created), a wildcard (order.*) or *`,
      });
    }
    if (problems.length > 0) {
      markInvalid(problems.map((p) => p.path));
      replace(errors, errorNotice({ message: 'Check the form', details: problems, status: 400 }));
      (inputs[problems[0]?.path ?? 'url'] as HTMLElement).focus();
      return;
    }
    const input: EndpointInput = {
      url: url.value.trim(),
      eventTypes: unique,
      description: description.value,
      enabled: enabled.checked,
      format: format.value === 'xml' ? 'xml' : 'json',
    };
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      await opts.onSubmit(input);
      markInvalid([]);
    } catch (err) {
      markInvalid(((err as ApiError).details ?? []).map((d) => d.path));
      replace(errors, errorNotice(err, 'Not saved'));
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  });
  return form;
}
