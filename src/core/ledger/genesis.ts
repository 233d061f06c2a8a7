import { fromHex, toHex } from '../../foundations/bytes.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import type { ChainParams, Genesis } from './types.ts'

/** Chain parameters of a local development network: real rules, short enough to watch. */
export const devnetParams: ChainParams = {
  minTxFee: 10,
  termMs: 365 * 24 * 3600 * 1000,
  graceMs: 30 * 24 * 3600 * 1000,
  namePrices: [1_000_000, 500_000, 100_000, 20_000, 5_000],
  subNamePrice: 100,
  providerTimeoutMs: 30_000,
  settlementPeriodMs: 30_000
}

/** Shortest settlement period a chain may set: auditors need a beacon, a round trip and a commit inside one period. */
const minSettlementPeriodMs = 1000

/** A provider silent this long may be replaced, unless the genesis says otherwise. */
const defaultProviderTimeoutMs = 10 * 60_000

/** The genesis document as JSON (bytes as hex), the file operators share to start a network. */
export function genesisToJson (g: Genesis): string {
  return JSON.stringify({
    chainId: g.chainId,
    time: g.time,
    params: g.params,
    validators: g.validators.map(v => ({ name: v.name, publicKey: toHex(v.publicKey), power: v.power })),
    accounts: g.accounts.map(a => ({ address: toHex(a.address), balance: a.balance }))
  }, null, 2)
}

export function genesisFromJson (text: string): Genesis {
  let raw: Record<string, unknown>
  try {
    raw = shape.record(JSON.parse(text), 'genesis')
  } catch (err) {
    throw new MalformedMessageError(`genesis file is not valid: ${(err as Error).message}`)
  }
  const p = shape.record(raw.params, 'genesis.params')
  const params: ChainParams = {
    minTxFee: shape.uint(p.minTxFee, 'params.minTxFee'),
    termMs: shape.uint(p.termMs, 'params.termMs'),
    graceMs: shape.uint(p.graceMs, 'params.graceMs'),
    namePrices: shape.list(p.namePrices, 'params.namePrices', 16).map(x => shape.uint(x, 'params.namePrices[]')),
    subNamePrice: shape.uint(p.subNamePrice, 'params.subNamePrice'),
    providerTimeoutMs: p.providerTimeoutMs === undefined ? defaultProviderTimeoutMs : shape.uint(p.providerTimeoutMs, 'params.providerTimeoutMs')
  }
  if (p.settlementPeriodMs !== undefined) {
    params.settlementPeriodMs = shape.uint(p.settlementPeriodMs, 'params.settlementPeriodMs')
    if (params.settlementPeriodMs < minSettlementPeriodMs) throw new MalformedMessageError(`params.settlementPeriodMs must be at least ${minSettlementPeriodMs}`)
  }
  const hex = (v: unknown, field: string, length: number): Uint8Array => {
    try { return shape.bytes(fromHex(shape.str(v, field, 128)), field, length) } catch { throw new MalformedMessageError(`${field} must be ${length} bytes of hex`) }
  }
  const validators = shape.list(raw.validators, 'genesis.validators', 1000).map((v, i) => {
    const r = shape.record(v, `validators[${i}]`)
    return { name: shape.str(r.name, 'validator name', 64), publicKey: hex(r.publicKey, 'validator publicKey', 32), power: shape.uint(r.power, 'validator power') }
  })
  if (validators.length === 0) throw new MalformedMessageError('genesis needs at least one validator')
  return {
    chainId: shape.str(raw.chainId, 'genesis.chainId', 64),
    time: shape.uint(raw.time, 'genesis.time'),
    params,
    validators,
    accounts: shape.list(raw.accounts, 'genesis.accounts', 100_000).map((a, i) => {
      const r = shape.record(a, `accounts[${i}]`)
      return { address: hex(r.address, 'account address', 20), balance: shape.uint(r.balance, 'account balance') }
    })
  }
}
