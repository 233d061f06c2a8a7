import type { Command } from 'commander'
import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { Keystore, keynetHome } from '../../services/keystore/keystore.ts'
import { startDevnet, stopDevnet, waitForDevnet, readDevnet, isAlive, type DevnetNode } from '../../node/devnet.ts'
import { knownRoles, startNode } from '../../node/node.ts'
import { defaultDevnetDir, type GlobalOptions } from '../context.ts'
import { positive } from '../args.ts'
import { parseBytes } from '../../foundations/units.ts'

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

export function nodeCommands (program: Command): void {
  const node = program.command('node').description('run a Keynet node')
  node.command('start')
    .description('run one node in the foreground until Ctrl-C')
    .option('--roles <roles>', `comma-separated roles (${knownRoles.join(', ')})`, 'validator')
    .requiredOption('--data <dir>', 'data folder (keys, ledger store)')
    .option('--genesis <file>', "the network's genesis.json (needed on first start)")
    .option('--listen <multiaddr>', 'libp2p listen address (repeatable)', collect)
    .option('--announce <multiaddr>', 'address to announce to peers (repeatable)', collect)
    .option('--bootstrap <multiaddr>', 'peer to join through, with /p2p/<id> (repeatable)', collect)
    .option('--api-listen <host:port>', 'HTTP API listen address', '127.0.0.1:7700')
    .option('--region <region>', 'storage/service roles (and compute, to be on the market): the region this node is in, e.g. eu-west')
    .option('--capacity <size>', 'storage role: how much it stores, e.g. 10GiB', '10GiB')
    .option('--blocks-http <host:port>', 'storage role: HTTP block endpoint listen address, or "off" (default: the libp2p listen host, any free port)')
    .option('--http <host:port>', 'gateway role: HTTP gateway listen address', '127.0.0.1:8080')
    .option('--cache <size>', 'gateway role: edge cache size on disk', '512MiB')
    .option('--dns <host:port>', 'gateway role: DNS server for .key (UDP and TCP) listen address, or "off"', '127.0.0.1:5353')
    .option('--dns-upstream <host:port>', 'gateway role: resolver that answers names outside .key (default: refuse them)')
    .option('--dns-answer <ip>', 'gateway role: address A/AAAA answers give (repeatable; default: the --http host)', collect)
    .option('--dns-any-port-if-taken', 'gateway role: if the --dns port is taken, listen on any free port (node.json tells which)')
    .option('--cores <n>', 'compute role: tasks run at once, one core each', '1')
    .option('--memory <size>', 'compute role: memory one task may use, e.g. 4GiB', '256MiB')
    .option('--compute-price <n>', 'compute role: price per core-second it offers (with --region)')
    .option('--exit-with <pid>', 'stop when that process is gone (test and benchmark harnesses)')
    .addHelpText('after', `
Roles:
  validator  votes in consensus if its key is in the genesis validator set (else follows the chain)
  storage    stores and serves content blocks and key-value shards; needs <data>/operator.json from \`keynet provider endorse\`
  service    fronts name owners' HTTP backends over libp2p (\`keynet service add\`); needs operator.json too
  gateway    serves .key sites and /ipfs/<cid> over HTTP to ordinary browsers, and answers DNS for .key
             (UDP and TCP on --dns, DNS over HTTPS at <http>/dns-query)
  compute    runs WebAssembly (WASI) tasks for others in a sandbox (\`keynet compute run\`); with --region and
             operator.json it registers, stakes and offers its cores on the market, paid from task escrow

Example: keynet node start --roles storage --region eu-west --capacity 10GiB --data ./s1 --genesis genesis.json --bootstrap /ip4/…/p2p/…`)
    .action(async (o: { roles: string, data: string, genesis?: string, listen?: string[], announce?: string[], bootstrap?: string[], apiListen: string, region?: string, capacity: string, blocksHttp?: string, http: string, cache: string, dns: string, dnsUpstream?: string, dnsAnswer?: string[], dnsAnyPortIfTaken?: boolean, cores: string, memory: string, computePrice?: string, exitWith?: string }) => {
      const roles = o.roles.split(',').map(r => r.trim()).filter(r => r !== '')
      for (const r of roles) if (!(knownRoles as readonly string[]).includes(r)) throw new Error(`unknown role "${r}"; known roles: ${knownRoles.join(', ')}`)
      const log = (line: string): void => { process.stdout.write(`${new Date().toISOString()} ${line}\n`) }
      const running = await startNode({
        dataDir: o.data,
        roles,
        listen: o.listen ?? ['/ip4/0.0.0.0/tcp/7701'],
        announce: o.announce ?? [],
        bootstrap: o.bootstrap ?? [],
        api: o.apiListen,
        ...(o.genesis === undefined ? {} : { genesisFile: o.genesis }),
        ...(roles.includes('compute') && o.region !== undefined && !roles.includes('storage') && !roles.includes('service') ? { provider: { region: o.region, capacityBytes: 0 } } : {}),
        ...(roles.includes('storage') || roles.includes('service') ? { provider: { region: requiredRegion(o.region), capacityBytes: roles.includes('storage') ? parseBytes(o.capacity, '--capacity') : 0, ...(o.blocksHttp === undefined ? {} : { blocksHttp: o.blocksHttp }) } } : {}),
        ...(roles.includes('gateway')
          ? {
              gateway: {
                listen: o.http,
                cacheBytes: parseBytes(o.cache, '--cache'),
                dns: {
                  listen: o.dns,
                  ...(o.dnsUpstream === undefined ? {} : { upstream: o.dnsUpstream }),
                  ...(o.dnsAnswer === undefined ? {} : { answer: o.dnsAnswer }),
                  ...(o.dnsAnyPortIfTaken === true ? { anyPortIfTaken: true } : {})
                }
              }
            }
          : {}),
        ...(roles.includes('compute') ? { compute: { cores: positive(o.cores, '--cores'), memoryBytes: parseBytes(o.memory, '--memory'), ...(o.computePrice === undefined ? {} : { price: positive(o.computePrice, '--compute-price') }) } } : {}),
        log
      })
      const shutdown = (signal: string): void => {
        log(`${signal}: stopping`)
        running.stop().then(() => process.exit(0), err => { log(`stop failed: ${(err as Error).message}`); process.exit(1) })
      }
      process.once('SIGINT', () => shutdown('SIGINT'))
      process.once('SIGTERM', () => shutdown('SIGTERM'))
      if (o.exitWith !== undefined) {
        const watched = positive(o.exitWith, '--exit-with')
        setInterval(() => { if (!isAlive(watched)) shutdown(`process ${watched} is gone`) }, 1000).unref()
      }
    })
}

