import { describe, expect, it } from 'vitest';
import { findRoute, matchPath, ROUTES } from '../../../functions/handlers/routes.ts';

describe('matchPath', () => {
  it('matches a literal path with no parameters', () => {
    expect(matchPath('/v1/dlq', '/v1/dlq')).toEqual({});
  });

  it('extracts path parameters', () => {
    expect(matchPath('/v1/subscriptions/{id}/deliveries', '/v1/subscriptions/sub_1/deliveries')).toEqual({
      id: 'sub_1',
    });
  });

  it('percent-decodes parameters', () => {
    expect(matchPath('/v1/events/{id}', '/v1/events/order%2042')).toEqual({ id: 'order 42' });
    expect(matchPath('/v1/events/{id}', '/v1/events/a%2Fb')).toEqual({ id: 'a/b' });
    expect(matchPath('/v1/events/{id}', '/v1/events/caf%C3%A9')).toEqual({ id: 'café' });
  });

  it('does not match a path with a different number of segments', () => {
    expect(matchPath('/v1/subscriptions/{id}', '/v1/subscriptions')).toBeUndefined();
    expect(matchPath('/v1/subscriptions/{id}', '/v1/subscriptions/a/b')).toBeUndefined();
    expect(matchPath('/v1/dlq', '/v1/dlq/')).toBeUndefined();
  });

  it('does not match an empty parameter', () => {
    expect(matchPath('/v1/subscriptions/{id}/test', '/v1/subscriptions//test')).toBeUndefined();
  });

  it('does not match different literal segments', () => {
    expect(matchPath('/v1/subscriptions/{id}/test', '/v1/subscriptions/x/tests')).toBeUndefined();
    expect(matchPath('/v1/dlq', '/V1/DLQ')).toBeUndefined();
  });

  it('treats a malformed percent-escape as no match instead of throwing', () => {
    expect(() => matchPath('/v1/events/{id}', '/v1/events/%E0%A4%A')).not.toThrow();
    expect(matchPath('/v1/events/{id}', '/v1/events/100%')).toBeUndefined();
  });
});

describe('findRoute', () => {
  it.each(ROUTES.map((r) => [r.method, r.path, r.target] as const))(
    'routes %s %s to %s',
    (method, path, target) => {
      const concrete = path.replace('{id}', 'x_1');
      const found = findRoute(method, concrete);
      expect(found).toMatchObject({ route: { method, path, target } });
    },
  );

  it('returns the path parameters of the route', () => {
    expect(findRoute('POST', '/v1/deliveries/dlv_1/retry')).toEqual({
      route: { method: 'POST', path: '/v1/deliveries/{id}/retry', target: 'api', portal: true },
      params: { id: 'dlv_1' },
    });
  });

  it('sends single and batch event ingestion to the ingest function', () => {
    expect(findRoute('POST', '/v1/events')).toMatchObject({ route: { target: 'ingest' }, params: {} });
    expect(findRoute('POST', '/v1/events/batch')).toMatchObject({ route: { target: 'ingest' }, params: {} });
  });

  it('lists the allowed methods when the path exists but the method does not (405)', () => {
    expect(findRoute('PUT', '/v1/subscriptions/sub_1')).toEqual({ allowed: ['GET', 'PATCH', 'DELETE'] });
    expect(findRoute('DELETE', '/v1/dlq')).toEqual({ allowed: ['GET'] });
    expect(findRoute('PUT', '/v1/dlq/redrive')).toEqual({ allowed: ['POST', 'GET'] });
    expect(findRoute('PATCH', '/v1/subscriptions')).toEqual({ allowed: ['GET', 'POST'] });
  });

  it('matches methods exactly, as upper case', () => {
    expect(findRoute('get', '/v1/dlq')).toEqual({ allowed: ['GET'] });
  });

  it('returns undefined for an unknown path (404)', () => {
    expect(findRoute('GET', '/nope')).toBeUndefined();
    expect(findRoute('GET', '/v1/subscriptions/sub_1/unknown')).toBeUndefined();
    expect(findRoute('GET', '/v2/dlq')).toBeUndefined();
  });

  it('percent-decodes the parameters it returns', () => {
    expect(findRoute('GET', '/v1/subscriptions/sub%5F1')).toMatchObject({ params: { id: 'sub_1' } });
  });

  it('answers 404 rather than throwing for a malformed percent-escape', () => {
    expect(() => findRoute('GET', '/v1/subscriptions/%ZZ')).not.toThrow();
    expect(findRoute('GET', '/v1/subscriptions/%ZZ')).toBeUndefined();
  });
});
