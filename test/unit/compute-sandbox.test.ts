import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Sandbox } from '../../src/services/compute/sandbox.ts'
import { InvalidModuleError, MemoryLimitError, UnsupportedImportError } from '../../src/core/compute/errors.ts'
import { buildExamples, irisLikeCsv } from '../../scripts/build-examples.ts'
import { command, wat } from './compute-wat.ts'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const MiB = 1024 * 1024

describe('compute sandbox', () => {
  const sandbox = new Sandbox()
  let hashModule: Uint8Array
  let trainModule: Uint8Array
  before(async () => {
    const built = await buildExamples()
    hashModule = readFileSync(built.hash)
    trainModule = readFileSync(built.train)
  })
  after(async () => { await sandbox.close() })

  it('runs the hash example: stdin in, SHA-256 hex out, equal to Node\'s for every padding case', async () => {
    for (const size of [0, 1, 55, 56, 63, 64, 65, 1000, MiB + 3]) {
      const input = Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff)
      const result = await sandbox.run({ module: hashModule, input })
      assert.equal(result.status, 'ok', result.message)
      assert.equal(result.exitCode, 0)
      assert.equal(text(result.output), `${createHash('sha256').update(input).digest('hex')}\n`)
    }
  })

  it('gives equal results the same CID and the same fuel on every run', async () => {
    const input = new TextEncoder().encode('replicas compare by hash')
    const a = await sandbox.run({ module: hashModule, input })
    const b = await sandbox.run({ module: hashModule, input })
    assert.ok(a.outputCid.equals(b.outputCid))
    assert.equal(a.fuelUsed, b.fuelUsed)
    assert.ok((a.fuelUsed ?? 0) > 0)
  })

  it('stops an endless loop by fuel, deterministically, and stays healthy', async () => {
    const loop = await command('(loop $l (br $l))')
    const first = await sandbox.run({ module: loop, input: new Uint8Array(0), timeoutMs: 20 })
    assert.equal(first.status, 'out-of-fuel')
    assert.match(first.message ?? '', /fuel/)
    const second = await sandbox.run({ module: loop, input: new Uint8Array(0), timeoutMs: 20 })
    assert.equal(second.fuelUsed, first.fuelUsed)
    const after = await sandbox.run({ module: hashModule, input: new Uint8Array(0) })
    assert.equal(after.status, 'ok')
  })

  it('reports a trap that is not fuel as a trap, and a non-zero exit as exit', async () => {
    const trap = await sandbox.run({ module: await command('unreachable'), input: new Uint8Array(0) })
    assert.equal(trap.status, 'trap')
    const exit = await sandbox.run({ module: await command('(call $exit (i32.const 7))'), input: new Uint8Array(0) })
    assert.equal(exit.status, 'exit')
    assert.equal(exit.exitCode, 7)
  })

  it('cuts output past the declared size and reports it', async () => {
    // An iovec at 0 pointing at 4096 bytes at 64, written forever.
    const flood = await command('(i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 4096)) (loop $l (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))')
    const result = await sandbox.run({ module: flood, input: new Uint8Array(0), maxOutputBytes: 10_000 })
    assert.equal(result.status, 'output-too-large')
    assert.equal(result.truncated, true)
    assert.equal(result.output.byteLength, 10_000)
  })

  it('refuses invalid modules and foreign imports before running', async () => {
    await assert.rejects(sandbox.run({ module: new TextEncoder().encode('not wasm at all'), input: new Uint8Array(0) }), InvalidModuleError)
    await assert.rejects(sandbox.run({ module: hashModule.subarray(0, hashModule.byteLength - 10), input: new Uint8Array(0) }), InvalidModuleError)
    const envImport = await wat('(module (import "env" "abort" (func)) (memory (export "memory") 1) (func (export "_start")))')
    await assert.rejects(sandbox.run({ module: envImport, input: new Uint8Array(0) }), (err: Error) => err instanceof UnsupportedImportError && /"env" "abort"/.test(err.message))
    const notWasi = await wat('(module (import "wasi_snapshot_preview1" "open_socket" (func)) (memory (export "memory") 1) (func (export "_start")))')
    await assert.rejects(sandbox.run({ module: notWasi, input: new Uint8Array(0) }), UnsupportedImportError)
    const importedMemory = await wat('(module (import "wasi_snapshot_preview1" "memory" (memory 1)) (export "memory" (memory 0)) (func (export "_start")))')
    await assert.rejects(sandbox.run({ module: importedMemory, input: new Uint8Array(0) }), /imports its memory/)
    const noStart = await wat('(module (memory (export "memory") 1))')
    await assert.rejects(sandbox.run({ module: noStart, input: new Uint8Array(0) }), /_start/)
  })

  it('holds the memory cap: a larger declared maximum is refused, growth past the cap fails inside the task', async () => {
    const big = await command('nop', '', '(memory (export "memory") 1 64)')
    await assert.rejects(sandbox.run({ module: big, input: new Uint8Array(0), memoryBytes: MiB }), MemoryLimitError)
    const bigStart = await command('nop', '', '(memory (export "memory") 17)')
    await assert.rejects(sandbox.run({ module: bigStart, input: new Uint8Array(0), memoryBytes: MiB }), MemoryLimitError)
    // No maximum: the cap (16 pages) becomes it; growing by 16 more fails (-1), by 15 works.
    const grow = await command('(call $exit (i32.add (i32.mul (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (i32.const 10)) (i32.ne (memory.grow (i32.const 15)) (i32.const -1))))')
    const result = await sandbox.run({ module: grow, input: new Uint8Array(0), memoryBytes: MiB })
    assert.equal(result.exitCode, 11)
    assert.equal(result.facts.memoryMaxPages, 16)
  })

  it('offers no filesystem but /state: paths out of it and other descriptors fail', async () => {
    const paths = '(data (i32.const 100) "../../../../etc/passwd") (data (i32.const 200) "/etc/passwd") (data (i32.const 300) "mine")'
    const open = (fd: number, at: number, length: number, oflags = 0): string => `(call $open (i32.const ${fd}) (i32.const 0) (i32.const ${at}) (i32.const ${length}) (i32.const ${oflags}) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0))`
    // Exit code: 1 if the escape through /state worked, 2 if an absolute path on a guessed
    // descriptor worked, 4 if creating a file in /state (the control) failed.
    const escape = await command(`(call $exit (i32.add (i32.add (i32.eqz ${open(3, 100, 22)}) (i32.mul (i32.eqz ${open(4, 200, 11)}) (i32.const 2))) (i32.mul (i32.ne ${open(3, 300, 4, 1)} (i32.const 0)) (i32.const 4))))`, paths)
    const result = await sandbox.run({ module: escape, input: new Uint8Array(0) })
    assert.equal(result.exitCode, 0)
  })

  it('resumes the training example from a checkpoint to the same model as an uninterrupted run', async () => {
    const input = new TextEncoder().encode(irisLikeCsv({ seed: 7, options: { steps: 600, 'checkpoint-every': 50 } }))
    const whole = await sandbox.run({ module: trainModule, input })
    assert.equal(whole.status, 'ok', whole.stderr)
    assert.match(text(whole.output), /^steps 600\n[\s\S]*model [0-9a-f]{64}\n$/)

    const controller = new AbortController()
    const seen: Uint8Array[] = []
    const cut = await sandbox.run({ module: trainModule, input, signal: controller.signal, onCheckpoint: bytes => { seen.push(bytes); if (seen.length === 2) controller.abort() } })
    assert.equal(cut.status, 'aborted')
    assert.ok(cut.checkpoint !== undefined && seen.length >= 2)
    const resumed = await sandbox.run({ module: trainModule, input, checkpoint: cut.checkpoint })
    assert.equal(resumed.status, 'ok', resumed.stderr)
    assert.ok(resumed.outputCid.equals(whole.outputCid), `${text(resumed.output)} ≠ ${text(whole.output)}`)
    assert.ok((resumed.fuelUsed ?? 0) < (whole.fuelUsed ?? 0), 'the resumed run did less work')
  })
})
