/**
 * The recovery phrase of an identity: its 32-byte ed25519 seed written as 24 BIP-39 English words
 * (the seed is the BIP-39 entropy, with its checksum word), so the key can be restored exactly
 * from paper. Anyone holding the phrase holds the key: it is shown once, at creation.
 */
import { entropyToMnemonic, mnemonicToEntropy, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { KeystoreError } from '../../foundations/errors.ts'

export function recoveryPhrase (secretKey: Uint8Array): string {
  return entropyToMnemonic(secretKey, wordlist)
}

/** The secret key a phrase encodes; throws `KeystoreError` for a phrase with an unknown word or a wrong checksum. */
export function secretFromPhrase (phrase: string): Uint8Array {
  const words = phrase.trim().toLowerCase().split(/\s+/)
  if (words.length !== 24) throw new KeystoreError(`a recovery phrase has 24 words; this one has ${words.length}`)
  const normalised = words.join(' ')
  if (!validateMnemonic(normalised, wordlist)) throw new KeystoreError('the recovery phrase has a word outside the BIP-39 English list or a wrong checksum; check each word')
  return mnemonicToEntropy(normalised, wordlist)
}
