/** Operating errors of the market rules, each with a stable name the API and CLI pass through. */
import { errorWithStatus } from '../../foundations/errors.ts'

/** An offer with a price or capacity outside the rules (negative, zero, absurd, gouging). */
export class InvalidOfferError extends errorWithStatus(400) {}
/** A deal whose escrow does not cover its price for every period. */
export class InsufficientEscrowError extends errorWithStatus(402) {}
/** A deal whose providers do not meet its replica policy or the operator cap. */
export class PolicyNotMetError extends errorWithStatus(409) {}
/** A result, answer or settlement sent by a party the rules do not allow. */
export class NotAuthorisedError extends errorWithStatus(403) {}
/** A receipt, result or settlement that was already applied. */
export class ReplayedError extends errorWithStatus(409) {}
/** An answer or result that arrived after its deadline, or a settlement before its period closed. */
export class OutOfWindowError extends errorWithStatus(409) {}
/** An audit answer whose block or Merkle path does not prove the challenged index. */
export class WrongProofError extends errorWithStatus(422) {}
/** An operator without enough stake for what it tries. */
export class InsufficientStakeError extends errorWithStatus(402) {}
/** A usage receipt counting more than its deal could ever pay for. */
export class ReceiptOverCapError extends errorWithStatus(422) {}
