import type { Command } from 'commander'
import { toHex } from '../../foundations/bytes.ts'
import { InvalidTransactionError } from '../../foundations/errors.ts'
import { positive } from '../args.ts'
import { checkRecordsShape } from '../../core/ledger/records.ts'
import type { NameRecords } from '../../core/ledger/types.ts'
import { verifyNameProof } from '../../core/light-client/verify-name.ts'
import { defaultMaxAnswerAgeMs } from '../../core/light-client/freshness.ts'
import { canonicalName } from '../../core/names/grammar.ts'
import { CliContext, parseAddressArg, type GlobalOptions } from '../context.ts'

interface RecordOptions { text?: string[], content?: string, replicas?: string, regions?: string, removeText?: string[], clear?: boolean }

export function nameCommands (program: Command, globals: () => GlobalOptions): void {
  const name = program.command('name').description('register, update, transfer, renew and look up .key names')

  name.command('register <name>')
    .description('register a free name for your key (first come, first served; short labels cost more)')
    .option('--terms <n>', 'terms (years) to pay for', '1')
    .option('--owner <address>', 'register it for another address')
    .option('--text <key=value...>', 'text records to set')
    .option('--content <cid>', 'content root CID')
    .option('--replicas <n>', 'providers that must hold the content', '3')
    .option('--regions <n>', 'distinct regions for the content', '3')
    .action(async (n: string, o: RecordOptions & { terms: string, owner?: string }) => {
      const ctx = new CliContext(globals())
      const records = applyRecordOptions({}, o)
      const result = await ctx.send({
        type: 'name-register', name: canonicalName(n), terms: positive(o.terms, '--terms'),
        ...(o.owner === undefined ? {} : { owner: parseAddressArg(o.owner) }),
        ...(Object.keys(records).length === 0 ? {} : { records })
      })
      ctx.print({ name: canonicalName(n), ...result }, () => `registered ${canonicalName(n)} to ${o.owner ?? result.from} at height ${result.height}`)
    })

  name.command('update <name>')
    .description("change a name's records (the rest stay as they are)")
    .option('--text <key=value...>', 'text records to set')
    .option('--remove-text <key...>', 'text records to remove')
    .option('--content <cid>', 'content root CID')
    .option('--replicas <n>', 'providers that must hold the content')
    .option('--regions <n>', 'distinct regions for the content')
    .option('--clear', 'start from an empty record set')
    .action(async (n: string, o: RecordOptions) => {
      const ctx = new CliContext(globals())
      const current = await ctx.api().name(canonicalName(n))
      const records = applyRecordOptions(o.clear === true ? {} : current.records, o)
      const result = await ctx.send({ type: 'name-update', name: current.name, records, ifVersion: current.version })
      ctx.print({ name: current.name, version: current.version + 1, records, ...result }, () => `updated ${current.name} to version ${current.version + 1} at height ${result.height}`)
    })

  name.command('transfer <name>')
    .description('give a name to another address (also how you move it to a new key)')
    .requiredOption('--to <address>', 'the new owner address')
    .action(async (n: string, o: { to: string }) => {
      const ctx = new CliContext(globals())
      const result = await ctx.send({ type: 'name-transfer', name: canonicalName(n), to: parseAddressArg(o.to) })
      ctx.print({ name: canonicalName(n), to: o.to, ...result }, () => `transferred ${canonicalName(n)} to ${o.to} at height ${result.height}`)
    })

  name.command('renew <name>')
    .description('extend a name by whole terms (also within the grace period after expiry)')
    .option('--terms <n>', 'terms (years) to add', '1')
    .action(async (n: string, o: { terms: string }) => {
      const ctx = new CliContext(globals())
      const result = await ctx.send({ type: 'name-renew', name: canonicalName(n), terms: positive(o.terms, '--terms') })
      const after = await ctx.api().name(canonicalName(n))
      ctx.print({ name: after.name, expiresAt: after.expiresAt, ...result }, () => `renewed ${after.name} until ${new Date(after.expiresAt).toISOString()}`)
    })

  name.command('show <name>')
    .description("show a name's owner, expiry and records")
    .option('--verify', 'check the answer against a state proof signed by >2/3 of the validators instead of trusting the node')
    .option('--max-age <seconds>', 'with --verify: refuse an answer resting on a block older than this (a node behind, or hiding a newer record)', String(defaultMaxAnswerAgeMs / 1000))
    .action(async (n: string, o: { verify?: boolean, maxAge: string }) => {
      const ctx = new CliContext(globals())
      const api = ctx.api()
      if (o.verify !== true) {
        const view = await api.name(n)
        ctx.print(view, () => describe(view.name, view.owner, view.status, view.expiresAt, view.version, view.records, `node ${api.base} at height ${view.height} (unverified)`))
        return
      }
      const started = performance.now()
      const genesis = await ctx.trustedGenesis(api)
      const proof = await api.nameProof(n)
      const v = verifyNameProof(genesis, proof, n, { now: Date.now(), maxAgeMs: positive(o.maxAge, '--max-age') * 1000 })
      const ms = performance.now() - started
      const age = Math.max(0, Math.round((Date.now() - v.header.time) / 1000))
      const source = `verified: block ${v.header.height} (${age} s old) signed by ${v.signedPower}/${v.totalPower} of the validator power, proof ${v.proofBytes} bytes`
      if (v.entry === undefined) {
        ctx.print({ name: v.name, registered: false, verified: true, height: v.header.height }, () => `${v.name} is not registered (${source})`)
        process.exitCode = 1
        return
      }
      const owner = toHex(v.entry.owner)
      ctx.print({ name: v.name, owner, status: v.status, expiresAt: v.expiresAt, version: v.entry.version, records: v.entry.records, verified: true, height: v.header.height, stateRoot: toHex(v.header.stateRoot), signedPower: v.signedPower, totalPower: v.totalPower, proofBytes: v.proofBytes, ms },
        () => describe(v.name, owner, v.status, v.expiresAt ?? 0, v.entry?.version ?? 0, v.entry?.records ?? {}, source))
    })
}

