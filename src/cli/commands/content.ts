import type { Command } from 'commander'
import { createWriteStream, mkdirSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { toHex } from '../../foundations/bytes.ts'
import { addressOf } from '../../foundations/crypto.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { formatBytes } from '../../foundations/units.ts'
import { parseCid, type BlockGetter, type CID } from '../../core/content/cid.ts'
import { readFile, resolvePath, walkDag, type Entry } from '../../core/content/exporter.ts'
import { writeCar } from '../../core/content/car.ts'
import { canonicalName } from '../../core/names/grammar.ts'
import { blockLeafHashes, CommitmentTree, type BlockLeaves } from '../../core/market/commitment.ts'
import type { DealView } from '../../edges/api/market-routes.ts'
import { openDeal } from '../market/open-deal.ts'
import { FaultLog } from '../../services/content/fault-log.ts'
import { scanLocal } from '../../services/content/import-fs.ts'
import { receivedBlockBuffers } from '../../services/storage/block-buffers.ts'
import { ApiDirectory } from '../../sdk/api-directory.ts'
import { KeynetClient, type BlockTransport } from '../../sdk/keynet-client.ts'
import { CliContext, type GlobalOptions } from '../context.ts'
import { ProgressBar } from '../progress.ts'
import { positive } from '../args.ts'

/** The flags of every command that places content on providers (publish, put, import). */
export interface PlacementFlags { replicas: string, regions: string, periods: string, deal: boolean }

/** Adds the placement flags: replicas, regions, and the storage deal's length or none. */
export function withPlacementOptions (command: Command): Command {
  return command
    .option('--replicas <n>', 'providers that must hold every block', '3')
    .option('--regions <n>', 'distinct regions wanted among them', '3')
    .option('--periods <n>', 'settlement periods the storage deal pays for (escrow = price × GiB × periods per provider)', String(defaultDealPeriods))
    .option('--no-deal', 'pin without opening a storage deal (nobody audits or pays the holders)')
}

/** The placement flags, checked: `periods` 0 means no deal. */
export function placementFrom (o: PlacementFlags): { replicas: number, regions: number, periods: number } {
  return { replicas: positive(o.replicas, '--replicas'), regions: positive(o.regions, '--regions'), periods: o.deal ? positive(o.periods, '--periods') : 0 }
}

export function contentCommands (program: Command, globals: () => GlobalOptions): void {
  withPlacementOptions(program.command('publish <path>')
    .description('publish a folder (a site) or a file: blocks to several providers, then the name points at it')
    .option('--name <name>', 'the .key name whose content record to set (yours)'))
    .addHelpText('after', '\nPublishing opens a storage deal with the holders: escrow from your account pays each holder per\nsettlement period, only for periods its audits passed. Example: keynet publish ./my-site --name mysite.key --replicas 3 --regions 3')
    .action(async (path: string, o: PlacementFlags & { name?: string }) => {
      await upload(new CliContext(globals()), path, { ...placementFrom(o), ...(o.name === undefined ? {} : { name: canonicalName(o.name) }) })
    })

  withPlacementOptions(program.command('put <file>')
    .description('store a file (a blob) on several providers; prints its CID'))
    .action(async (file: string, o: PlacementFlags) => {
      await upload(new CliContext(globals()), file, placementFrom(o))
    })

  program.command('get <target>')
    .description('fetch name.key/path or <cid>/path, verified block by block, from several providers at once')
    .option('-o, --output <path>', 'write here (a folder for folders; default: stdout for files)')
    .option('--no-http', "fetch over libp2p only, not over providers' HTTP block endpoints")
    .addHelpText('after', '\nExamples:\n  keynet get mysite.key/docs/guide.pdf -o guide.pdf\n  keynet get bafybei…/index.html')
    .action(async (target: string, o: { output?: string, http: boolean }) => {
      const ctx = new CliContext(globals())
      await withContent(ctx, target, async ({ entry, get, label, client }) => {
        const started = performance.now()
        if (entry.kind === 'directory') {
          if (o.output === undefined) throw new MalformedMessageError(`${label} is a folder: pass -o <folder> to download it, or name a file inside it`)
          const { files, bytes } = await downloadFolder(entry.cid, get, resolve(o.output), ctx.opts.json !== true)
          ctx.print({ target: label, cid: entry.cid.toString(), files, bytes, ms: Math.round(performance.now() - started) }, () => `saved ${files} files (${formatBytes(bytes)}) of ${label} to ${o.output}`)
          return
        }
        const bar = new ProgressBar(`get ${label}`, entry.size, { enabled: ctx.opts.json !== true && o.output !== undefined })
        let done = 0
        const source = (async function * () {
          for await (const chunk of readFile(entry.cid, get, { concurrency: 24 })) {
            done += chunk.byteLength
            bar.update(done)
            yield chunk
          }
        })()
        if (o.output === undefined) await pipeline(Readable.from(source), process.stdout)
        else await writeGiving(source, o.output)
        bar.finish()
        const stats = client.fetcherStats()
        if (o.output !== undefined) {
          const cpu = process.cpuUsage()
          ctx.print({ target: label, cid: entry.cid.toString(), bytes: done, ms: Math.round(performance.now() - started), cpuMs: Math.round((cpu.user + cpu.system) / 1000), providers: stats },
            () => `saved ${label} (${formatBytes(done)}, ${entry.cid.toString()}) to ${o.output}, verified, from ${stats.filter(s => s.blocks > 0).length} providers`)
        }
      }, o.http ? 'auto' : 'libp2p')
    })

  program.command('fetch <url>')
    .description('fetch any key:// URL through the SDK client (content today; services and data as they land); body to stdout')
    .option('-X, --method <method>', 'HTTP method', 'GET')
    .option('-H, --header <name: value>', 'request header (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('-d, --data <text>', 'request body')
    .option('-o, --output <file>', 'write the body here instead of stdout')
    .option('-i, --include', 'print the status line and headers first')
    .addHelpText('after', '\nExamples:\n  keynet fetch key://mysite.key/index.html\n  keynet fetch key://mysite.key/docs/guide.pdf -H "Range: bytes=0-99" -i')
    .action(async (url: string, o: { method: string, header?: string[], data?: string, output?: string, include?: boolean }) => {
      const ctx = new CliContext(globals())
      const client = await openClient(ctx)
      try {
        const headers = new Headers()
        for (const h of o.header ?? []) {
          const i = h.indexOf(':')
          if (i <= 0) throw new MalformedMessageError(`header "${h}" must look like "Name: value"`)
          headers.append(h.slice(0, i).trim(), h.slice(i + 1).trim())
        }
        const res = await client.fetch(url, { method: o.method, headers, ...(o.data === undefined ? {} : { body: o.data }) })
        if (o.include === true) {
          process.stdout.write(`${res.status} ${res.statusText}\n`)
          for (const [k, v] of res.headers) process.stdout.write(`${k}: ${v}\n`)
          process.stdout.write('\n')
        }
        const sink = o.output === undefined ? process.stdout : createWriteStream(o.output)
        if (res.body !== null) await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), sink, { end: o.output !== undefined })
        if (res.status >= 400) process.exitCode = 1
      } finally {
        await client.close()
      }
    })

  program.command('export <target>')
    .description('write a CID or name (with optional /path) as a CAR file readable by standard IPFS tools')
    .requiredOption('-o, --output <file>', 'the .car file to write')
    .action(async (target: string, o: { output: string }) => {
      const ctx = new CliContext(globals())
      await withContent(ctx, target, async ({ entry, get, label }) => {
        let blocks = 0
        let bytes = 0
        const counted = (async function * () {
          for await (const block of walkDag(entry.cid, get, { concurrency: 16 })) {
            blocks++
            bytes += block.bytes.byteLength
            yield block
          }
        })()
        await pipeline(Readable.from(writeCar([entry.cid], counted)), createWriteStream(o.output))
        ctx.print({ target: label, root: entry.cid.toString(), blocks, bytes, file: o.output }, () => `wrote ${o.output}: root ${entry.cid.toString()}, ${blocks} blocks, ${formatBytes(bytes)}`)
      })
    })
}

