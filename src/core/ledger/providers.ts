/**
 * The provider registry and pins as the ledger keeps them: reading and writing their entries,
 * the operator's endorsement of a node, and when a provider counts as live.
 */
import { toHex } from '../../foundations/bytes.ts'
import { addressOf, signBytes, verifyBytes } from '../../foundations/crypto.ts'
import { encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxPinHolders, maxProviderAddrChars, maxProviderAddrs } from '../../foundations/limits.ts'
import * as shape from '../../foundations/shape.ts'
import { stateKey } from './state-keys.ts'
import type { StateView } from './state.ts'
import { providerKinds, type ChainParams, type PinEntry, type ProviderEntry, type ProviderKind } from './types.ts'

const endorsementDomain = 'keynet-provider-endorsement-v1'

/** What an operator signs to vouch for one node on one chain. */
export function endorsementBytes (chainId: string, nodeAddress: Uint8Array): Uint8Array {
  return encode([endorsementDomain, chainId, nodeAddress])
}

/** The operator's endorsement of a node key (given as its public key). */
export function endorseProvider (operatorSecretKey: Uint8Array, chainId: string, nodePublicKey: Uint8Array): Uint8Array {
  return signBytes(operatorSecretKey, endorsementBytes(chainId, addressOf(nodePublicKey)))
}

export function verifyEndorsement (operatorKey: Uint8Array, endorsement: Uint8Array, chainId: string, nodeAddress: Uint8Array): boolean {
  return verifyBytes(operatorKey, endorsementBytes(chainId, nodeAddress), endorsement)
}

export function getProvider (state: StateView, address: Uint8Array): ProviderEntry | undefined {
  return state.entry<ProviderEntry>(stateKey.provider(address))
}

/** Registered provider addresses, oldest registration first. */
export function providerIndex (state: StateView): Uint8Array[] {
  return state.entry<Uint8Array[]>(stateKey.providerIndex) ?? []
}

export function getPin (state: StateView, cid: string): PinEntry | undefined {
  return state.entry<PinEntry>(stateKey.pin(cid))
}

/** Whether the provider sent a registration or heartbeat within the chain's provider timeout. */
export function isProviderLive (p: ProviderEntry, now: number, params: ChainParams): boolean {
  return now - p.lastSeen <= params.providerTimeoutMs
}

export function checkRegion (v: unknown): string {
  const region = shape.str(v, 'region', 32)
  if (!/^[a-z0-9][a-z0-9-]*$/.test(region)) throw new MalformedMessageError(`region "${region}" must be lower-case letters, digits and dashes, e.g. eu-west`)
  return region
}

export function checkAddrs (v: unknown): string[] {
  return shape.list(v, 'addrs', maxProviderAddrs).map((a, i) => {
    const addr = shape.str(a, `addrs[${i}]`, maxProviderAddrChars)
    if (!addr.startsWith('/')) throw new MalformedMessageError(`addrs[${i}] must be a multiaddr such as /ip4/1.2.3.4/tcp/7701`)
    return addr
  })
}

export function checkKinds (v: unknown): ProviderKind[] {
  const kinds = shape.list(v, 'kinds', providerKinds.length).map(k => shape.str(k, 'kinds[]', 16))
  for (const k of kinds) if (!(providerKinds as readonly string[]).includes(k)) throw new MalformedMessageError(`kind "${k}" is not one of ${providerKinds.join(', ')}`)
  if (kinds.length === 0 || new Set(kinds).size !== kinds.length) throw new MalformedMessageError('kinds must list distinct kinds, at least one')
  return kinds as ProviderKind[]
}

/** What the provider offers (storage for entries registered before kinds existed). */
export function kindsOf (p: ProviderEntry): ProviderKind[] {
  return p.kinds ?? ['storage']
}

export function checkCidString (v: unknown, field: string): string {
  const cid = shape.str(v, field, 128)
  if (!/^b[a-z2-7]+$/.test(cid)) throw new MalformedMessageError(`${field} must be a CIDv1 in base32 (starting with "b")`)
  return cid
}

export function checkHolders (v: unknown): Uint8Array[] {
  const holders = shape.list(v, 'holders', maxPinHolders).map((h, i) => shape.bytes(h, `holders[${i}]`, 20))
  if (holders.length === 0) throw new MalformedMessageError('holders must name at least one provider')
  if (new Set(holders.map(toHex)).size !== holders.length) throw new MalformedMessageError('holders must be distinct providers')
  return holders
}
