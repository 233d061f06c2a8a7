import type { Command } from 'commander'
import { readFileSync } from 'node:fs'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { chooseHolders } from '../../core/placement/choose-holders.ts'
import { canonicalName } from '../../core/names/grammar.ts'
import { maxShards } from '../../foundations/limits.ts'
import { CliContext, type GlobalOptions } from '../context.ts'
import { openClient } from './content.ts'
import { positive } from '../args.ts'

export function kvCommands (program: Command, globals: () => GlobalOptions): void {
  const kv = program.command('kv').description("a name's key-value data: sharded over storage providers, signed, versioned, verified")

  kv.command('init <name>')
    .description("give a name a key-value store: choose each shard's replicas and record them in the name's shard record")
    .option('--shards <n>', 'shards (keys spread over them by hash)', '4')
    .option('--replicas <n>', 'providers per shard (distinct regions, then operators)', '3')
    .action(async (n: string, o: { shards: string, replicas: string }) => {
      const ctx = new CliContext(globals())
      const name = canonicalName(n)
      const shards = positive(o.shards, '--shards')
      if (shards > maxShards) throw new MalformedMessageError(`--shards must be at most ${maxShards}`)
      const replicas = positive(o.replicas, '--replicas')
      const client = await openClient(ctx)
      try {
        const candidates = (await client.liveProviders()).map(p => ({ id: p.address, operator: p.operator, region: p.region }))
        if (candidates.length === 0) throw new MalformedMessageError('no live storage provider to hold shards; start a devnet (`npm start`)')
        const providers = Array.from({ length: shards }, (_, i) => chooseHolders(`${name}/kv/${i}`, replicas, candidates).holders.map(h => h.id))
        const current = await ctx.api().name(name)
        const result = await ctx.send({ type: 'name-update', name, records: { ...current.records, shard: { shards, replicas, providers } } })
        ctx.print({ name, shards, replicas, providers, height: result.height }, () => `${name}: ${shards} shards × ${Math.min(replicas, candidates.length)} replicas (height ${result.height})`)
      } finally {
        await client.close()
      }
    })

  kv.command('get <name> <key>')
    .description('read a key (verified against the owner; the newest version any replica holds)')
    .action(async (n: string, key: string) => {
      const ctx = new CliContext(globals())
      const client = await openClient(ctx)
      try {
        const res = await client.fetch(kvUrl(n, key))
        await printKv(ctx, res, key)
      } finally {
        await client.close()
      }
    })

  kv.command('put <name> <key> [value]')
    .description('write a key (signed by your key, one version past the newest)')
    .option('--file <path>', 'take the value from a file')
    .option('--if-version <n>', 'only if the key is at this version now (0 = unset)')
    .action(async (n: string, key: string, value: string | undefined, o: { file?: string, ifVersion?: string }) => {
      const ctx = new CliContext(globals())
      if ((value === undefined) === (o.file === undefined)) throw new MalformedMessageError('give the value as an argument or with --file, not both')
      const body = o.file === undefined ? new TextEncoder().encode(value) : readFileSync(o.file)
      const client = await openClient(ctx, { signer: true })
      try {
        const res = await client.fetch(kvUrl(n, key), { method: 'PUT', body, headers: o.ifVersion === undefined ? {} : { 'if-version': o.ifVersion } })
        await printKv(ctx, res, key)
      } finally {
        await client.close()
      }
    })

  kv.command('delete <name> <key>')
    .description('delete a key (a signed tombstone, so replicas agree it is gone)')
    .action(async (n: string, key: string) => {
      const ctx = new CliContext(globals())
      const client = await openClient(ctx, { signer: true })
      try {
        await printKv(ctx, await client.fetch(kvUrl(n, key), { method: 'DELETE' }), key)
      } finally {
        await client.close()
      }
    })
}

function kvUrl (name: string, key: string): string {
  return `key://${canonicalName(name)}/kv/${encodeURIComponent(key)}`
}

async function printKv (ctx: CliContext, res: Response, key: string): Promise<void> {
  const version = Number(res.headers.get('x-kv-version') ?? 0)
  if (res.status >= 400) {
    const body = await res.json() as { error: { name: string, message: string } }
    throw Object.assign(new Error(body.error.message), { name: body.error.name })
  }
  const type = res.headers.get('content-type') ?? ''
  if (type.startsWith('application/json')) {
    const body = await res.json() as Record<string, unknown>
    ctx.print(body, () => `${key}: version ${String(body.version)}${body.deleted === true ? ' (deleted)' : ''}`)
    return
  }
  const bytes = new Uint8Array(await res.arrayBuffer())
  if (ctx.opts.json === true) ctx.print({ key, version, value: new TextDecoder().decode(bytes) }, () => '')
  else process.stdout.write(bytes)
}
