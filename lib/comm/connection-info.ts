/**
 * Who is at the other end of a connection, as proven by its handshake (Fabric's ConnectionInfo).
 */
export interface ConnectionInfo {
  /** The remote's PKI-ID: SHA-256(mspid || certificate PEM) with the default mapper. */
  readonly pkiId: Buffer;
  /** The remote's marshalled msp.SerializedIdentity. */
  readonly identity: Uint8Array;
  /** host:port as dialed (outbound) or the remote socket address (inbound). */
  readonly endpoint: string;
  /** What authenticated the remote (Fabric's AuthInfo) and the TLS certificate it presented. */
  readonly auth: {
    readonly signedData: Uint8Array;
    readonly signature: Uint8Array;
    readonly tlsCertificate?: Buffer;
  };
}

/** A peer to reach: where it listens and, if known, who it must be (Fabric's RemotePeer). */
export interface RemotePeer {
  readonly endpoint: string;
  readonly pkiId?: Uint8Array;
}
