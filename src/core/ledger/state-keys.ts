import { toHex } from '../../foundations/bytes.ts'

/**
 * Keys of the ledger's state map. Each kind of entry has a prefix so a proof names what it proves;
 * keys are readable text so an operator can inspect the store (the map stores their UTF-8 bytes).
 */
export const stateKey = {
  account: (address: Uint8Array): string => `acct/${toHex(address)}`,
  name: (name: string): string => `name/${name}`,
  evidence: (id: Uint8Array): string => `evidence/${toHex(id)}`,
  provider: (address: Uint8Array): string => `provider/${toHex(address)}`,
  /** The list of registered provider addresses (the map has no prefix scan). */
  providerIndex: 'provider-index',
  pin: (cid: string): string => `pin/${cid}`
}
