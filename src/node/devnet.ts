import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fromHex, toHex } from '../foundations/bytes.ts'
import { addressOf, generateKeyPair, keyPairFromSecret, type KeyPair } from '../foundations/crypto.ts'
import { devnetParams, genesisToJson } from '../core/ledger/genesis.ts'
import type { ChainParams, Genesis } from '../core/ledger/types.ts'
import { peerIdOf } from '../services/p2p/index.ts'
import { loadOrCreateNodeKey } from './node-key.ts'
import { devAccountKey, devnetFileName, isAlive, readDevnet, type DevnetFile, type DevnetNode } from './devnet-file.ts'
import { replaceFileSync } from '../services/store/atomic-file.ts'
import { endorseProvider } from '../core/ledger/providers.ts'
import { devnetDnsPort } from '../edges/dns/constants.ts'
export { devAccountKey, devnetFileName, isAlive, readDevnet, type DevnetFile, type DevnetNode } from './devnet-file.ts'

export interface DevnetOptions {
  dir: string
  validators: number
  /** Storage provider nodes (default 6), spread over `devnetRegions` and 4 operators. */
  storage?: number
  /** Compute provider nodes (default 3), each under its own operator, spread over `devnetRegions`. */
  compute?: number
  /** Start the HTTP gateway node (default true). */
  gateway?: boolean
  /** The gateway's DNS port (default 5353; any free port when it is taken, or for 0). */
  dnsPort?: number
  /** Chain parameter of a new devnet: silence after which a provider may be replaced (default 30 s). */
  providerTimeoutMs?: number
  /** Chain parameter of a new devnet: length of a market settlement period (default 30 s). */
  settlementPeriodMs?: number
  /** Also fund these addresses at genesis (e.g. the user's keystore identities). */
  fund?: Uint8Array[]
  log: (line: string) => void
  /** Children outlive this process (devnet up) or die with it (foreground devnet). */
  detached: boolean
}

/** Regions the devnet's storage nodes are spread over, round robin. */
export const devnetRegions = ['eu-west', 'us-east', 'ap-south']
/** Distinct operators running the devnet's storage nodes, round robin. */
const devnetOperators = 4
/** Each devnet storage node's capacity. */
const devnetCapacity = '4GiB'
/** Each devnet compute node's cores and memory per task: the machine's cores are shared by every node. */
const devnetComputeCores = 1
const devnetComputeMemory = '512MiB'
/** Balance of each devnet node account at genesis (pays heartbeats and repairs). */
const nodeAccountBalance = 1_000_000_000

/**
 * V8 flags of a gateway node: a larger young generation (16 MiB semi-spaces from the start, up
 * to 64 MiB) collects the short-lived garbage of many small responses in fewer, no longer pauses,
 * and promotes less of it to the old generation, whose collections are the longer pauses.
 */
const gatewayHeapFlags = ['--min-semi-space-size=16', '--max-semi-space-size=64']

interface NodePlan { name: string, roles: string[], dataDir: string, key: KeyPair, region?: string, operator?: number }

