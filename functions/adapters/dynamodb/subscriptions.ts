import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CircuitState, SubscriptionStore } from '../../core/ports.ts';
import type { Subscription } from '../../core/subscription.ts';
import { isConditionFailure, strip, type TableClient } from './client.ts';
import { subscriptionKey, subscriptionPartition } from './table.ts';

/**
 * The condition "the subscription is still the version that was read": its `updatedAt`, and its
 * `healthUpdatedAt` or none.
 */
function versionCondition(seen: { updatedAt: string; healthUpdatedAt?: string | undefined }) {
  return {
    ConditionExpression:
      seen.healthUpdatedAt === undefined
        ? 'updatedAt = :seenUpdatedAt AND attribute_not_exists(healthUpdatedAt)'
        : 'updatedAt = :seenUpdatedAt AND healthUpdatedAt = :seenHealthAt',
    ExpressionAttributeValues: {
      ':seenUpdatedAt': seen.updatedAt,
      ...(seen.healthUpdatedAt === undefined ? {} : { ':seenHealthAt': seen.healthUpdatedAt }),
    },
  };
}

/**
 * Subscriptions, one item each in their tenant's partition, with their endpoint's health
 * (failing since, circuit) written in place under a version check.
 */
export class DynamoSubscriptionStore implements SubscriptionStore {
  constructor(private readonly t: TableClient) {}

  async putSubscription(
    sub: Subscription,
    expected?: { updatedAt: string; healthUpdatedAt?: string | undefined },
  ): Promise<boolean> {
    const version = expected && versionCondition(expected);
    try {
      await this.t.doc.send(
        new PutCommand({
          TableName: this.t.tableName,
          Item: { ...subscriptionKey(sub.tenant, sub.id), ...sub },
          ...(version
            ? {
                ConditionExpression: `attribute_exists(pk) AND ${version.ConditionExpression}`,
                ExpressionAttributeValues: version.ExpressionAttributeValues,
              }
            : {}),
        }),
      );
      return true;
    } catch (err) {
      if (version && isConditionFailure(err)) return false;
      throw err;
    }
  }

  async getSubscription(tenant: string, id: string): Promise<Subscription | undefined> {
    const res = await this.t.doc.send(
      new GetCommand({ TableName: this.t.tableName, Key: subscriptionKey(tenant, id), ConsistentRead: true }),
    );
    return res.Item ? strip<Subscription>(res.Item) : undefined;
  }

  async listSubscriptions(tenant: string): Promise<Subscription[]> {
    const items = await this.t.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': subscriptionPartition(tenant) },
      ConsistentRead: true,
    });
    return items.map((i) => strip<Subscription>(i));
  }

  async deleteSubscription(tenant: string, id: string): Promise<boolean> {
    const res = await this.t.doc.send(
      new DeleteCommand({
        TableName: this.t.tableName,
        Key: subscriptionKey(tenant, id),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return res.Attributes !== undefined;
  }

  async recordHealth(
    tenant: string,
    id: string,
    change: { failingSince?: string; circuit?: CircuitState | null } | 'healthy',
    seen: { updatedAt: string; healthUpdatedAt?: string; at: string },
  ): Promise<boolean> {
    const sets = ['healthUpdatedAt = :at'];
    const removes: string[] = [];
    const values: Record<string, unknown> = { ':at': seen.at };
    if (change === 'healthy') {
      removes.push('failingSince', 'circuit');
    } else {
      if (change.failingSince) {
        sets.push('failingSince = :since');
        values[':since'] = change.failingSince;
      }
      if (change.circuit) {
        sets.push('circuit = :circuit');
        values[':circuit'] = change.circuit;
      } else if (change.circuit === null) {
        removes.push('circuit');
      }
    }
    const version = versionCondition(seen);
    try {
      await this.t.doc.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: subscriptionKey(tenant, id),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          // Only over the version the attempt read: an edit or another health write made since
          // wins, and this one is dropped instead of putting stale state back.
          ConditionExpression: `attribute_exists(pk) AND ${version.ConditionExpression}`,
          ExpressionAttributeValues: { ...values, ...version.ExpressionAttributeValues },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async claimProbe(
    tenant: string,
    id: string,
    seen: CircuitState,
    probeUntil: string,
    now: string,
  ): Promise<boolean> {
    try {
      await this.t.doc.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: subscriptionKey(tenant, id),
          // A health change too: an edit based on an older read must not drop the claim.
          UpdateExpression: 'SET circuit.probeUntil = :probeUntil, healthUpdatedAt = :now',
          // The circuit we decided on is still the one stored, and nobody probes it right now.
          ConditionExpression:
            'circuit.openUntil = :openUntil AND (attribute_not_exists(circuit.probeUntil) OR circuit.probeUntil < :now)',
          ExpressionAttributeValues: { ':probeUntil': probeUntil, ':openUntil': seen.openUntil, ':now': now },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async disableSubscription(
    tenant: string,
    id: string,
    reason: string,
    at: string,
    seen?: { updatedAt: string; healthUpdatedAt?: string | undefined },
  ): Promise<boolean> {
    const version = seen && versionCondition(seen);
    try {
      await this.t.doc.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: subscriptionKey(tenant, id),
          UpdateExpression: 'SET enabled = :off, disabledReason = :reason, disabledAt = :at, updatedAt = :at',
          ConditionExpression: version
            ? `attribute_exists(pk) AND ${version.ConditionExpression}`
            : 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':off': false,
            ':reason': reason,
            ':at': at,
            ...(version ? version.ExpressionAttributeValues : {}),
          },
        }),
      );
      return true;
    } catch (err) {
      // Deleted, or changed since it was read: nothing to disable.
      if (!isConditionFailure(err)) throw err;
      return false;
    }
  }
}
