import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { encodeSignedTx, signTx } from '../../src/core/ledger/tx.ts'
import type { ChainParams, Genesis, TxBody } from '../../src/core/ledger/types.ts'

export const testParams: ChainParams = {
  minTxFee: 10,
  termMs: 365 * 24 * 3600 * 1000,
  graceMs: 30 * 24 * 3600 * 1000,
  namePrices: [100_000, 50_000, 10_000, 2_000, 1_000],
  subNamePrice: 100,
  providerTimeoutMs: 30_000
}

export interface TestChain { genesis: Genesis, alice: KeyPair, bob: KeyPair, validator: KeyPair }

export function testGenesis (params: ChainParams = testParams): TestChain {
  const alice = generateKeyPair()
  const bob = generateKeyPair()
  const validator = generateKeyPair()
  const genesis: Genesis = {
    chainId: 'keynet-test',
    time: 1_700_000_000_000,
    params,
    validators: [{ publicKey: validator.publicKey, power: 1, name: 'v0' }],
    accounts: [
      { address: addressOf(alice.publicKey), balance: 10_000_000 },
      { address: addressOf(bob.publicKey), balance: 100_000 }
    ]
  }
  return { genesis, alice, bob, validator }
}

export function tx (key: KeyPair, nonce: number, body: TxBody, fee = 10, chainId = 'keynet-test'): Uint8Array {
  return encodeSignedTx(signTx({ chainId, from: key.publicKey, nonce, fee, body }, key.secretKey))
}