const mainScript = fileURLToPath(new URL('../cli/main.ts', import.meta.url))
export const devAccountBalance = 1_000_000_000_000

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
  const storageCount = opts.storage ?? 6
  const computeCount = opts.compute ?? 3
  if (computeCount > devnetOperators) throw new Error(`a devnet runs at most ${devnetOperators} compute nodes: one per operator, so each is an independent replica`)
  const plans: NodePlan[] = [
    ...Array.from({ length: opts.validators }, (_, i) => ({ name: `validator-${i}`, roles: ['validator'] })),
    ...Array.from({ length: storageCount }, (_, i) => ({ name: `storage-${i}`, roles: ['storage', 'service'], region: devnetRegions[i % devnetRegions.length], operator: i % devnetOperators })),
    ...Array.from({ length: computeCount }, (_, i) => ({ name: `compute-${i}`, roles: ['compute'], region: devnetRegions[i % devnetRegions.length], operator: i })),
    ...(opts.gateway === false ? [] : [{ name: 'gateway-0', roles: ['gateway'] }])
  ].map(p => ({ ...p, dataDir: join(dir, p.name), key: loadOrCreateNodeKey(join(dir, p.name)) }))
  const validatorCount = opts.validators
  if (!existsSync(genesisPath)) {
    writeGenesis(dir, plans, opts.fund ?? [], { ...devnetParams, ...(opts.providerTimeoutMs === undefined ? {} : { providerTimeoutMs: opts.providerTimeoutMs }), ...(opts.settlementPeriodMs === undefined ? {} : { settlementPeriodMs: opts.settlementPeriodMs }) })
  } else {
    const existing = JSON.parse(readFileSync(genesisPath, 'utf8')) as { validators: unknown[] }
    if (existing.validators.length !== validatorCount) {
      throw new Error(`${dir} holds a devnet of ${existing.validators.length} validators; pass --validators ${existing.validators.length} or use a fresh --dir`)
    }
  }
  const chainId = (JSON.parse(readFileSync(genesisPath, 'utf8')) as { chainId: string }).chainId
  const operators = loadOrCreateOperators(dir)
  for (const p of plans) {
    if (p.operator === undefined) continue
    const op = operators[p.operator]!
    writeFileSync(join(p.dataDir, 'operator.json'), JSON.stringify({
      operator: `operator-${p.operator}`, operatorKey: toHex(op.publicKey), endorsement: toHex(endorseProvider(op.secretKey, chainId, p.key.publicKey))
    }, null, 2))
  }
  // Nodes still running keep their ports; stopped ones restart on the ports they had, so the
  // others' bootstrap addresses stay right.
  const previousOf = (p: NodePlan): DevnetNode | undefined => previous?.nodes.find(n => n.name === p.name)
  const alive = (p: NodePlan): DevnetNode | undefined => {
    const n = previousOf(p)
    return n !== undefined && isAlive(n.pid) ? n : undefined
  }
  if (!opts.detached && plans.some(p => alive(p) !== undefined)) {
    throw new Error(`a devnet is already running in ${dir}; stop it with \`keynet devnet down --dir ${dir}\``)
  }
  const fresh = await freePorts(plans.length * 3)
  const ports = plans.map((p, i) => {
    const n = previousOf(p)
    if (n !== undefined) return { p2p: Number(n.p2p.split('/')[4]), api: Number(new URL(n.api).port), http: n.http === undefined ? (fresh[i * 3 + 2] ?? 0) : Number(new URL(n.http).port) }
    return { p2p: fresh[i * 3] ?? 0, api: fresh[i * 3 + 1] ?? 0, http: fresh[i * 3 + 2] ?? 0 }
  })
  const p2pAddrs = plans.map((p, i) => `/ip4/127.0.0.1/tcp/${ports[i]?.p2p}/p2p/${peerIdOf(p.key.secretKey)}`)
  const validatorAddrs = p2pAddrs.slice(0, validatorCount)
  const children: ChildProcess[] = []
  const nodes: DevnetNode[] = []
  for (const [i, plan] of plans.entries()) {
    const running = alive(plan)
    if (running !== undefined) { nodes.push(running); continue }
    const { dataDir } = plan
    const logFile = join(dataDir, 'node.log')
    rmSync(join(dataDir, 'node.json'), { force: true })
    const port = ports[i]!
    const args = [
      '--disable-warning=ExperimentalWarning', ...(plan.roles.includes('gateway') ? gatewayHeapFlags : []), mainScript, 'node', 'start',
      '--roles', plan.roles.join(','), '--data', dataDir, '--genesis', genesisPath,
      '--listen', `/ip4/127.0.0.1/tcp/${port.p2p}`,
      '--api-listen', `127.0.0.1:${port.api}`,
      ...(plan.region === undefined ? [] : ['--region', plan.region, ...(plan.roles.includes('storage') ? ['--capacity', devnetCapacity] : [])]),
      ...(plan.roles.includes('compute') ? ['--cores', String(devnetComputeCores), '--memory', devnetComputeMemory] : []),
      ...(plan.roles.includes('gateway') ? ['--http', `127.0.0.1:${port.http}`, '--dns', `127.0.0.1:${dnsPortOf(previousOf(plan), opts.dnsPort)}`, '--dns-any-port-if-taken'] : []),
      ...validatorAddrs.filter((_, j) => j !== i).flatMap(a => ['--bootstrap', a]),
      // A harness that may die without `devnet down` (a test timing out) asks its nodes to follow it.
      ...(process.env.KEYNET_EXIT_WITH === undefined ? [] : ['--exit-with', process.env.KEYNET_EXIT_WITH])
    ]
    const out = opts.detached ? openSync(logFile, 'a') : 'pipe'
    const child = spawn(process.execPath, args, { detached: opts.detached, stdio: ['ignore', out, out] })
    if (!opts.detached) {
      const prefix = `${plan.name} | `
      const relay = (chunk: Buffer): void => { for (const line of chunk.toString().split('\n')) if (line !== '') opts.log(prefix + line) }
      child.stdout?.on('data', relay)
      child.stderr?.on('data', relay)
    } else {
      child.unref()
    }
    children.push(child)
    nodes.push({
      id: peerIdOf(plan.key.secretKey),
      name: plan.name,
      roles: plan.roles,
      api: `http://127.0.0.1:${port.api}`,
      p2p: p2pAddrs[i] ?? '',
      pid: child.pid ?? 0,
      dataDir,
      logFile,
      ...(plan.region === undefined ? {} : { region: plan.region, operator: toHex(addressOf(operators[plan.operator ?? 0]!.publicKey)) }),
      ...(plan.roles.includes('gateway') ? { http: `http://127.0.0.1:${port.http}` } : {})
    })
  }
  const dev = devAccountKey(dir)
  const file: DevnetFile = { chainId, dir, genesis: genesisPath, devAccount: { address: toHex(addressOf(dev.publicKey)), keyFile: join(dir, 'dev-account.json') }, nodes }
  replaceFileSync(join(dir, devnetFileName), JSON.stringify(file, null, 2))
  return { file, children }
}

