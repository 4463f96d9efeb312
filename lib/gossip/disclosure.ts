import type { SignedMessage } from '../wire/signed-message.js';
import { withoutSecret } from './alive-message.js';

/** What the disclosure rules need to know of an alive message's subject and of its receiver. */
export interface DisclosureParties {
  /** Our organization (MSP id). */
  readonly selfOrg: string;
  /** The organization of the member the alive message is about; undefined when unknown. */
  readonly memberOrg: string | undefined;
  /** Whether that member advertises an external endpoint. */
  readonly memberHasExternalEndpoint: boolean;
  /** The organization of the peer we would send it to; undefined when unknown. */
  readonly targetOrg: string | undefined;
}

/**
 * Whether an alive message may go to a peer, by Fabric's rules (its gossip node's disclosure
 * policy and origin-org routing): messages of our organization's members go to anyone, except
 * that a member without an external endpoint is only disclosed inside our organization; a foreign
 * member's message goes only to peers of our organization or of its own, and to the latter's
 * foreign peers only if it has an external endpoint. Nothing is disclosed when an organization is
 * unknown.
 */
export function mayDisclose(p: DisclosureParties): boolean {
  if (p.memberOrg === undefined || p.targetOrg === undefined) return false;
  if (p.memberOrg === p.targetOrg) return true;
  if (!p.memberHasExternalEndpoint) return false;
  return p.memberOrg === p.selfOrg || p.targetOrg === p.selfOrg;
}

/** The envelope as a peer of `targetOrg` gets it: the secret envelope stays inside our organization. */
export function concealFor(message: SignedMessage, selfOrg: string, targetOrg: string | undefined): SignedMessage {
  return targetOrg === selfOrg ? message : withoutSecret(message);
}
