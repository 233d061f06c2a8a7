import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cidForBlock, rawCode } from '../../src/core/content/cid.ts'
import { FaultLog, type Fault } from '../../src/services/content/fault-log.ts'

async function logPath (t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keynet-faultlog-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  return join(dir, 'faults.jsonl')
}

const cid = cidForBlock(rawCode, new Uint8Array([1, 2, 3]))
const fault = (provider: string, kind: Fault['kind'], detail?: string): Fault => ({ provider, cid, kind, ...(detail === undefined ? {} : { detail }) })

test('faults are appended as JSON lines, counted per provider, and reloaded', async (t) => {
  const path = await logPath(t)
  let now = 1000
  const log = new FaultLog(path, { clock: { now: () => now++ } })
  log.append(fault('A', 'wrong-block', 'BlockMismatchError: bad'))
  log.append(fault('B', 'stall'))
  log.append(fault('A', 'unreachable'))
  await log.flush()
  const lines = (await readFile(path, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as unknown)
  assert.deepEqual(lines[0], { time: 1000, provider: 'A', cid: cid.toString(), kind: 'wrong-block', detail: 'BlockMismatchError: bad' })
  assert.equal(lines.length, 3)
  assert.deepEqual(log.recent(2).map(e => [e.provider, e.kind]), [['A', 'unreachable'], ['B', 'stall']])
  assert.deepEqual(log.recent(0), [])
  const counts = log.countsByProvider()
  assert.equal(counts.get('A')?.total, 2)
  assert.deepEqual(counts.get('A')?.byKind, { 'wrong-block': 1, stall: 0, unreachable: 1, malformed: 0 })
  assert.equal(counts.get('B')?.byKind.stall, 1)

  // A torn or foreign line is dropped on reload; the rest is kept.
  await appendFile(path, '{"time": 5, "provider"\nnot json\n')
  const again = new FaultLog(path)
  assert.deepEqual(again.recent(10).map(e => e.time), [1002, 1001, 1000])
  await again.flush()
  assert.equal((await readFile(path, 'utf8')).trim().split('\n').length, 3, 'the file is rewritten without them')
})

test('the file stays within its bound: the oldest entries are dropped', async (t) => {
  const path = await logPath(t)
  const maxBytes = 4096
  const log = new FaultLog(path, { maxBytes })
  for (let i = 0; i < 200; i++) log.append(fault(`P${i}`, 'stall', 'x'.repeat(20)))
  await log.flush()
  const size = (await stat(path)).size
  assert.ok(size <= maxBytes, `file is ${size} bytes`)
  const recent = log.recent(1000)
  assert.equal(recent[0]?.provider, 'P199', 'the newest is kept')
  assert.ok(recent.length < 200 && recent.length > 10)
  const onDisk = (await readFile(path, 'utf8')).trim().split('\n')
  assert.equal(onDisk.length, recent.length, 'memory and file agree')
  assert.equal(new FaultLog(path, { maxBytes }).recent(1)[0]?.provider, 'P199')
  // Long details are cut.
  log.append(fault('Q', 'malformed', 'y'.repeat(10_000)))
  assert.ok((log.recent(1)[0]?.detail?.length ?? 0) <= 200)
})