/** Periods a publish's storage deal runs by default: an hour of 30 s periods. */
const defaultDealPeriods = 120

async function upload (ctx: CliContext, path: string, o: { replicas: number, regions: number, periods: number, name?: string }): Promise<void> {
  const { summary, text } = await publishPath(ctx, path, o)
  ctx.print(summary, () => text)
}

/** What `publishPath` placed and pinned, and the storage deal it opened, for printing. */
export interface PublishSummary {
  cid: string
  size: number
  files: number
  bytes: number
  name: string | undefined
  holders: Array<{ address: string, region: string, operator: string }>
  regions: number
  operators: number
  height: number | undefined
  seconds: number
  deal?: { id: string, escrow: DealView['escrow']['deposited'], periods: number, startPeriod: number }
}

/**
 * Uploads a folder or file to chosen providers, pins it (pointing `name` at it) and, for
 * `periods` > 0, opens a storage deal paying its holders for audited periods; with a progress bar.
 */
export async function publishPath (ctx: CliContext, path: string, o: { replicas: number, regions: number, periods: number, name?: string }): Promise<{ summary: PublishSummary, text: string }> {
  const source = scanLocal(path)
  for (const s of source.skipped) process.stderr.write(`keynet: skipped ${s} (not a regular file or folder)\n`)
  if (o.name !== undefined) {
    // Fail before uploading anything if the name is not ours to point.
    const [view, { key }] = await Promise.all([ctx.api().name(o.name), ctx.signer()])
    if (view.owner !== toHex(addressOf(key.publicKey))) throw new MalformedMessageError(`${o.name} is owned by ${view.owner}, not by the signing identity; pass --from <identity> or register a name you own`)
  }
  const client = await openClient(ctx)
  try {
    const bar = new ProgressBar(`publish ${basename(resolve(path))}`, source.totalBytes, { enabled: ctx.opts.json !== true })
    const started = performance.now()
    const leaves = new Map<string, BlockLeaves>()
    const onBlock = o.periods === 0
      ? undefined
      : (block: { cid: CID, bytes: Uint8Array }): void => {
          const cid = block.cid.toString()
          if (!leaves.has(cid)) leaves.set(cid, { cid, size: block.bytes.byteLength, leaves: blockLeafHashes(block.bytes) })
        }
    const result = await client.upload({ source, replicas: o.replicas, contentKey: o.name ?? basename(resolve(path)), onProgress: (bytes, note) => { bar.update(bytes, note) }, ...(onBlock === undefined ? {} : { onBlock }) })
    bar.finish(`placed on ${result.holders.length} providers`)
    const seconds = (performance.now() - started) / 1000
    if (result.holders.length < o.replicas) process.stderr.write(`keynet: only ${result.holders.length} of ${o.replicas} providers took the content\n`)
    const sent = await ctx.send({
      type: 'content-pin', cid: result.root.toString(), replicas: Math.min(o.replicas, result.holders.length), regions: o.regions,
      holders: result.holders.map(h => Uint8Array.from(Buffer.from(h.address, 'hex'))),
      ...(o.name === undefined ? {} : { name: o.name })
    })
    let deal: DealView | undefined
    if (o.periods > 0) {
      const tree = new CommitmentTree([...leaves.values()])
      try {
        deal = await openDeal(ctx, {
          kind: 'storage', providers: result.holders.map(h => h.address), units: Math.max(1, Math.ceil(result.size / 2 ** 30)), periods: o.periods,
          replicas: Math.min(o.replicas, result.holders.length), regions: Math.min(o.regions, result.regions), cid: result.root.toString(), dataRoot: tree.root, segments: tree.segments
        })
      } catch (err) {
        // The content is pinned either way; without a deal nobody audits or pays its holders.
        process.stderr.write(`keynet: the content is pinned, but no storage deal was opened: ${(err as Error).name}: ${(err as Error).message}\n`)
      }
    }
    const summary: PublishSummary = {
      cid: result.root.toString(), size: result.size, files: source.files.length, bytes: source.totalBytes, name: o.name,
      holders: result.holders.map(h => ({ address: h.address, region: h.region, operator: h.operator })),
      regions: result.regions, operators: result.operators, height: sent.height, seconds: Number(seconds.toFixed(2)),
      ...(deal === undefined ? {} : { deal: { id: deal.id, escrow: deal.escrow.deposited, periods: deal.periods, startPeriod: deal.startPeriod } })
    }
    const text = [
      result.root.toString(),
      `  ${source.files.length} file(s), ${formatBytes(source.totalBytes)} in ${seconds.toFixed(1)} s (${formatBytes(source.totalBytes / Math.max(seconds, 0.001))}/s)`,
      `  held by ${result.holders.length} providers in ${result.regions} regions under ${result.operators} operators: ${result.holders.map(h => `${h.region}/${h.address.slice(0, 8)}`).join(', ')}`,
      o.name === undefined ? `  pinned at height ${sent.height}` : `  ${o.name} now points at it (height ${sent.height})`,
      ...(deal === undefined ? [] : [`  storage deal ${deal.id}: ${deal.escrow.deposited} in escrow for ${deal.periods} periods, paid per period only for passed audits`])
    ].join('\n')
    return { summary, text }
  } finally {
    await client.close()
  }
}

