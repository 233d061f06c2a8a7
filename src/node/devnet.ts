import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fromHex, toHex } from '../foundations/bytes.ts'
import { addressOf, generateKeyPair, keyPairFromSecret, type KeyPair } from '../foundations/crypto.ts'
import { devnetParams, genesisToJson } from '../core/ledger/genesis.ts'
import type { Genesis } from '../core/ledger/types.ts'
import { peerIdOf } from '../services/p2p/index.ts'
import { loadOrCreateNodeKey } from './node-key.ts'
import { writeAtomically } from './node.ts'

/** One node of a devnet as listed in `devnet.json`. */
export interface DevnetNode {
  id: string
  name: string
  roles: string[]
  api: string
  p2p: string
  pid: number
  dataDir: string
  logFile: string
}

/** `devnet.json`: what a devnet folder holds and where its nodes answer. */
export interface DevnetFile {
  chainId: string
  dir: string
  genesis: string
  devAccount: { address: string, keyFile: string }
  nodes: DevnetNode[]
}

export interface DevnetOptions {
  dir: string
  validators: number
  /** Also fund these addresses at genesis (e.g. the user's keystore identities). */
  fund?: Uint8Array[]
  log: (line: string) => void
  /** Children outlive this process (devnet up) or die with it (foreground devnet). */
  detached: boolean
}

const mainScript = fileURLToPath(new URL('../cli/main.ts', import.meta.url))
export const devAccountBalance = 1_000_000_000_000
export const devnetFileName = 'devnet.json'

/** Reads a devnet folder's `devnet.json`, or undefined if there is none. */
export function readDevnet (dir: string): DevnetFile | undefined {
  const path = join(dir, devnetFileName)
  if (!existsSync(path)) return undefined
  return JSON.parse(readFileSync(path, 'utf8')) as DevnetFile
}

/** The devnet's funded developer key (unencrypted: it is play money on a local network). */
export function devAccountKey (dir: string): KeyPair {
  const { secretKey } = JSON.parse(readFileSync(join(dir, 'dev-account.json'), 'utf8')) as { secretKey: string }
  return keyPairFromSecret(fromHex(secretKey))
}

/** Whether a recorded node process still runs (pid 0 or below never names one). */
export function isAlive (pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try { process.kill(pid, 0); return true } catch { return false }
}

/**
 * Creates (on first use) and starts a local network: N validator processes on 127.0.0.1, each
 * with its own data folder, all bootstrapping to each other. Reuses an existing folder's keys,
 * genesis and data, so a devnet keeps its names across restarts.
 */
export async function startDevnet (opts: DevnetOptions): Promise<{ file: DevnetFile, children: ChildProcess[] }> {
  const dir = resolve(opts.dir)
  mkdirSync(dir, { recursive: true })
  const previous = readDevnet(dir)
  const genesisPath = join(dir, 'genesis.json')
  const nodeDirs = Array.from({ length: opts.validators }, (_, i) => join(dir, `validator-${i}`))
  const keys = nodeDirs.map(d => loadOrCreateNodeKey(d))
  if (!existsSync(genesisPath)) {
    writeGenesis(dir, keys, opts.fund ?? [])
  } else {
    const existing = JSON.parse(readFileSync(genesisPath, 'utf8')) as { validators: unknown[] }
    if (existing.validators.length !== opts.validators) {
      throw new Error(`${dir} holds a devnet of ${existing.validators.length} validators; pass --validators ${existing.validators.length} or use a fresh --dir`)
    }
  }
  const chainId = (JSON.parse(readFileSync(genesisPath, 'utf8')) as { chainId: string }).chainId
  // Nodes still running keep their ports; stopped ones restart on the ports they had, so the
  // others' bootstrap addresses stay right.
  const alive = (i: number): DevnetNode | undefined => {
    const n = previous?.nodes[i]
    return n !== undefined && isAlive(n.pid) ? n : undefined
  }
  if (!opts.detached && nodeDirs.some((_, i) => alive(i) !== undefined)) {
    throw new Error(`a devnet is already running in ${dir}; stop it with \`keynet devnet down --dir ${dir}\``)
  }
  const fresh = await freePorts(opts.validators * 2)
  const ports = nodeDirs.map((_, i) => {
    const n = previous?.nodes[i]
    if (n !== undefined) return { p2p: Number(n.p2p.split('/')[4]), api: Number(new URL(n.api).port) }
    return { p2p: fresh[i * 2] ?? 0, api: fresh[i * 2 + 1] ?? 0 }
  })
  const p2pAddrs = keys.map((k, i) => `/ip4/127.0.0.1/tcp/${ports[i]?.p2p}/p2p/${peerIdOf(k.secretKey)}`)
  const children: ChildProcess[] = []
  const nodes: DevnetNode[] = []
  for (const [i, dataDir] of nodeDirs.entries()) {
    const running = alive(i)
    if (running !== undefined) { nodes.push(running); continue }
    const logFile = join(dataDir, 'node.log')
    rmSync(join(dataDir, 'node.json'), { force: true })
    const args = [
      '--disable-warning=ExperimentalWarning', mainScript, 'node', 'start',
      '--roles', 'validator', '--data', dataDir, '--genesis', genesisPath,
      '--listen', `/ip4/127.0.0.1/tcp/${ports[i]?.p2p}`,
      '--api-listen', `127.0.0.1:${ports[i]?.api}`,
      ...p2pAddrs.filter((_, j) => j !== i).flatMap(a => ['--bootstrap', a])
    ]
    const out = opts.detached ? openSync(logFile, 'a') : 'pipe'
    const child = spawn(process.execPath, args, { detached: opts.detached, stdio: ['ignore', out, out] })
    if (!opts.detached) {
      const prefix = `validator-${i} | `
      const relay = (chunk: Buffer): void => { for (const line of chunk.toString().split('\n')) if (line !== '') opts.log(prefix + line) }
      child.stdout?.on('data', relay)
      child.stderr?.on('data', relay)
    } else {
      child.unref()
    }
    children.push(child)
    nodes.push({
      id: peerIdOf(keys[i]?.secretKey ?? new Uint8Array(32)),
      name: `validator-${i}`,
      roles: ['validator'],
      api: `http://127.0.0.1:${ports[i]?.api}`,
      p2p: p2pAddrs[i] ?? '',
      pid: child.pid ?? 0,
      dataDir,
      logFile
    })
  }
  const dev = devAccountKey(dir)
  const file: DevnetFile = { chainId, dir, genesis: genesisPath, devAccount: { address: toHex(addressOf(dev.publicKey)), keyFile: join(dir, 'dev-account.json') }, nodes }
  writeAtomically(join(dir, devnetFileName), JSON.stringify(file, null, 2))
  return { file, children }
}

