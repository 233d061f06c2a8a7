import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import { Keystore } from '../../src/services/keystore/keystore.ts'
import { recoveryPhrase, secretFromPhrase } from '../../src/services/keystore/recovery-phrase.ts'

describe('recovery phrase of a keystore identity', () => {
  it('24 BIP-39 words restore the same key', () => {
    const key = generateKeyPair()
    const phrase = recoveryPhrase(key.secretKey)
    assert.equal(phrase.split(' ').length, 24)
    assert.deepEqual(secretFromPhrase(`  ${phrase.toUpperCase()} `), key.secretKey)
    const home = mkdtempSync(join(tmpdir(), 'keynet-phrase-'))
    try {
      const store = new Keystore(home)
      const restored = store.create('default', 'a long passphrase', secretFromPhrase(phrase))
      assert.deepEqual(restored.keyPair.publicKey, key.publicKey)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })

  it('an unknown word or a short phrase is refused with a clear error', () => {
    const words = recoveryPhrase(generateKeyPair().secretKey).split(' ')
    assert.throws(() => secretFromPhrase(words.slice(0, 12).join(' ')), { name: 'KeystoreError', message: /24 words/ })
    assert.throws(() => secretFromPhrase([...words.slice(0, 23), 'notaword'].join(' ')), { name: 'KeystoreError', message: /checksum|outside/ })
  })
})
