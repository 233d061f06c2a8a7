import { toHex, utf8 } from '../../foundations/bytes.ts'

/**
 * Keys of the ledger's state map. Each kind of entry has a prefix so a proof names what it proves;
 * keys are readable text so an operator can inspect the store.
 */
export const stateKey = {
  account: (address: Uint8Array): Uint8Array => utf8.encode(`acct/${toHex(address)}`),
  name: (name: string): Uint8Array => utf8.encode(`name/${name}`),
  evidence: (id: Uint8Array): Uint8Array => utf8.encode(`evidence/${toHex(id)}`)
}
