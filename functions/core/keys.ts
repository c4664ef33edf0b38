import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import { ApiError, notFound } from './errors.ts';
import type { ApiKeyRecord, ApiKeyStore, Clock } from './ports.ts';
import './zod.ts';

/** Tenant names: short, URL- and log-safe. */
export const TenantSchema = z
  .string()
  .check(
    z.regex(
      /^[a-z0-9][a-z0-9_-]{0,62}$/,
      'must be 1-63 of a-z, 0-9, _ and -, starting with a letter or digit',
    ),
  );

/** `POST /v1/admin/api-keys` body. */
export const ApiKeyCreateSchema = z.strictObject({
  tenant: TenantSchema,
  description: z.optional(z.string().check(z.maxLength(200, 'must be at most 200 characters'))),
});

/** The stored form of a key: its SHA-256, hex. The key itself is shown once and never kept. */
export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** A key's id is derived from its hash, so authentication is one GetItem by id. */
export const keyIdOf = (hash: string) => `key_${hash.slice(0, 24)}`;

export type PublicApiKey = Omit<ApiKeyRecord, 'hash'>;
export const toPublicKey = ({ hash: _h, ...rest }: ApiKeyRecord): PublicApiKey => rest;

/** Tenant API keys: created and revoked with the admin key. */
export class ApiKeys {
  constructor(private readonly deps: { store: ApiKeyStore; clock: Clock }) {}

  async create(input: z.infer<typeof ApiKeyCreateSchema>): Promise<PublicApiKey & { key: string }> {
    const key = `rk_${randomBytes(32).toString('base64url')}`;
    const hash = hashKey(key);
    const record: ApiKeyRecord = {
      id: keyIdOf(hash),
      tenant: input.tenant,
      hash,
      ...(input.description !== undefined ? { description: input.description } : {}),
      createdAt: this.deps.clock.now().toISOString(),
    };
    await this.deps.store.putApiKey(record);
    return { ...toPublicKey(record), key };
  }

  async list(tenant?: string): Promise<PublicApiKey[]> {
    return (await this.deps.store.listApiKeys(tenant)).map(toPublicKey);
  }

  async revoke(id: string): Promise<void> {
    if (!/^key_[0-9a-f]{24}$/.test(id)) throw notFound('api key', id);
    if (!(await this.deps.store.deleteApiKey(id))) throw notFound('api key', id);
  }
}

export const adminRequired = () =>
  new ApiError(
    403,
    'admin_key_required',
    'this route needs the admin key (Authorization: Bearer <admin key>)',
  );
export const tenantKeyRequired = () =>
  new ApiError(
    403,
    'tenant_key_required',
    "this route needs a tenant's API key; the admin key only manages keys, DLQ redrives and replays",
  );
