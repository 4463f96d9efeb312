// The tag Fabric's gossip node requires of each message kind (its protoext.IsTagLegal, read from
// Fabric v2.5's source): a message that breaks it is dropped as "isn't legal". Specs use it to
// show rxgossip never sends Fabric such a message.
import { gossip } from '../../lib/proto/messages.js';

const { EMPTY, ORG_ONLY, CHAN_AND_ORG, CHAN_OR_ORG, UNDEFINED } = gossip.GossipMessage.Tag;

/** Why Fabric would drop `m` as illegal, or undefined when it would take it. */
export function fabricTagError(m: gossip.GossipMessage): string | undefined {
  const expect = (tag: gossip.GossipMessage.Tag): string | undefined =>
    m.tag === tag ? undefined : `${m.content}: tag ${gossip.GossipMessage.Tag[m.tag ?? 0]}, Fabric requires ${gossip.GossipMessage.Tag[tag]}`;
  if ((m.tag ?? UNDEFINED) === UNDEFINED) return `${m.content}: undefined tag`;
  switch (m.content) {
    case 'dataMsg':
    case 'leadershipMsg':
      return expect(CHAN_AND_ORG);
    case 'aliveMsg':
    case 'memReq':
    case 'memRes':
      return expect(EMPTY);
    case 'peerIdentity':
      return expect(ORG_ONLY);
    case 'hello':
    case 'dataDig':
    case 'dataReq':
    case 'dataUpdate': {
      const type = (m.hello ?? m.dataDig ?? m.dataReq ?? m.dataUpdate)?.msgType;
      if (type === gossip.PullMsgType.BLOCK_MSG) return expect(CHAN_AND_ORG);
      if (type === gossip.PullMsgType.IDENTITY_MSG) return expect(EMPTY);
      return `${m.content}: invalid msg_type ${type}`;
    }
    case 'stateInfo':
    case 'stateSnapshot':
    case 'stateInfoPullReq':
    case 'stateRequest':
    case 'stateResponse':
      return expect(CHAN_OR_ORG);
    default:
      return `unknown message type ${m.content}`;
  }
}
