/**
 * Operating errors: one class per condition, each with a stable `name` that the HTTP API
 * (`{ error: { name, message } }`) and the CLI pass through unchanged. Broken invariants use
 * `assert` instead and are never caught.
 */
export class KeynetError extends Error {
  /** HTTP status the API answers with. */
  readonly status: number = 400
  constructor (message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** A base class for one kind of operating error, answered with `status` by the API. */
export function errorWithStatus (status: number) {
  return class extends KeynetError {
    override readonly status = status
  }
}

export class MalformedMessageError extends errorWithStatus(400) {}
export class InvalidNameError extends errorWithStatus(400) {}
export class NameTakenError extends errorWithStatus(409) {}
export class NameNotFoundError extends errorWithStatus(404) {}
export class NameExpiredError extends errorWithStatus(410) {}
export class NotOwnerError extends errorWithStatus(403) {}
export class InvalidSignatureError extends errorWithStatus(401) {}
export class WrongChainError extends errorWithStatus(400) {}
export class BadNonceError extends errorWithStatus(409) {}
export class InsufficientFundsError extends errorWithStatus(402) {}
export class FeeTooLowError extends errorWithStatus(400) {}
export class RecordTooLargeError extends errorWithStatus(413) {}
export class PayloadTooLargeError extends errorWithStatus(413) {}
export class InvalidTransactionError extends errorWithStatus(400) {}
export class MempoolFullError extends errorWithStatus(503) {}
export class NotFoundError extends errorWithStatus(404) {}
export class ProofInvalidError extends errorWithStatus(422) {}
export class KeystoreError extends errorWithStatus(400) {}
export class UnavailableError extends errorWithStatus(503) {}
export class TimeoutError extends errorWithStatus(504) {}

/** Plain-data form of an error, as the API sends it. */
export interface ErrorBody { error: { name: string, message: string } }

export function errorBody (err: unknown): ErrorBody {
  if (err instanceof Error) return { error: { name: err.name, message: err.message } }
  return { error: { name: 'Error', message: String(err) } }
}
