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

function kind (status: number) {
  return class extends KeynetError {
    override readonly status = status
  }
}

export class MalformedMessageError extends kind(400) {}
export class InvalidNameError extends kind(400) {}
export class NameTakenError extends kind(409) {}
export class NameNotFoundError extends kind(404) {}
export class NameExpiredError extends kind(410) {}
export class NotOwnerError extends kind(403) {}
export class InvalidSignatureError extends kind(401) {}
export class WrongChainError extends kind(400) {}
export class BadNonceError extends kind(409) {}
export class InsufficientFundsError extends kind(402) {}
export class FeeTooLowError extends kind(400) {}
export class RecordTooLargeError extends kind(413) {}
export class PayloadTooLargeError extends kind(413) {}
export class InvalidTransactionError extends kind(400) {}
export class MempoolFullError extends kind(503) {}
export class NotFoundError extends kind(404) {}
export class ProofInvalidError extends kind(422) {}
export class KeystoreError extends kind(400) {}
export class UnavailableError extends kind(503) {}
export class TimeoutError extends kind(504) {}

/** Plain-data form of an error, as the API sends it. */
export interface ErrorBody { error: { name: string, message: string } }

export function errorBody (err: unknown): ErrorBody {
  if (err instanceof Error) return { error: { name: err.name, message: err.message } }
  return { error: { name: 'Error', message: String(err) } }
}