function loadOrCreateOperators (dir: string): KeyPair[] {
  const path = join(dir, 'operators.json')
  if (existsSync(path)) return (JSON.parse(readFileSync(path, 'utf8')) as Array<{ secretKey: string }>).map(o => keyPairFromSecret(fromHex(o.secretKey)))
  const keys = Array.from({ length: devnetOperators }, () => generateKeyPair())
  writeFileSync(path, JSON.stringify(keys.map((k, i) => ({ name: `operator-${i}`, address: toHex(addressOf(k.publicKey)), secretKey: toHex(k.secretKey) })), null, 2), { mode: 0o600 })
  return keys
}

function writeGenesis (dir: string, plans: NodePlan[], fund: Uint8Array[], params: ChainParams): void {
  const keys = plans.filter(p => p.roles.includes('validator')).map(p => p.key)
  const dev = generateKeyPair()
  writeFileSync(join(dir, 'dev-account.json'), JSON.stringify({ address: toHex(addressOf(dev.publicKey)), publicKey: toHex(dev.publicKey), secretKey: toHex(dev.secretKey) }, null, 2), { mode: 0o600 })
  const genesis: Genesis = {
    chainId: `keynet-devnet-${toHex(dev.publicKey).slice(0, 8)}`,
    time: Date.now(),
    params,
    validators: keys.map((k, i) => ({ name: `validator-${i}`, publicKey: k.publicKey, power: 1 })),
    accounts: [
      ...[addressOf(dev.publicKey), ...fund].map(address => ({ address, balance: devAccountBalance })),
      ...plans.filter(p => !p.roles.includes('validator')).map(p => ({ address: addressOf(p.key.publicKey), balance: nodeAccountBalance }))
    ]
  }
  writeFileSync(join(dir, 'genesis.json'), genesisToJson(genesis))
}