/** The SDK client over the CLI's node API, trusting the same validator set as `--verify`; `signer` for writes. */
export async function openClient (ctx: CliContext, opts: { signer?: boolean, blockTransport?: BlockTransport } = {}): Promise<KeynetClient> {
  const api = ctx.api()
  const signer = opts.signer === true ? (await ctx.signer()).key : undefined
  return await KeynetClient.withOwnHost({
    directory: new ApiDirectory(api, await ctx.trustedGenesis(api)),
    faults: new FaultLog(join(ctx.home, 'faults.jsonl')),
    ...(signer === undefined ? {} : { signer }),
    ...(opts.blockTransport === undefined ? {} : { blockTransport: opts.blockTransport })
  })
}

interface Resolved { entry: Entry, get: BlockGetter, label: string, root: CID, client: { fetcherStats: () => Array<{ peerId: string, blocks: number, bytes: number }> } }

/** Resolves `name.key/path`, `key://name.key/path` or `<cid>/path`, the name through a verified proof. */
export async function withContent (ctx: CliContext, target: string, use: (r: Resolved) => Promise<void>, blockTransport: BlockTransport = 'auto'): Promise<void> {
  const stripped = target.replace(/^key:\/\//, '').replace(/^\/+/, '')
  const slash = stripped.indexOf('/')
  const head = slash < 0 ? stripped : stripped.slice(0, slash)
  const path = slash < 0 ? '' : stripped.slice(slash + 1)
  const client = await openClient(ctx, { blockTransport })
  try {
    const root = head.toLowerCase().endsWith('.key') ? (await client.resolve(head)).cid : parseCid(head)
    const { get, fetcher } = await client.blocksFor(root)
    const entry = await resolvePath(root, decodeURIComponent(path), get)
    await use({ entry, get, label: target, root, client: { fetcherStats: () => fetcher.stats() } })
  } finally {
    await client.close()
  }
}

/**
 * Writes `chunks` to the file `path`, each one before taking the next, and gives each chunk's
 * buffer back to the received-block pool once it is on its way to disk (nothing reads it after).
 */
async function writeGiving (chunks: AsyncIterable<Uint8Array>, path: string): Promise<void> {
  const file = await open(path, 'w')
  receivedBlockBuffers.reuse()
  try {
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.byteLength;) at += (await file.write(chunk, at, chunk.byteLength - at)).bytesWritten
      receivedBlockBuffers.give(chunk)
    }
  } finally {
    await file.close()
  }
}

async function downloadFolder (cid: CID, get: BlockGetter, out: string, show: boolean): Promise<{ files: number, bytes: number }> {
  let files = 0
  let bytes = 0
  const walk = async (dirCid: CID, dir: string, depth: number): Promise<void> => {
    if (depth > 64) throw new MalformedMessageError('folders nest deeper than 64 levels')
    const entry = await resolvePath(dirCid, '', get)
    if (entry.kind !== 'directory') return
    mkdirSync(dir, { recursive: true })
    for (const child of entry.entries) {
      if (child.name === '' || child.name === '.' || child.name === '..' || child.name.includes('/') || child.name.includes('\\')) throw new MalformedMessageError(`unsafe file name "${child.name}" in the folder`)
      const target = join(dir, child.name)
      const inner = await resolvePath(child.cid, '', get)
      if (inner.kind === 'directory') { await walk(child.cid, target, depth + 1); continue }
      mkdirSync(dirname(target), { recursive: true })
      await writeGiving(readFile(inner.cid, get, { concurrency: 24 }), target)
      files++
      bytes += inner.size
      if (show) process.stderr.write(`  ${target} (${formatBytes(inner.size)})\n`)
    }
  }
  await walk(cid, out, 0)
  return { files, bytes }
}
