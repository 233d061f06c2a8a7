import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BlockView, StatusView } from '../../src/edges/api/types.ts'
import { eventually, getJson, isAlive, keynet, keynetJson, readDevnetFile, tempHome } from './harness.ts'

describe('a devnet of 4 validator processes, driven through the CLI', { timeout: 240_000 }, () => {
  const home = tempHome('e2e')
  const dir = join(home, 'devnet')
  const names: string[] = []

  before(async () => {
    const up = await keynet(home, ['devnet', 'up', '--validators', '4', '--storage', '0', '--compute', '0', '--no-gateway'])
    assert.equal(up.code, 0, up.stderr)
  })

  after(async () => {
    await keynet(home, ['devnet', 'down'])
    rmSync(home, { recursive: true, force: true })
  })

  it('writes devnet.json with every node, each answering on its API', async () => {
    const file = readDevnetFile(dir)
    assert.equal(file.nodes.length, 4)
    for (const n of file.nodes) {
      for (const field of ['id', 'roles', 'api', 'p2p', 'pid', 'dataDir'] as const) assert.ok(n[field] !== undefined, field)
      assert.deepEqual(n.roles, ['validator'])
      const s = await getJson<StatusView>(`${n.api}/v1/status`)
      assert.equal(s.chainId, file.chainId)
      assert.ok(s.height >= 2)
    }
  })

  it('registers, updates, verifies and refuses through the CLI', async () => {
    const reg = await keynetJson<{ height: number }>(home, ['name', 'register', 'E2E-Site.key'])
    assert.ok(reg.height > 0)
    names.push('e2e-site.key')
    await keynetJson(home, ['name', 'update', 'e2e-site.key', '--text', 'greeting=hello'])
    const shown = await keynetJson<{ verified: boolean, version: number, records: { text: Record<string, string> }, signedPower: number }>(home, ['name', 'show', 'e2e-site.key', '--verify'])
    assert.equal(shown.verified, true)
    assert.equal(shown.version, 2)
    assert.deepEqual(shown.records.text, { greeting: 'hello' })
    assert.ok(shown.signedPower >= 3)

    const taken = await keynet(home, ['name', 'register', 'e2e-site.key'])
    assert.equal(taken.code, 1)
    assert.match(taken.stderr, /NameTakenError/)
    const invalid = await keynet(home, ['name', 'register', 'no_underscores.key'])
    assert.equal(invalid.code, 1)
    assert.match(invalid.stderr, /InvalidNameError/)
    const missing = await keynet(home, ['name', 'show', 'never-registered.key', '--verify'])
    assert.equal(missing.code, 1)
    assert.match(missing.stdout, /not registered \(verified/)
  })

  it('keeps committing with one validator killed (-9), and the restarted one catches up to the same state root', async () => {
    const file = readDevnetFile(dir)
    const victim = file.nodes[3]
    assert.ok(victim)
    process.kill(victim.pid, 'SIGKILL')
    await eventually('the victim to die', async () => isAlive(victim.pid) ? undefined : true)
    const api = file.nodes[0]?.api ?? ''
    for (let i = 0; i < 3; i++) {
      const name = `while-down-${i}.key`
      await keynetJson(home, ['name', 'register', name, '--api', api])
      names.push(name)
    }
    const target = (await getJson<StatusView>(`${api}/v1/status`)).height

    const restarted = await keynet(home, ['devnet', 'up', '--storage', '0', '--compute', '0', '--no-gateway'])
    assert.equal(restarted.code, 0, restarted.stderr)
    const revived = readDevnetFile(dir).nodes[3]
    assert.ok(revived && revived.pid !== victim.pid && isAlive(revived.pid))
    await eventually('the restarted validator to catch up', async () => {
      const s = await getJson<StatusView>(`${revived.api}/v1/status`)
      return s.height >= target ? s : undefined
    }, 60_000)
    const [a, b] = await Promise.all([getJson<BlockView>(`${api}/v1/blocks/${target}`), getJson<BlockView>(`${revived.api}/v1/blocks/${target}`)])
    assert.equal(b.stateRoot, a.stateRoot)
    assert.equal(b.hash, a.hash)
    for (const name of names) {
      const view: { name: string } = await getJson(`${revived.api}/v1/names/${name}`)
      assert.equal(view.name, name)
    }
    // And it votes again: the network keeps committing with all four.
    const again = await keynetJson<{ height: number }>(home, ['name', 'register', 'after-restart.key', '--api', revived.api])
    assert.ok(again.height > target)
  })

  it('devnet down leaves no process running', async () => {
    const file = readDevnetFile(dir)
    const down = await keynet(home, ['devnet', 'down'])
    assert.equal(down.code, 0, down.stderr)
    for (const n of file.nodes) assert.equal(isAlive(n.pid), false, `${n.name} still running`)
  })
})
