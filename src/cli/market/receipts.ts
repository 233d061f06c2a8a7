/** Usage receipts as the CLI passes them from a client to a provider: JSON with hex bytes. */
import { fromHex, toHex } from '../../foundations/bytes.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import type { SignedReceipt } from '../../core/ledger/market/types.ts'

/** A receipt in JSON: `{ dealId, provider, count, client, sig }`, addresses and keys in hex. */
export interface ReceiptJson {
  dealId: string
  provider: string
  count: number
  client: string
  sig: string
}

export function receiptToJson (r: SignedReceipt): ReceiptJson {
  return { dealId: r.dealId, provider: toHex(r.provider), count: r.count, client: toHex(r.client), sig: toHex(r.sig) }
}

/** Parses a receipt printed by `keynet deal receipt` (the ledger checks its signature and count). */
export function receiptFromJson (text: string): SignedReceipt {
  let v: Partial<ReceiptJson>
  try { v = JSON.parse(text) as Partial<ReceiptJson> } catch { throw new MalformedMessageError('the receipt is not JSON: pass what `keynet deal receipt` printed') }
  const hex = (s: unknown, field: string, bytes: number): Uint8Array => {
    if (typeof s !== 'string' || !new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(s)) throw new MalformedMessageError(`receipt ${field} must be ${bytes} bytes of hex`)
    return fromHex(s)
  }
  if (typeof v.dealId !== 'string') throw new MalformedMessageError('receipt dealId must be a string')
  if (typeof v.count !== 'number' || !Number.isSafeInteger(v.count) || v.count < 0) throw new MalformedMessageError('receipt count must be a whole number')
  return { dealId: v.dealId, provider: hex(v.provider, 'provider', 20), count: v.count, client: hex(v.client, 'client', 32), sig: hex(v.sig, 'sig', 64) }
}
