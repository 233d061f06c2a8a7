/**
 * Operating errors of the p2p host, one class per condition, matched by `.name`. Size and
 * deadline failures reuse the foundation classes (`PayloadTooLargeError`, `TimeoutError`).
 */
import { errorWithStatus } from '../../foundations/errors.ts'

/** The host is not started (or already stopped). */
export class HostNotStartedError extends errorWithStatus(503) {}

/** No connection to the peer could be opened. */
export class PeerUnreachableError extends errorWithStatus(503) {}

/** The peer refuses or does not serve the requested protocol. */
export class ProtocolUnsupportedError extends errorWithStatus(501) {}

/** The peer is banned after repeated offences; no traffic is exchanged with it until the ban ends. */
export class PeerBannedError extends errorWithStatus(403) {}

/** The remote handler failed; `remoteName` is the error name it reported. */
export class RemoteHandlerError extends errorWithStatus(502) {
  readonly remoteName: string
  constructor (message: string, remoteName: string) {
    super(message)
    this.remoteName = remoteName
  }
}

/** The peer broke the request/response framing (bad length prefix, truncated or oversized frame). */
export class ProtocolViolationError extends errorWithStatus(502) {}

/** The caller's signal aborted the operation. */
export class AbortedError extends errorWithStatus(499) {}

/** A multiaddr given in the configuration cannot be used. */
export class InvalidAddressError extends errorWithStatus(400) {}

/** The stream broke (reset or closed) before a complete response arrived. */
export class StreamFailedError extends errorWithStatus(502) {}