function requiredRegion (region: string | undefined): string {
  if (region === undefined) throw new Error('the storage and service roles need --region, e.g. --region eu-west')
  return region
}

export function devnetCommands (program: Command, globals: () => GlobalOptions): void {
  const dirOption = (): string => defaultDevnetDir(globals().home ?? keynetHome())
  const devnet = program.command('devnet')
    .description('a local network of validator processes on 127.0.0.1 (foreground; Ctrl-C stops it all)')
    .option('--dir <dir>', 'devnet folder (default: $KEYNET_HOME/devnet)')
    .option('--validators <n>', 'number of validators', '4')
    .option('--storage <n>', 'number of storage providers (over 3 regions, 4 operators)', '6')
    .option('--compute <n>', 'number of compute providers (over 3 regions, one operator each; at most 4)', '3')
    .option('--no-gateway', 'do not start the HTTP gateway node')
    .option('--dns-port <n>', "the gateway's DNS port for .key, UDP and TCP (another free port when it is taken)", '5353')
    .option('--provider-timeout <ms>', 'new devnet only: silence after which a provider is replaced', '30000')
    .option('--settlement-period <ms>', 'new devnet only: length of a market settlement period', '30000')
    .option('--fresh', 'delete the folder first: a new chain')
    .option('--timeout <ms>', 'how long the nodes may take to start and commit a first block', '180000')
    .action(async (o: DevnetSizeOptions & { dir?: string, fresh?: boolean, timeout: string }) => {
      const dir = resolve(o.dir ?? dirOption())
      if (o.fresh === true) {
        const live = readDevnet(dir)?.nodes.filter(n => isAlive(n.pid)) ?? []
        if (live.length > 0) throw new Error(`a devnet is running in ${dir}; stop it first with \`keynet devnet down --dir ${dir}\``)
        rmSync(dir, { recursive: true, force: true })
      }
      const log = (line: string): void => { process.stdout.write(`${line}\n`) }
      const { file, children } = await startDevnet({ dir, ...sizes(o), fund: keystoreAddresses(globals()), log, detached: false })
      let stopping = false
      const stop = (): void => {
        if (stopping) return
        stopping = true
        log('stopping the devnet…')
        for (const c of children) c.kill('SIGTERM')
        setTimeout(() => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL') }, 5000).unref()
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
      let exited = 0
      for (const c of children) {
        c.on('exit', () => {
          exited++
          if (!stopping) { log('a node exited; stopping the rest'); stop() }
          if (exited === children.length) process.exit(stopping ? 0 : 1)
        })
      }
      try {
        await waitForDevnet(file, { minHeight: 1, timeoutMs: positive(o.timeout, '--timeout') })
      } catch (err) {
        if (stopping) return
        log(`keynet: ${(err as Error).message}`)
        stop()
        return
      }
      log('')
      log(`Keynet devnet is up: chain ${file.chainId}, ${file.nodes.length} nodes, data in ${dir}`)
      for (const n of file.nodes) log(describeNode(n))
      log(`  developer account ${file.devAccount.address} (funded; the CLI signs with it by default)`)
      log('Try:  npx keynet name register mysite.key  &&  npx keynet name show mysite.key --verify')
      const gateway = file.nodes.find(n => n.http !== undefined)
      log(`      npx keynet publish ./examples/site --name mysite.key${gateway === undefined ? '' : `  &&  curl -H 'Host: mysite.key' ${gateway.http}/`}`)
      if (gateway?.dns !== undefined) log(`      dig @${gateway.dns.slice(0, gateway.dns.lastIndexOf(':')).replace(/^\[|\]$/g, '')} -p ${gateway.dns.slice(gateway.dns.lastIndexOf(':') + 1)} mysite.key TXT   (DNS over HTTPS: ${gateway.http}/dns-query)`)
      log('Ctrl-C stops every node.')
      log('')
    })

  // `up` and `down` take --dir and --validators from `devnet` itself (commander hands options to
  // the command that declares them, wherever they stand on the line).
  const shared = (): DevnetSizeOptions & { dir?: string } => devnet.opts<DevnetSizeOptions & { dir?: string }>()
  devnet.command('up')
    .description('start a devnet in the background (same --dir/--validators as devnet); returns once it commits blocks')
    .option('--timeout <ms>', 'how long to wait for the first blocks', '60000')
    .addHelpText('after', '\nAlso takes devnet\'s options:\n  --dir <dir>       devnet folder (default: $KEYNET_HOME/devnet)\n  --validators <n>  number of validators (default: 4)\n  --storage <n>     number of storage providers (default: 6)\n  --compute <n>     number of compute providers (default: 3)\n  --no-gateway      no HTTP gateway node\n  --dns-port <n>    the gateway\'s DNS port (default: 5353)\n  --provider-timeout <ms>  silence before a provider is replaced (new devnet; default: 30000)\n  --settlement-period <ms>  market settlement period (new devnet; default: 30000)\n\nExample: keynet devnet up --dir ./net --validators 4')
    .action(async (own: { timeout: string }) => {
      const o = { ...shared(), ...own }
      const dir = resolve(o.dir ?? dirOption())
      const g = globals()
      const say = (line: string): void => { if (g.json !== true) process.stderr.write(`${line}\n`) }
      const { file } = await startDevnet({ dir, ...sizes(o), fund: keystoreAddresses(g), log: say, detached: true })
      say(`started ${file.nodes.length} nodes; waiting for blocks and provider registrations…`)
      try {
        await waitForDevnet(file, { minHeight: 2, timeoutMs: positive(o.timeout, '--timeout'), onProgress: line => say(`  ${line}`) })
      } catch (err) {
        await stopDevnet(dir)
        throw err
      }
      if (g.json === true) process.stdout.write(`${JSON.stringify(file, null, 2)}\n`)
      else {
        process.stdout.write(`devnet up in ${dir} (chain ${file.chainId})\n`)
        for (const n of file.nodes) process.stdout.write(`${describeNode(n)}\n`)
      }
    })

  devnet.command('down')
    .description('stop a background devnet (takes --dir like devnet)')
    .addHelpText('after', '\nExample: keynet devnet down --dir ./net')
    .action(async () => {
      const dir = resolve(shared().dir ?? dirOption())
      const stopped = await stopDevnet(dir)
      const left = readDevnet(dir)?.nodes.filter(n => isAlive(n.pid)) ?? []
      if (left.length > 0) throw new Error(`pids ${left.map(n => n.pid).join(', ')} are still running`)
      process.stdout.write(`stopped ${stopped.length} node(s) in ${dir}\n`)
    })
}

interface DevnetSizeOptions { validators: string, storage: string, compute: string, gateway: boolean, providerTimeout: string, settlementPeriod: string, dnsPort: string }

function sizes (o: DevnetSizeOptions): { validators: number, storage: number, compute: number, gateway: boolean, providerTimeoutMs: number, settlementPeriodMs: number, dnsPort: number } {
  const storage = Number(o.storage)
  if (!Number.isInteger(storage) || storage < 0 || storage > 64) throw new Error('--storage must be 0..64')
  const compute = Number(o.compute)
  if (!Number.isInteger(compute) || compute < 0 || compute > 4) throw new Error('--compute must be 0..4 (one operator each)')
  const dnsPort = Number(o.dnsPort)
  if (!Number.isInteger(dnsPort) || dnsPort < 0 || dnsPort > 65535) throw new Error('--dns-port must be 0..65535')
  return { validators: positive(o.validators, '--validators'), storage, compute, gateway: o.gateway, providerTimeoutMs: positive(o.providerTimeout, '--provider-timeout'), settlementPeriodMs: positive(o.settlementPeriod, '--settlement-period'), dnsPort }
}

function describeNode (n: DevnetNode): string {
  const extra = [n.region === undefined ? '' : `${n.roles.join(',')}  region ${n.region}  operator ${n.operator?.slice(0, 8)}…`, n.http === undefined ? '' : `http ${n.http}`, n.dns === undefined ? '' : `dns ${n.dns}`].filter(x => x !== '').join('  ')
  return `  ${n.name.padEnd(12)} api ${n.api}  pid ${n.pid}${extra === '' ? '' : `  ${extra}`}`
}

function keystoreAddresses (g: GlobalOptions): Uint8Array[] {
  const store = new Keystore(g.home ?? keynetHome())
  return store.list().map(name => store.describe(name).address)
}
