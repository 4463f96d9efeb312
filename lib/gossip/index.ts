/**
 * Gossip pipelines built only on the public Comm API: push dissemination, membership, and pull
 * (anti-entropy), with the pure pieces they are made of.
 */
export { burst } from './burst.js';
export { MessageStore, type MessageStoreOptions } from './message-store.js';
export { payloadDigest, seqNumDigest, type DigestFn } from './data-digest.js';
export type { DataDelivery } from './data-delivery.js';
export { originOf, verifyDataMessage, verifyDataMessageAsync } from './data-origin.js';
export { verifyOrigin } from './verify-origin.js';
export { peersOf, selectPeers, type PeerSource } from './peer-selection.js';
export {
  createPush,
  type PublishInit,
  type Push,
  type PushDrop,
  type PushDropReason,
  type PushOptions,
  type PushRejection,
  type PushStats,
} from './push.js';
export {
  MembershipTable,
  comparePeerTime,
  trackMembership,
  type Member,
  type MembershipChange,
  type MembershipEntry,
  type MembershipEvent,
  type MembershipTableOptions,
  type MembershipUpdate,
  type MembershipView,
  type PeerTime,
} from './membership-view.js';
export {
  createAliveMessage,
  internalEndpointOf,
  verifyAliveMessage,
  withoutSecret,
  type AliveMessageInit,
  type AliveVerifier,
} from './alive-message.js';
export { concealFor, mayDisclose, type DisclosureParties } from './disclosure.js';
export {
  createIdentityMessage,
  createIdentityPull,
  verifyIdentityMessage,
  type IdentityPull,
  type IdentityPullOptions,
  type IdentityPullStats,
  type IdentityStore,
} from './identity-pull.js';
export { createMembership, type Membership, type MembershipOptions, type MembershipStats } from './membership.js';
export { pullRound, type PulledItem, type PullReply, type PullRoundContext } from './pull-round.js';
export { createPull, pullTag, type Pull, type PullOptions, type PullRoundResult, type PullStats } from './pull.js';