/** The DNS port a devnet gateway asks for: the one it had, else the option's (default `devnetDnsPort`). */
function dnsPortOf (previous: DevnetNode | undefined, option: number | undefined): number {
  if (previous?.dns !== undefined) return Number(previous.dns.slice(previous.dns.lastIndexOf(':') + 1))
  return option ?? devnetDnsPort
}

/**
 * Waits until every node's API answers, the network has committed `minHeight` blocks, every
 * storage node is registered and live on the ledger and offers storage, and the gateway answers HTTP.
 */
export async function waitForDevnet (file: DevnetFile, opts: { minHeight: number, timeoutMs: number, onProgress?: (line: string) => void }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs
  const storage = file.nodes.filter(n => n.roles.includes('storage')).length
  const compute = file.nodes.filter(n => n.roles.includes('compute') && n.region !== undefined).length
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
    const providers = storage + compute === 0 ? 0 : await liveProviders(file.nodes[0]?.api ?? '')
    const offers = storage === 0 ? 0 : await offersOf(file.nodes[0]?.api ?? '', 'storage')
    const computeOffers = compute === 0 ? 0 : await offersOf(file.nodes[0]?.api ?? '', 'compute')
    const gateways = await Promise.all(file.nodes.filter(n => n.http !== undefined).map(async n => {
      try { return (await fetch(`${n.http}/status`, { signal: AbortSignal.timeout(1000) })).ok } catch { return false }
    }))
    const line = heights.map((h, i) => `${file.nodes[i]?.name}: ${h < 0 ? 'starting' : `height ${h}`}`).join(', ') +
      (storage + compute === 0 ? '' : `; ${providers}/${storage + compute} providers registered`) +
      (storage === 0 ? '' : `, ${offers}/${storage} offering storage`) + (compute === 0 ? '' : `, ${computeOffers}/${compute} offering compute`)
    if (line !== last) { opts.onProgress?.(line); last = line }
    if (heights.every(h => h >= opts.minHeight) && providers >= storage + compute && offers >= storage && computeOffers >= compute && gateways.every(ok => ok) && recordDnsAddresses(file)) return
    const dead = file.nodes.filter(n => !isAlive(n.pid))
    if (dead.length > 0) throw new Error(`${dead.map(n => n.name).join(', ')} exited during start-up; see its output above or ${dead[0]?.logFile}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`the devnet did not become ready (${opts.minHeight} blocks, providers registered and offering, gateway answering) within ${opts.timeoutMs} ms; see the node logs in ${file.dir}, or on a busy machine give it longer with --timeout <ms>`)
}

/**
 * Copies each gateway's DNS address from its `node.json` (it may have had to take another port)
 * into `devnet.json`; false until every gateway has written it.
 */
function recordDnsAddresses (file: DevnetFile): boolean {
  let changed = false
  for (const n of file.nodes.filter(n => n.roles.includes('gateway'))) {
    let info: { dns?: string }
    try { info = JSON.parse(readFileSync(join(n.dataDir, 'node.json'), 'utf8')) as { dns?: string } } catch { return false }
    if (info.dns !== undefined && info.dns !== n.dns) { n.dns = info.dns; changed = true }
  }
  if (changed) replaceFileSync(join(file.dir, devnetFileName), JSON.stringify(file, null, 2))
  return true
}

async function liveProviders (api: string): Promise<number> {
  try {
    const res = await fetch(`${api}/v1/providers`, { signal: AbortSignal.timeout(1000) })
    return ((await res.json()) as { providers: Array<{ live: boolean }> }).providers.filter(p => p.live).length
  } catch {
    return 0
  }
}

async function offersOf (api: string, kind: 'storage' | 'compute'): Promise<number> {
  try {
    const res = await fetch(`${api}/v1/market/offers?kind=${kind}`, { signal: AbortSignal.timeout(1000) })
    return ((await res.json()) as { offers: unknown[] }).offers.length
  } catch {
    return 0
  }
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