function describe (name: string, owner: string, status: string, expiresAt: number, version: number, records: NameRecords, source: string): string {
  const lines = [
    `${name}`,
    `  owner     ${owner}`,
    `  status    ${status} until ${new Date(expiresAt).toISOString()}`,
    `  version   ${version}`
  ]
  if (records.content !== undefined) lines.push(`  content   ${records.content.cid} (${records.content.replicas} replicas in ${records.content.regions} regions)`)
  for (const s of records.service ?? []) lines.push(`  service   ${s.path} -> ${s.providers.join(', ')}`)
  if (records.shard !== undefined) lines.push(`  shard     ${records.shard.shards} shards x ${records.shard.replicas} replicas`)
  for (const [k, v] of Object.entries(records.text ?? {})) lines.push(`  text      ${k}=${v}`)
  lines.push(`  source    ${source}`)
  return lines.join('\n')
}

function applyRecordOptions (base: NameRecords, o: RecordOptions): NameRecords {
  const records: NameRecords = structuredClone(base)
  for (const kv of o.text ?? []) {
    const i = kv.indexOf('=')
    if (i <= 0) throw new InvalidTransactionError(`--text takes key=value, got "${kv}"`)
    records.text = { ...records.text, [kv.slice(0, i)]: kv.slice(i + 1) }
  }
  for (const k of o.removeText ?? []) delete records.text?.[k]
  if (records.text !== undefined && Object.keys(records.text).length === 0) delete records.text
  if (o.content !== undefined) {
    records.content = { cid: o.content, replicas: positive(o.replicas ?? '3', '--replicas'), regions: positive(o.regions ?? '3', '--regions') }
  } else if (records.content !== undefined && (o.replicas !== undefined || o.regions !== undefined)) {
    records.content = { ...records.content, ...(o.replicas === undefined ? {} : { replicas: positive(o.replicas, '--replicas') }), ...(o.regions === undefined ? {} : { regions: positive(o.regions, '--regions') }) }
  }
  return checkRecordsShape(records)
}
