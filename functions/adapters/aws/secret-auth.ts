import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Authenticator, type Principal, StaticKeyAuthenticator } from '../../handlers/http.ts';

/**
 * The admin key, held in Secrets Manager (generated at deploy). Read on first use and again
 * after `ttlMs`, so a key rotated in the console is picked up within minutes without a deploy.
 */
export class SecretKeyAuthenticator implements Authenticator {
  private cached?: { auth: StaticKeyAuthenticator; at: number };
  private loading?: Promise<StaticKeyAuthenticator>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    return (await this.current()).authenticate(authorization);
  }

  private async current(): Promise<StaticKeyAuthenticator> {
    if (this.cached && Date.now() - this.cached.at < this.ttlMs) return this.cached.auth;
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<StaticKeyAuthenticator> {
    const res = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    const key = res.SecretString?.trim();
    if (!key) throw new Error(`secret ${this.secretId} holds no API key`);
    const auth = new StaticKeyAuthenticator({ [key]: { admin: true } });
    this.cached = { auth, at: Date.now() };
    return auth;
  }
}
