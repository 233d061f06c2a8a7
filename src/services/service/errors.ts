/**
 * Operating errors of service nodes, one class per condition, matched by `.name`. A service node
 * answers most of them to the caller as an HTTP status with a JSON body
 * `{ error: { name, message } }`; bind refusals travel back as the bind protocol's error.
 * Oversized bodies reuse `PayloadTooLargeError` (413), a wrong owner `NotOwnerError` (403) and a
 * bad signature `InvalidSignatureError` (401) from the foundations.
 */
import { errorWithStatus } from '../../foundations/errors.ts'

/** No binding on this node serves the name and path. */
export class ServiceNotBoundError extends errorWithStatus(404) {}

/** The request head is larger than the node accepts. */
export class HeadersTooLargeError extends errorWithStatus(431) {}

/** The method cannot be forwarded (CONNECT, TRACE, TRACK). */
export class MethodNotAllowedError extends errorWithStatus(405) {}

/** The backend could not be reached (refused, unresolvable, reset) or sent an unusable answer. */
export class BackendUnreachableError extends errorWithStatus(502) {}

/** The backend made no progress within the node's deadline. */
export class BackendTimeoutError extends errorWithStatus(504) {}

/** The caller stopped sending its request body for longer than the node waits. */
export class RequestTimeoutError extends errorWithStatus(408) {}

/** The node is forwarding as many requests as it allows; retry later or elsewhere. */
export class ServiceBusyError extends errorWithStatus(503) {}

/** A signed bind or unbind is outside the accepted clock skew, or older than a change already made. */
export class StaleRequestError extends errorWithStatus(401) {}

/** The node holds as many bindings as it allows (in total or for this name). */
export class TooManyBindingsError extends errorWithStatus(409) {}

/** The node's operator does not allow this backend URL. */
export class BackendNotAllowedError extends errorWithStatus(403) {}

/** A response body broke off before its end: what arrived is not the whole answer. */
export class ResponseCutOffError extends errorWithStatus(502) {}
