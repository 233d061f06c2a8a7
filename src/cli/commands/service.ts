import type { Command } from 'commander'
import { MalformedMessageError, UnavailableError } from '../../foundations/errors.ts'
import type { ServiceEndpoint } from '../../core/ledger/types.ts'
import { canonicalName } from '../../core/names/grammar.ts'
import { chooseHolders } from '../../core/placement/choose-holders.ts'
import { dialAddrs, type ProviderInfo } from '../../services/content/directory.ts'
import type { P2PHost } from '../../services/p2p/index.ts'
import { ServiceClient } from '../../services/service/index.ts'
import { CliContext, type GlobalOptions } from '../context.ts'
import { openClient } from './content.ts'
import { positive } from '../args.ts'

export function serviceCommands (program: Command, globals: () => GlobalOptions): void {
  const service = program.command('service').description("put HTTP backends behind a name: key://name/<path> and the gateway's http://name.key/<path> reach them")

  service.command('add <name>')
    .description('bind a backend to service nodes in several regions and record them in the name\'s service record')
    .requiredOption('--backend <url>', 'the backend, e.g. http://127.0.0.1:3000 (the service nodes must reach it)')
    .option('--path <prefix>', 'path prefix under the name', '/api')
    .option('--nodes <n>', 'service nodes to bind (distinct regions, then operators)', '3')
    .addHelpText('after', '\nExample: keynet service add mysite.key --backend http://127.0.0.1:3000 --path /api')
    .action(async (n: string, o: { backend: string, path: string, nodes: string }) => {
      const ctx = new CliContext(globals())
      const name = canonicalName(n)
      const path = normalisePrefix(o.path)
      const client = await openClient(ctx, { signer: true })
      const { key } = await ctx.signer()
      try {
        const live = (await client.directory.providers()).filter(p => p.kinds.includes('service'))
        if (live.length === 0) throw new UnavailableError('no live service node is registered: start a devnet (`npm start`) or a node with --roles service')
        const byId = new Map(live.map(p => [p.address, p]))
        const chosen = chooseHolders(`${name}${path}`, positive(o.nodes, '--nodes'), live.map(p => ({ id: p.address, operator: p.operator, region: p.region }))).holders.map(c => byId.get(c.id)!)
        const services = new ServiceClient({ host: client.host })
        const bound: ProviderInfo[] = []
        for (const p of chosen) {
          try {
            await connect(client.host, p)
            await services.bind(p.peerId, { name, pathPrefix: path, backend: o.backend }, key)
            bound.push(p)
          } catch (err) {
            process.stderr.write(`keynet: ${p.region}/${p.address.slice(0, 8)} refused the binding: ${(err as Error).message}\n`)
          }
        }
        if (bound.length === 0) throw new UnavailableError('no service node took the binding; see the messages above')
        const current = await ctx.api().name(name)
        const endpoint: ServiceEndpoint = { path, protocol: 'http', providers: bound.map(p => p.address), regions: [...new Set(bound.map(p => p.region))] }
        const others = (current.records.service ?? []).filter(e => e.path !== path)
        const result = await ctx.send({ type: 'name-update', name, records: { ...current.records, service: [...others, endpoint] } })
        ctx.print({ name, path, backend: o.backend, nodes: bound.map(p => ({ address: p.address, region: p.region })), height: result.height },
          () => `${name}${path} → ${o.backend} through ${bound.length} service nodes (${endpoint.regions?.join(', ')}); try: keynet fetch key://${name}${path}/`)
      } finally {
        await client.close()
      }
    })

  service.command('ls <name>')
    .description("the name's service endpoints and the live state of each service node")
    .action(async (n: string) => {
      const ctx = new CliContext(globals())
      const name = canonicalName(n)
      const client = await openClient(ctx)
      try {
        const resolved = await client.directory.resolveName(name)
        const live = new Map((await client.directory.providers()).map(p => [p.address, p]))
        const services = new ServiceClient({ host: client.host })
        const endpoints = await Promise.all((resolved.records.service ?? []).map(async e => ({
          path: e.path,
          nodes: await Promise.all(e.providers.map(async address => {
            const p = live.get(address)
            if (p === undefined) return { address, state: 'not live' }
            try {
              await connect(client.host, p)
              const binding = (await services.list(p.peerId, name)).find(b => b.pathPrefix === e.path)
              if (binding === undefined) return { address, region: p.region, state: 'not bound' }
              return { address, region: p.region, state: binding.reachable === false ? 'backend unreachable' : 'ok', backend: binding.backend, requests: binding.requests, errors: binding.errors, lastError: binding.lastError }
            } catch (err) {
              return { address, region: p.region, state: `unreachable: ${(err as Error).message}` }
            }
          }))
        })))
        ctx.print({ name, endpoints }, () => endpoints.length === 0
          ? `${name} has no service endpoints; add one with keynet service add ${name} --backend URL`
          : endpoints.map(e => [`${name}${e.path}`, ...e.nodes.map(s => `  ${s.address.slice(0, 12)}…  ${('region' in s ? s.region : '') ?? ''}  ${s.state}${'requests' in s ? `  ${s.requests} requests, ${s.errors} errors` : ''}`)].join('\n')).join('\n'))
      } finally {
        await client.close()
      }
    })
}

function normalisePrefix (path: string): string {
  if (!path.startsWith('/')) throw new MalformedMessageError('--path must start with /, e.g. /api')
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

async function connect (host: P2PHost, p: ProviderInfo): Promise<void> {
  if (host.peers().includes(p.peerId)) return
  let last: unknown
  for (const addr of dialAddrs(p)) {
    try { await host.connect(addr); return } catch (err) { last = err }
  }
  throw last
}
