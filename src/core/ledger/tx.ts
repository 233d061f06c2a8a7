import { toHex } from '../../foundations/bytes.ts'
import { addressOf, signBytes, verifyBytes } from '../../foundations/crypto.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import { InvalidSignatureError, MalformedMessageError, PayloadTooLargeError } from '../../foundations/errors.ts'
import { sha256 } from '../../foundations/hash.ts'
import { maxPinHolders, maxTxBytes } from '../../foundations/limits.ts'
import * as shape from '../../foundations/shape.ts'
import { checkAddrs, checkCidString, checkHolders, checkKinds, checkRegion } from './providers.ts'
import { checkRecordsShape } from './records.ts'
import { checkMarketBody, isMarketTxType } from './market/decode.ts'
import type { SignedTx, Tx, TxBody } from './types.ts'

const txDomain = 'keynet-tx-v1'

/** The bytes a sender signs: domain-separated canonical encoding of the transaction. */
export function txSignBytes (tx: Tx): Uint8Array {
  return encode([txDomain, tx])
}

export function signTx (tx: Tx, secretKey: Uint8Array): SignedTx {
  return { tx, sig: signBytes(secretKey, txSignBytes(tx)) }
}

export function encodeSignedTx (signed: SignedTx): Uint8Array {
  return encode(signed)
}

/** Transaction id: SHA-256 of its encoded signed form. */
export function txId (encoded: Uint8Array): Uint8Array {
  return sha256(encoded)
}

// A transaction's bytes and key objects travel unchanged from the API or gossip through the
// mempool into blocks, so their derived values are computed once and kept beside them.
const idCache = new WeakMap<Uint8Array, string>()
const senderCache = new WeakMap<Uint8Array, Uint8Array>()

/** `txId` as hex, computed once per bytes object. */
export function txIdHex (encoded: Uint8Array): string {
  let id = idCache.get(encoded)
  if (id === undefined) {
    id = toHex(sha256(encoded))
    idCache.set(encoded, id)
  }
  return id
}

/** The sender's address (hash of its key), computed once per key object. */
export function senderOf (tx: Tx): Uint8Array {
  let address = senderCache.get(tx.from)
  if (address === undefined) {
    address = addressOf(tx.from)
    senderCache.set(tx.from, address)
  }
  return address
}

/** Decodes and shape-checks a transaction; the signature is checked by `verifyTxSignature`. */
export function decodeSignedTx (encoded: Uint8Array): SignedTx {
  if (encoded.byteLength > maxTxBytes) throw new PayloadTooLargeError(`transaction is ${encoded.byteLength} bytes; the limit is ${maxTxBytes}`)
  const raw = shape.record(decode(encoded), 'transaction')
  shape.onlyKeys(raw, 'transaction', ['tx', 'sig'])
  const t = shape.record(raw.tx, 'tx')
  shape.onlyKeys(t, 'tx', ['chainId', 'from', 'nonce', 'fee', 'body'])
  const tx: Tx = {
    chainId: shape.str(t.chainId, 'tx.chainId', 64),
    from: shape.bytes(t.from, 'tx.from', 32),
    nonce: shape.uint(t.nonce, 'tx.nonce'),
    fee: shape.uint(t.fee, 'tx.fee'),
    body: checkBody(t.body)
  }
  return { tx, sig: shape.bytes(raw.sig, 'sig', 64) }
}

export function verifyTxSignature (signed: SignedTx): void {
  if (!verifyBytes(signed.tx.from, txSignBytes(signed.tx), signed.sig)) {
    throw new InvalidSignatureError('transaction signature does not match its sender key')
  }
}

