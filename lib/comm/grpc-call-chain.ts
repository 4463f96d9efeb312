import type { ClientGossipStream, ServerGossipStream } from '../wire/service.js';

/** An object of grpc-js's, read by shape. */
export type CallNode = Record<string, unknown>;

/**
 * The objects grpc-js chains under a call, outermost first: on the client
 * `stream.call(.call|.child|.underlyingCalls[i].call)*` down to the subchannel call (which holds
 * `http2Stream`), on the server `stream.call`, the base call (which holds `stream`). Only the
 * links grpc-js uses for calls without interceptors are followed: an intercepting call links
 * through `nextCall`, never followed, so the chain ends there. A retrying call with several
 * attempts and none committed ends it too. FrameSink and the direct reader both find their
 * way down this chain, each checking the shape of what it needs.
 */
export function* callChain(call: ClientGossipStream | ServerGossipStream): Generator<CallNode> {
  let node: unknown = (call as unknown as { call?: unknown }).call;
  for (let depth = 0; depth < 8 && isObject(node); depth++) {
    yield node;
    if (Array.isArray(node.underlyingCalls)) {
      const index = typeof node.committedCallIndex === 'number' ? node.committedCallIndex : 0;
      if (node.underlyingCalls.length !== 1 && index === 0 && typeof node.committedCallIndex !== 'number') return;
      node = (node.underlyingCalls[index] as { call?: unknown } | undefined)?.call;
    } else {
      node = node.call ?? node.child;
    }
  }
}

export function isObject(value: unknown): value is CallNode {
  return typeof value === 'object' && value !== null;
}

/** Whether `value` looks like one of node's http2 streams: a `session`, and these methods. */
export function isHttp2StreamWith(value: unknown, methods: readonly string[]): value is CallNode {
  return isObject(value) && 'session' in value && methods.every((m) => typeof value[m] === 'function');
}
