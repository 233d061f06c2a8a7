/**
 * Operating errors of block storage and block transfer, one class per condition, matched by
 * `.name`. A block whose bytes do not hash to its CID is core/content's `BlockMismatchError`.
 */
import { UnavailableError, errorWithStatus } from '../../foundations/errors.ts'

/** A put would take the store past its capacity (or its pin list past `maxPins`). */
export class StorageFullError extends errorWithStatus(507) {}

/** A placement receipt does not verify: bad signature, wrong node, or malformed. */
export class ReceiptInvalidError extends errorWithStatus(422) {}

/** No provider of a fetcher could deliver a block; the message says what each one did. */
export class ContentUnavailableError extends errorWithStatus(503) {}

/**
 * A node's HTTP block endpoint could not be connected to at all (refused, no route, timed out):
 * the endpoint is wrong or closed, which says nothing about the node itself. The fetcher asks
 * that node over libp2p instead.
 */
export class HttpEndpointUnreachableError extends UnavailableError {}
