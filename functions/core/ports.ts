import type { EventType, JsonObject } from './catalog/event-type.ts';
import type { Attempt, Delivery, DeliveryStatus, DeliveryTask } from './delivery/model.ts';
import type { RelayEvent } from './event.ts';
import type { Subscription } from './subscription.ts';

/**
 * The ports the core owns. AWS adapters (EventBridge, SQS, DynamoDB) and local adapters
 * (in-process bus and queues, dynalite) implement them; the core sees nothing else.
 */

/** Publishes accepted events; resolves only when every event is safely on the bus. */
export interface EventBus {
  publish(events: readonly RelayEvent[]): Promise<void>;
}

/**
 * Remembers, per tenant, the event ids producers chose, for 24 h: ingest's duplicate check.
 * A claim is held while the event is being published (a lease, so a crashed request frees it)
 * and becomes `accepted` once the event is on the bus.
 */
export interface EventLedger {
  /**
   * `claimed`: this request may publish the event; `accepted`: it was already accepted
   * (a duplicate); `in_flight`: another request holds the claim right now. `receivedAt`: the
   * event's receipt time, kept with the claim (where the event store finds the event by id).
   * `{claimed: at}`: claimed, but an earlier request that gave the id up (or crashed) had
   * recorded `at`; the event keeps that receipt time, so it is stored and delivered as one event.
   */
  claim(
    tenant: string,
    id: string,
    now: Date,
    receivedAt?: string,
  ): Promise<'claimed' | 'accepted' | 'in_flight' | { claimed: string }>;
  markAccepted(tenant: string, id: string): Promise<void>;
  /** Gives a claim up (publishing failed), so the producer's retry can claim it again. */
  release(tenant: string, id: string): Promise<void>;
}

/** A tenant API key as stored: only its hash, never the key. */
export interface ApiKeyRecord {
  id: string;
  tenant: string;
  hash: string;
  description?: string;
  createdAt: string;
}

export interface ApiKeyStore {
  putApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** Every key, oldest first, or one tenant's. */
  listApiKeys(tenant?: string): Promise<ApiKeyRecord[]>;
  deleteApiKey(id: string): Promise<boolean>;
}

/** A page of results plus the cursor of the next page, if any. */
export interface Page<T> {
  items: T[];
  next?: string;
}

export interface SubscriptionStore {
  /**
   * Writes a subscription. With `expected`, only over the version that was read (its
   * `updatedAt`, and its `healthUpdatedAt` or none), else false: an edit never undoes a delete,
   * a disable, another edit or a health change (failing since, circuit) made meanwhile.
   */
  putSubscription(
    sub: Subscription,
    expected?: { updatedAt: string; healthUpdatedAt?: string | undefined },
  ): Promise<boolean>;
  getSubscription(tenant: string, id: string): Promise<Subscription | undefined>;
  listSubscriptions(tenant: string): Promise<Subscription[]>;
  deleteSubscription(tenant: string, id: string): Promise<boolean>;
  /**
   * Disables a subscription with the reason, leaving everything else as it is. With `seen`, only
   * the version that was read (its `updatedAt` and `healthUpdatedAt`): an attempt that read it
   * before an edit (a new URL, re-enabled) must not disable what the user just changed. False when
   * it was not disabled (changed meanwhile, or deleted).
   */
  disableSubscription(
    tenant: string,
    id: string,
    reason: string,
    at: string,
    seen?: { updatedAt: string; healthUpdatedAt?: string | undefined },
  ): Promise<boolean>;
  /**
   * Records an endpoint's health: `failingSince` set on the first failure after a success (kept
   * if already set), `circuit` opened or extended after a timeout, both cleared by a success.
   * Conditional on the subscription being as `seen` (its `updatedAt` and `healthUpdatedAt`), so
   * an attempt that read it before an edit (re-enabled, new URL) never puts the old health back;
   * sets `healthUpdatedAt` to `seen.at`. False when it changed meanwhile (or was deleted).
   */
  recordHealth(
    tenant: string,
    id: string,
    change: { failingSince?: string; circuit?: CircuitState | null } | 'healthy',
    seen: { updatedAt: string; healthUpdatedAt?: string; at: string },
  ): Promise<boolean>;
  /**
   * Claims the half-open probe of a circuit that was `seen`: true for exactly one caller until
   * `probeUntil` passes (or the circuit changes). A health write: sets `healthUpdatedAt` to `now`.
   */
  claimProbe(
    tenant: string,
    id: string,
    seen: CircuitState,
    probeUntil: string,
    now: string,
  ): Promise<boolean>;
}

