import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { utf8 } from '../../src/foundations/bytes.ts'
import { LedgerStore } from '../../src/services/store/ledger-store.ts'

describe('ledger store', () => {
  it('writes a block of many transactions and state rows (several multi-row statements and a remainder) and reads them back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keynet-store-'))
    try {
      const store = new LedgerStore(join(dir, 'ledger.db'))
      const key = (i: number): Uint8Array => utf8.encode(`k${i}`)
      const id = (i: number): Uint8Array => { const b = new Uint8Array(32); b[0] = i & 255; b[1] = i >> 8; return b }
      const block = (height: number): { height: number, hash: Uint8Array, block: Uint8Array, certificate: Uint8Array } => ({ height, hash: new Uint8Array(32).fill(height), block: new Uint8Array([height]), certificate: new Uint8Array([1]) })
      const txs = Array.from({ length: 150 }, (_, i) => i % 7 === 0 ? { id: id(i), index: i, error: { name: 'NameTakenError', message: 'taken' } } : { id: id(i), index: i })
      store.commitBlock(block(1), Array.from({ length: 200 }, (_, i) => ({ key: key(i), value: new Uint8Array([i & 255]) })), txs)
      store.commitBlock(block(2), [{ key: key(5), value: undefined }, { key: key(6), value: new Uint8Array([99]) }], [])
      const state = new Map([...store.stateEntries()].map(([k, v]) => [utf8.decode(k), v]))
      assert.equal(state.size, 199)
      assert.equal(state.has('k5'), false)
      assert.deepEqual(state.get('k6'), new Uint8Array([99]))
      assert.deepEqual(state.get('k199'), new Uint8Array([199]))
      for (const t of txs) assert.deepEqual(store.tx(t.id), { height: 1, index: t.index, ...(t.error === undefined ? {} : { error: t.error }) })
      assert.equal(store.height(), 2)
      store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
