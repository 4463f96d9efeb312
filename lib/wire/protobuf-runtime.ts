import protobuf from 'protobufjs/minimal.js';

/**
 * The protobufjs runtime that the generated code in lib/proto is built on: scripts/gen-proto.sh
 * points its import here instead of at `protobufjs/minimal`. Readers, writers and every utility
 * are protobufjs's own; two things differ, neither visible to callers.
 *
 * - **Oneof setters delete only what is there.** Decoding a message sets its oneof (`content` of
 *   a GossipMessage) through a setter that, in protobufjs, deletes each of the oneof's other
 *   fields, 20 for a GossipMessage: 20 `delete`s of properties the new object does not have, each
 *   a call into V8's runtime. That was 1.2 µs of the 2.2 µs a 1 KiB data message takes to decode,
 *   paid for every message received. Deleting only the fields the object holds itself leaves it
 *   in the same state.
 * - **Our own roots.** The generated code registers its namespaces (`gossip`, `msp`, ...) in
 *   `roots.default`, which in protobufjs is shared by the whole process: an application's own
 *   static protobuf module would find ours there, or replace them. Here it is a registry of ours.
 *
 * The application's protobufjs is left untouched: nothing here is assigned into it.
 */
const hasOwn = Object.prototype.hasOwnProperty;

function oneOfSetter(fieldNames: readonly string[]): (this: Record<string, unknown>, name: string) => void {
  return function setOneOf(this: Record<string, unknown>, name: string): void {
    for (let i = 0; i < fieldNames.length; i++) {
      const field = fieldNames[i]!;
      if (field !== name && hasOwn.call(this, field)) delete this[field];
    }
  };
}

const util: typeof protobuf.util = Object.create(protobuf.util, {
  oneOfSetter: { value: oneOfSetter, enumerable: true },
});

const runtime = {
  Reader: protobuf.Reader,
  Writer: protobuf.Writer,
  rpc: protobuf.rpc,
  util,
  roots: {} as Record<string, unknown>,
};

export default runtime;
