/**
 * Operating errors of the HTTP gateway and its edge cache; each maps to the HTTP status the
 * gateway answers with.
 */
import { errorWithStatus } from '../../foundations/errors.ts'

/** A name exists but has no content record yet, so there is nothing to serve (404). */
export class NoContentError extends errorWithStatus(404) {
  /** The canonical name that has no content record. */
  readonly keyName: string
  constructor (name: string) {
    super(`name ${name} has no content record: publish with keynet publish <folder> --name ${name}`)
    this.keyName = name
  }
}

/** The request used a method the gateway does not serve (405; the answer lists `Allow`). */
export class MethodNotAllowedError extends errorWithStatus(405) {}

/** The gateway is serving its maximum number of requests; retry shortly (503). */
export class GatewayBusyError extends errorWithStatus(503) {}

/** A request body of a type the route does not take (415). */
export class UnsupportedMediaTypeError extends errorWithStatus(415) {}
