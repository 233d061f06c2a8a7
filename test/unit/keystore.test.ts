import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { toHex } from '../../src/foundations/bytes.ts'
import { Keystore } from '../../src/services/keystore/keystore.ts'

describe('keystore', () => {
  const home = mkdtempSync(join(tmpdir(), 'keynet-keystore-'))
  after(() => rmSync(home, { recursive: true, force: true }))
  const store = new Keystore(home)

  it('creates an encrypted identity that only its passphrase unlocks', () => {
    const created = store.create('alice', 'correct horse battery')
    const file = readFileSync(join(store.dir, 'alice.json'), 'utf8')
    assert.equal(file.includes(toHex(created.keyPair.secretKey)), false, 'the secret is not stored in clear')
    assert.equal(statSync(join(store.dir, 'alice.json')).mode & 0o077, 0, 'only the owner may read it')
    const unlocked = store.unlock('alice', 'correct horse battery')
    assert.deepEqual(unlocked.keyPair.secretKey, created.keyPair.secretKey)
    assert.deepEqual(store.describe('alice').address, created.address)
    assert.deepEqual(store.list(), ['alice'])
  })

  it('refuses a wrong passphrase, a weak passphrase, a bad name, overwriting, and a missing identity', () => {
    assert.throws(() => store.unlock('alice', 'wrong passphrase'), { name: 'KeystoreError', message: /wrong passphrase/ })
    assert.throws(() => store.create('bob', 'short'), { name: 'KeystoreError' })
    assert.throws(() => store.create('Bad Name', 'long enough pass'), { name: 'KeystoreError' })
    assert.throws(() => store.create('alice', 'another long pass'), { name: 'KeystoreError', message: /already exists/ })
    assert.throws(() => store.unlock('nobody', 'whatever pass'), { name: 'KeystoreError', message: /keynet init/ })
  })
})