/** A subscription's circuit breaker: open (tasks parked, no attempts) until `openUntil`. */
export interface CircuitState {
  openUntil: string;
  /** Timeouts in a row; the next opening lasts longer. */
  timeouts: number;
  /** Half-open: one task probes the endpoint until then; the others wait. */
  probeUntil?: string;
}

/** An event as fanout stores it: with the ids of the deliveries it made for it. */
export interface StoredEvent {
  event: RelayEvent;
  deliveryIds: readonly string[];
}

/**
 * A subscription's deliveries: a page, within a window on their event's receipt time, of one
 * status or event type. A filtered page may hold fewer than `limit`: follow `next`.
 */
export interface DeliveryListQuery {
  limit: number;
  cursor?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  status?: DeliveryStatus | undefined;
  eventType?: string | undefined;
}

/** `GET /v1/events`: newest first, optionally one type and a window on receipt time. */
export interface EventListQuery {
  limit: number;
  cursor?: string | undefined;
  type?: string | undefined;
  /** ISO 8601 (UTC, as `toISOString` writes it), inclusive. */
  from?: string | undefined;
  to?: string | undefined;
}

export interface EventStore {
  /** `replay`: add these deliveries to the stored event's (a replay), keeping the others. */
  putEvents(events: readonly StoredEvent[], opts?: { replay?: boolean }): Promise<void>;
  getEvent(tenant: string, id: string): Promise<RelayEvent | undefined>;
  listEvents(tenant: string, query: EventListQuery): Promise<Page<RelayEvent>>;
}

/** The delivery log: one record per (event, subscription) with every attempt. */
export interface DeliveryStore {
  putDeliveries(deliveries: readonly Delivery[]): Promise<void>;
  /**
   * Appends a manual attempt (or only the reason it could not run) to an existing delivery,
   * leaving the status alone unless the attempt succeeded.
   */
  recordManualAttempt(
    deliveryId: string,
    update: { attempt?: Attempt; succeeded: boolean; lastError?: string; at: string },
  ): Promise<void>;
  getDelivery(id: string): Promise<Delivery | undefined>;
  /**
   * Newest first by their event's receipt time (a replayed delivery sorts with its event);
   * `from`/`to` bound that time (ISO 8601, inclusive).
   */
  listDeliveriesBySubscription(subscriptionId: string, opts: DeliveryListQuery): Promise<Page<Delivery>>;
  listDeliveriesByEvent(tenant: string, eventId: string): Promise<Delivery[]>;
  /** Writes a delivery only over the version whose `deadMessageId` is `expected`; false otherwise. */
  replaceDelivery(next: Delivery, expected: { deadMessageId: string }): Promise<boolean>;
  listDeadDeliveries(tenant: string, opts: { limit: number; cursor?: string }): Promise<Page<Delivery>>;
  countDeadDeliveries(tenant: string): Promise<number>;
}

/** Events and subscriptions of a batch are keyed within their tenant: `tenant#id`. */
export const scopedKey = (tenant: string, id: string) => `${tenant}#${id}`;

/**
 * Everything the delivery step needs about a batch of tasks, read in as few round trips as the
 * store allows (one BatchGetItem on DynamoDB).
 */
export interface DeliveryContextReader {
  loadForTasks(tasks: readonly DeliveryTask[]): Promise<{
    /** By delivery id (ids are derived from tenant, event and subscription). */
    deliveries: Map<string, Delivery>;
    /** By `tenant#eventId`: producers choose event ids, so two tenants may share one. */
    events: Map<string, RelayEvent>;
    /** By `tenant#subscriptionId`. */
    subscriptions: Map<string, Subscription>;
  }>;
}

