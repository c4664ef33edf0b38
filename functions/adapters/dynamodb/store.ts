import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PortalSessionStore } from '../../core/portal/session.ts';
import type { EventLedger, Store } from '../../core/ports.ts';
import { DynamoApiKeyStore } from './api-keys.ts';
import { TableClient } from './client.ts';
import { DynamoDeliveryContext } from './context.ts';
import { DynamoDeliveryStore } from './deliveries.ts';
import { DynamoEventTypeStore } from './event-types.ts';
import { DynamoEventStore } from './events.ts';
import { DynamoEventLedger } from './ledger.ts';
import { DynamoPortalSessionStore } from './portal-sessions.ts';
import { DynamoSubscriptionStore } from './subscriptions.ts';

export { CLAIM_LEASE_MS } from './ledger.ts';

/**
 * Every port the relay keeps in its DynamoDB table, over one shared {@link TableClient} (so
 * event and delivery puts share BatchWriteItem requests). Each item kind has its module; the key
 * design is in table.ts. The same object serves Lambda and the local runtime (against dynalite).
 */
export class DynamoStore implements Store, EventLedger, PortalSessionStore {
  readonly table: TableClient;
  readonly subscriptions: DynamoSubscriptionStore;
  readonly apiKeys: DynamoApiKeyStore;
  readonly eventTypes: DynamoEventTypeStore;
  readonly ledger: DynamoEventLedger;
  readonly events: DynamoEventStore;
  readonly deliveries: DynamoDeliveryStore;
  readonly context: DynamoDeliveryContext;
  readonly portalSessions: DynamoPortalSessionStore;

  constructor(doc: DynamoDBDocumentClient, tableName: string, retentionDays: number) {
    this.table = new TableClient(doc, tableName, retentionDays);
    this.subscriptions = new DynamoSubscriptionStore(this.table);
    this.apiKeys = new DynamoApiKeyStore(this.table);
    this.eventTypes = new DynamoEventTypeStore(this.table);
    this.ledger = new DynamoEventLedger(this.table);
    this.events = new DynamoEventStore(this.table);
    this.deliveries = new DynamoDeliveryStore(this.table);
    this.context = new DynamoDeliveryContext(this.table);
    this.portalSessions = new DynamoPortalSessionStore(this.table);
  }

  // SubscriptionStore
  putSubscription: Store['putSubscription'] = (...a) => this.subscriptions.putSubscription(...a);
  getSubscription: Store['getSubscription'] = (...a) => this.subscriptions.getSubscription(...a);
  listSubscriptions: Store['listSubscriptions'] = (...a) => this.subscriptions.listSubscriptions(...a);
  deleteSubscription: Store['deleteSubscription'] = (...a) => this.subscriptions.deleteSubscription(...a);
  disableSubscription: Store['disableSubscription'] = (...a) => this.subscriptions.disableSubscription(...a);
  recordHealth: Store['recordHealth'] = (...a) => this.subscriptions.recordHealth(...a);
  claimProbe: Store['claimProbe'] = (...a) => this.subscriptions.claimProbe(...a);
  // PortalSessionStore
  putPortalSession: PortalSessionStore['putPortalSession'] = (...a) =>
    this.portalSessions.putPortalSession(...a);
  getPortalSession: PortalSessionStore['getPortalSession'] = (...a) =>
    this.portalSessions.getPortalSession(...a);
  deletePortalSession: PortalSessionStore['deletePortalSession'] = (...a) =>
    this.portalSessions.deletePortalSession(...a);
  // ApiKeyStore
  putApiKey: Store['putApiKey'] = (...a) => this.apiKeys.putApiKey(...a);
  getApiKey: Store['getApiKey'] = (...a) => this.apiKeys.getApiKey(...a);
  listApiKeys: Store['listApiKeys'] = (...a) => this.apiKeys.listApiKeys(...a);
  deleteApiKey: Store['deleteApiKey'] = (...a) => this.apiKeys.deleteApiKey(...a);
  // EventTypeStore
  putEventType: Store['putEventType'] = (...a) => this.eventTypes.putEventType(...a);
  getEventType: Store['getEventType'] = (...a) => this.eventTypes.getEventType(...a);
  listEventTypes: Store['listEventTypes'] = (...a) => this.eventTypes.listEventTypes(...a);
  listEventTypeSchemas: Store['listEventTypeSchemas'] = (...a) => this.eventTypes.listEventTypeSchemas(...a);
  countEventTypes: Store['countEventTypes'] = (...a) => this.eventTypes.countEventTypes(...a);
  deleteEventType: Store['deleteEventType'] = (...a) => this.eventTypes.deleteEventType(...a);
  // EventLedger
  claim: EventLedger['claim'] = (...a) => this.ledger.claim(...a);
  markAccepted: EventLedger['markAccepted'] = (...a) => this.ledger.markAccepted(...a);
  release: EventLedger['release'] = (...a) => this.ledger.release(...a);
  // EventStore
  putEvents: Store['putEvents'] = (...a) => this.events.putEvents(...a);
  getEvent: Store['getEvent'] = (...a) => this.events.getEvent(...a);
  listEvents: Store['listEvents'] = (...a) => this.events.listEvents(...a);
  scanEvents = (from: string, to: string) => this.events.scanEvents(from, to);
  // DeliveryStore
  putDeliveries: Store['putDeliveries'] = (...a) => this.deliveries.putDeliveries(...a);
  replaceDelivery: Store['replaceDelivery'] = (...a) => this.deliveries.replaceDelivery(...a);
  recordManualAttempt: Store['recordManualAttempt'] = (...a) => this.deliveries.recordManualAttempt(...a);
  getDelivery: Store['getDelivery'] = (...a) => this.deliveries.getDelivery(...a);
  listDeliveriesBySubscription: Store['listDeliveriesBySubscription'] = (...a) =>
    this.deliveries.listDeliveriesBySubscription(...a);
  listDeliveriesByEvent: Store['listDeliveriesByEvent'] = (...a) =>
    this.deliveries.listDeliveriesByEvent(...a);
  listDeadDeliveries: Store['listDeadDeliveries'] = (...a) => this.deliveries.listDeadDeliveries(...a);
  countDeadDeliveries: Store['countDeadDeliveries'] = (...a) => this.deliveries.countDeadDeliveries(...a);
  // DeliveryContextReader
  loadForTasks: Store['loadForTasks'] = (...a) => this.context.loadForTasks(...a);
}