function checkBody (v: unknown): TxBody {
  const b = shape.record(v, 'tx.body')
  const type = shape.str(b.type, 'tx.body.type', 32)
  const name = (): string => shape.str(b.name, 'tx.body.name', 1024)
  switch (type) {
    case 'transfer':
      shape.onlyKeys(b, 'transfer', ['type', 'to', 'amount'])
      return { type, to: shape.bytes(b.to, 'to', 20), amount: shape.uint(b.amount, 'amount') }
    case 'name-register': {
      shape.onlyKeys(b, 'name-register', ['type', 'name', 'owner', 'terms', 'records'])
      const body: TxBody = { type, name: name(), terms: shape.uint(b.terms, 'terms') }
      const owner = shape.optional(b.owner, o => shape.bytes(o, 'owner', 20))
      if (owner !== undefined) body.owner = owner
      if (b.records !== undefined) body.records = checkRecordsShape(b.records)
      return body
    }
    case 'name-update': {
      shape.onlyKeys(b, 'name-update', ['type', 'name', 'records', 'ifVersion'])
      const body: TxBody = { type, name: name(), records: checkRecordsShape(b.records) }
      const ifVersion = shape.optional(b.ifVersion, v => shape.uint(v, 'ifVersion'))
      if (ifVersion !== undefined) body.ifVersion = ifVersion
      return body
    }
    case 'name-transfer':
      shape.onlyKeys(b, 'name-transfer', ['type', 'name', 'to'])
      return { type, name: name(), to: shape.bytes(b.to, 'to', 20) }
    case 'name-renew':
      shape.onlyKeys(b, 'name-renew', ['type', 'name', 'terms'])
      return { type, name: name(), terms: shape.uint(b.terms, 'terms') }
    case 'provider-register': {
      shape.onlyKeys(b, 'provider-register', ['type', 'operatorKey', 'endorsement', 'region', 'capacityBytes', 'addrs', 'kinds', 'memoryBytes'])
      const body: TxBody = {
        type,
        operatorKey: shape.bytes(b.operatorKey, 'operatorKey', 32),
        endorsement: shape.bytes(b.endorsement, 'endorsement', 64),
        region: checkRegion(b.region),
        capacityBytes: shape.uint(b.capacityBytes, 'capacityBytes'),
        addrs: checkAddrs(b.addrs)
      }
      if (b.kinds !== undefined) body.kinds = checkKinds(b.kinds)
      if (b.memoryBytes !== undefined) body.memoryBytes = shape.uint(b.memoryBytes, 'memoryBytes')
      return body
    }
    case 'provider-heartbeat': {
      shape.onlyKeys(b, 'provider-heartbeat', ['type', 'addrs'])
      const addrs = shape.optional(b.addrs, checkAddrs)
      return addrs === undefined ? { type } : { type, addrs }
    }
    case 'content-pin': {
      shape.onlyKeys(b, 'content-pin', ['type', 'cid', 'replicas', 'regions', 'holders', 'name'])
      const body: TxBody = {
        type,
        cid: checkCidString(b.cid, 'cid'),
        replicas: policyCount(b.replicas, 'replicas'),
        regions: policyCount(b.regions, 'regions'),
        holders: checkHolders(b.holders)
      }
      if (b.name !== undefined) body.name = name()
      return body
    }
    case 'content-unpin':
      shape.onlyKeys(b, 'content-unpin', ['type', 'cid'])
      return { type, cid: checkCidString(b.cid, 'cid') }
    case 'pin-repair':
      shape.onlyKeys(b, 'pin-repair', ['type', 'cid', 'gone', 'replacement'])
      return { type, cid: checkCidString(b.cid, 'cid'), gone: shape.bytes(b.gone, 'gone', 20), replacement: shape.bytes(b.replacement, 'replacement', 20) }
    default:
      if (isMarketTxType(type)) return checkMarketBody(type, b)
      throw new MalformedMessageError(`unknown transaction type "${type}"`)
  }
}

function policyCount (v: unknown, field: string): number {
  const n = shape.uint(v, field)
  if (n < 1 || n > maxPinHolders) throw new MalformedMessageError(`${field} must be 1..${maxPinHolders}`)
  return n
}