/** The tenant's event-type catalog: one record per type, keyed by its name. */
export interface EventTypeStore {
  /**
   * Writes an event type: with `'new'` only if no type of that name exists, with `{revision}`
   * only over that revision (an update never undoes an edit or a delete made meanwhile); false
   * otherwise.
   */
  putEventType(eventType: EventType, expected: 'new' | { revision: number }): Promise<boolean>;
  getEventType(tenant: string, name: string): Promise<EventType | undefined>;
  /** The whole catalog, in name order. */
  /** In name order, a page at a time (entries hold schemas and examples: up to ~32 KB each). */
  listEventTypes(
    tenant: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<Page<EventType>>;
  /** Only the types with a schema, and only their schema (one Query): what ingest caches. */
  listEventTypeSchemas(tenant: string): Promise<Array<{ name: string; schema: JsonObject }>>;
  countEventTypes(tenant: string): Promise<number>;
  deleteEventType(tenant: string, name: string): Promise<boolean>;
}

export type Store = SubscriptionStore &
  EventStore &
  DeliveryStore &
  DeliveryContextReader &
  ApiKeyStore &
  EventTypeStore;

/** Progress of moving dead-lettered tasks back for a fresh round of attempts. */
export interface RedriveStatus {
  status: 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  moved: number;
  total: number;
}

/** The delivery queue and its DLQ. */
export interface TaskQueue {
  /**
   * New tasks, each with MessageGroupId = tenant#subscription: SQS fair queues then serve a
   * flooded or slow endpoint's tasks after the quiet endpoints' ones.
   */
  enqueue(tasks: readonly DeliveryTask[]): Promise<void>;
  /**
   * A copy of a task, delayed `delaySeconds` (0 to 15 minutes; same group): how every wait comes
   * back. The caller acknowledges the received message only after this resolved, so a crash in
   * between leaves a duplicate (fenced by `task.attempt`), never a lost task. Sends of one
   * invocation share SendMessageBatch requests.
   */
  sendDelayed(task: DeliveryTask, delaySeconds: number): Promise<void>;
  /**
   * Make a received task visible again at once, on its way to the DLQ. Its delivery is marked
   * dead, so every further receive of this message bounces straight back until the queue's own
   * redrive policy (maxReceiveCount) moves it to the DLQ. The queue service does the move, so it
   * records the source queue and a DLQ redrive (console, API or CLI) puts the task back.
   */
  releaseToDeadLetter(receiptHandle: string): Promise<void>;
  /** Start moving every dead-lettered task back to the delivery queue. */
  startRedrive(): Promise<RedriveStatus>;
  /** The latest redrive's progress, or undefined when none was ever started. */
  redriveStatus(): Promise<RedriveStatus | undefined>;
  /** Tasks in the dead-letter queue now (SQS: approximate, as the console shows it). */
  deadLetterCount(): Promise<number>;
}

/**
 * A delivery waiting its turn at an ordered (`ordering: "fifo"`) subscription. `key` sorts the
 * subscription's pending deliveries in ingest order (see delivery/ordering.ts).
 */
export interface PendingDelivery {
  key: string;
  task: DeliveryTask;
  /** When it was (last) added, epoch ms: set by the store, as read. */
  addedAt?: number;
  /** Set by the store on every add: a removal takes out only the version it read. */
  version?: string;
}

/** The ordered subscriptions' pending deliveries, oldest (by ingest) first. */
export interface OrderedStore {
  /** Adds (or overwrites, the same key) deliveries to their subscriptions' pending lists, at `now`. */
  addPending(items: readonly PendingDelivery[], now: Date): Promise<void>;
  /** The oldest pending deliveries of one subscription, at most `limit`, strongly consistent. */
  headPending(tenant: string, subscriptionId: string, limit: number): Promise<PendingDelivery[]>;
  /** Removes the entry, only in the version read (an entry added again meanwhile stays). */
  removePending(item: PendingDelivery): Promise<void>;
  /**
   * The subscription's "awake" flag. When this caller sets it (it was unset, or its lease had
   * passed), returns the deduplication id of the wake-up the caller must send (a fresh one, kept
   * in the flag); undefined while another holds it, whose drain will find what was added before
   * this call. At most one wake-up per subscription is then waiting, however many events arrive
   * while it is blocked. The flag lapses by itself at `until`. A claim `by` the same caller again
   * (a retried fanout) returns the same id, so a crash between claiming and sending never leaves
   * a flag without its wake-up, and a sent one is not sent twice.
   */
  claimWake(
    tenant: string,
    subscriptionId: string,
    claim: { by: string; now: Date; until: Date },
  ): Promise<string | undefined>;
  /** Moves the flag's lease on (a held subscription keeps it until the hold ends). */
  extendWake(tenant: string, subscriptionId: string, until: Date): Promise<void>;
  /** Clears the flag: the drain found the list empty; the next fanout wakes the subscription. */
  releaseWake(tenant: string, subscriptionId: string): Promise<void>;
}

/**
 * The FIFO queue of wake-ups: a message says "this ordered subscription has pending deliveries".
 * One group per subscription (tenant#subscription), so at most one consumer works on a
 * subscription at a time, and a message held back (its visibility changed) holds the group.
 */
export interface OrderedQueue {
  /** Sends wake-ups; `dedupId` (a delivery id) makes a repeated fanout send nothing new. */
  wake(wakes: ReadonlyArray<{ tenant: string; subscriptionId: string; dedupId: string }>): Promise<void>;
  /** Holds a received wake-up (and so its subscription) back for `seconds` (0 to 12 h). */
  hold(receiptHandle: string, seconds: number): Promise<void>;
}

/**
 * Per-endpoint limits shared by every delivery invocation (fleet-wide), kept where all of them
 * can see it (DynamoDB; an item per subscription and limit).
 */
export interface EndpointLimiter {
  /**
   * Takes up to `wanted` of the endpoint's in-flight slots for `holder` (one invocation), never
   * letting the holders together exceed `limit`. The lease ends by itself at `until` (a crashed
   * invocation frees its slots). Returns how many slots it got (0 to `wanted`).
   */
  acquireSlots(
    tenant: string,
    subscriptionId: string,
    holder: string,
    wanted: number,
    limit: number,
    now: Date,
    until: Date,
  ): Promise<number>;
  /** Gives back every slot `holder` holds for the endpoint. */
  releaseSlots(tenant: string, subscriptionId: string, holder: string): Promise<void>;
  /**
   * Books `count` send times for the endpoint at `ratePerSecond`, spaced 1/rate apart after the
   * ones booked before (a virtual schedule, GCRA), none earlier than `now`. Returns the times
   * (epoch ms, ascending): a time in the future means "wait until then". Fewer than `count` (none)
   * when the schedule was too contended to book: those tasks book again later.
   */
  bookSendTimes(
    tenant: string,
    subscriptionId: string,
    count: number,
    ratePerSecond: number,
    now: Date,
  ): Promise<number[]>;
}

/** A time window of accepted events (their `receivedAt`, which is also their time on the bus). */
export interface ReplayWindow {
  from: Date;
  to: Date;
}

export interface ReplayStatus {
  id: string;
  status: 'STARTING' | 'RUNNING' | 'CANCELLING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  from: string;
  to: string;
  /** How far the replay has got: the time of the last event replayed. */
  lastReplayedAt?: string;
  /** Events replayed so far, where the replayer can count them (local mode). */
  replayed?: number;
  reason?: string;
}

/**
 * Re-publishes the events of a time window so they fan out again to today's matching
 * subscriptions, each as a new delivery (the same `webhook-id`, so receivers that deduplicate
 * still can). AWS: an EventBridge archive replay; local: the event store.
 */
export interface EventReplayer {
  start(window: ReplayWindow): Promise<ReplayStatus>;
  status(id: string): Promise<ReplayStatus | undefined>;
  /** The relay's replays, newest first. */
  list(): Promise<ReplayStatus[]>;
}

/** What a receiver answered. `status` 0 never appears here: transport failures throw. */
export interface HttpResponse {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface HttpSender {
  /** POSTs without following redirects; rejects on network error or when `timeoutMs` passes. */
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<HttpResponse>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