function writeGenesis (dir: string, keys: KeyPair[], fund: Uint8Array[]): void {
  const dev = generateKeyPair()
  writeFileSync(join(dir, 'dev-account.json'), JSON.stringify({ address: toHex(addressOf(dev.publicKey)), publicKey: toHex(dev.publicKey), secretKey: toHex(dev.secretKey) }, null, 2), { mode: 0o600 })
  const genesis: Genesis = {
    chainId: `keynet-devnet-${toHex(dev.publicKey).slice(0, 8)}`,
    time: Date.now(),
    params: devnetParams,
    validators: keys.map((k, i) => ({ name: `validator-${i}`, publicKey: k.publicKey, power: 1 })),
    accounts: [addressOf(dev.publicKey), ...fund].map(address => ({ address, balance: devAccountBalance }))
  }
  writeFileSync(join(dir, 'genesis.json'), genesisToJson(genesis))
}

/** Waits until every node's API answers and the network has committed `minHeight` blocks. */
export async function waitForDevnet (file: DevnetFile, opts: { minHeight: number, timeoutMs: number, onProgress?: (line: string) => void }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    const heights = await Promise.all(file.nodes.map(async n => {
      try {
        const res = await fetch(`${n.api}/v1/status`, { signal: AbortSignal.timeout(1000) })
        return ((await res.json()) as { height: number }).height
      } catch {
        return -1
      }
    }))
    const line = heights.map((h, i) => `${file.nodes[i]?.name}: ${h < 0 ? 'starting' : `height ${h}`}`).join(', ')
    if (line !== last) { opts.onProgress?.(line); last = line }
    if (heights.every(h => h >= opts.minHeight)) return
    const dead = file.nodes.filter(n => !isAlive(n.pid))
    if (dead.length > 0) throw new Error(`${dead.map(n => n.name).join(', ')} exited during start-up; see its output above or ${dead[0]?.logFile}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`the devnet did not commit ${opts.minHeight} blocks within ${opts.timeoutMs} ms; see the node logs in ${file.dir}`)
}

/** Stops every node of a devnet: SIGTERM, then SIGKILL for any still alive after the grace time. */
export async function stopDevnet (dir: string, graceMs = 5000): Promise<DevnetNode[]> {
  const file = readDevnet(resolve(dir))
  if (file === undefined) throw new Error(`no ${devnetFileName} in ${dir}; nothing to stop`)
  const alive = file.nodes.filter(n => isAlive(n.pid))
  for (const n of alive) { try { process.kill(n.pid, 'SIGTERM') } catch {} }
  const deadline = Date.now() + graceMs
  while (alive.some(n => isAlive(n.pid)) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  for (const n of alive) { if (isAlive(n.pid)) { try { process.kill(n.pid, 'SIGKILL') } catch {} } }
  while (alive.some(n => isAlive(n.pid))) await new Promise(resolve => setTimeout(resolve, 50))
  return alive
}

/** Asks the OS for free TCP ports on 127.0.0.1. */
export async function freePorts (count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, async () => await new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => resolve(s))
  })))
  const ports = servers.map(s => (s.address() as { port: number }).port)
  await Promise.all(servers.map(async s => await new Promise(resolve => s.close(resolve))))
  return ports
}
