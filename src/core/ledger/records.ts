import { encode } from '../../foundations/encoding.ts'
import { MalformedMessageError, RecordTooLargeError } from '../../foundations/errors.ts'
import { maxRecordBytes, maxServiceEndpoints, maxShards, maxTextKeyChars, maxTextRecords } from '../../foundations/limits.ts'
import * as shape from '../../foundations/shape.ts'
import type { NameRecords, ServiceEndpoint } from './types.ts'

/** Shape-checks a record set from the wire or the CLI and returns it with only known fields. */
export function checkRecordsShape (v: unknown): NameRecords {
  const r = shape.record(v, 'records')
  shape.onlyKeys(r, 'records', ['content', 'service', 'shard', 'text'])
  const out: NameRecords = {}
  if (r.content !== undefined) {
    const c = shape.record(r.content, 'records.content')
    shape.onlyKeys(c, 'records.content', ['cid', 'replicas', 'regions'])
    const cid = shape.str(c.cid, 'records.content.cid', 128)
    if (!/^[a-zA-Z0-9]+$/.test(cid)) throw new MalformedMessageError('records.content.cid must be a multibase CID string')
    out.content = { cid, replicas: small(c.replicas, 'records.content.replicas'), regions: small(c.regions, 'records.content.regions') }
  }
  if (r.service !== undefined) {
    out.service = shape.list(r.service, 'records.service', maxServiceEndpoints).map((e, i) => endpoint(e, `records.service[${i}]`))
  }
  if (r.shard !== undefined) {
    const s = shape.record(r.shard, 'records.shard')
    shape.onlyKeys(s, 'records.shard', ['shards', 'replicas', 'providers'])
    const shards = shape.uint(s.shards, 'records.shard.shards')
    if (shards < 1 || shards > maxShards) throw new MalformedMessageError(`records.shard.shards must be 1..${maxShards}`)
    out.shard = { shards, replicas: small(s.replicas, 'records.shard.replicas') }
    if (s.providers !== undefined) {
      out.shard.providers = shape.list(s.providers, 'records.shard.providers', maxShards)
        .map((p, i) => shape.list(p, `records.shard.providers[${i}]`, 16).map(x => shape.str(x, 'provider id', 128)))
    }
  }
  if (r.text !== undefined) {
    const t = shape.record(r.text, 'records.text')
    const keys = Object.keys(t)
    if (keys.length > maxTextRecords) throw new RecordTooLargeError(`at most ${maxTextRecords} text records`)
    out.text = {}
    for (const k of keys) {
      if (!/^[a-z0-9][a-z0-9._-]*$/.test(k) || k.length > maxTextKeyChars) throw new MalformedMessageError(`text record key "${k.slice(0, 70)}" must be a-z 0-9 . _ - and at most ${maxTextKeyChars} characters`)
      out.text[k] = shape.str(t[k], `records.text.${k}`, maxRecordBytes)
    }
  }
  return out
}

/** Throws `RecordTooLargeError` when the encoded record set exceeds `maxRecordBytes`. */
export function checkRecordsSize (records: NameRecords): void {
  const size = encode(records).byteLength
  if (size > maxRecordBytes) throw new RecordTooLargeError(`records are ${size} bytes encoded; the limit is ${maxRecordBytes} per name`)
}

function endpoint (v: unknown, field: string): ServiceEndpoint {
  const e = shape.record(v, field)
  shape.onlyKeys(e, field, ['path', 'protocol', 'providers', 'regions'])
  const path = shape.str(e.path, `${field}.path`, 256)
  if (!path.startsWith('/')) throw new MalformedMessageError(`${field}.path must start with /`)
  if (e.protocol !== 'http') throw new MalformedMessageError(`${field}.protocol must be "http"`)
  const out: ServiceEndpoint = {
    path,
    protocol: 'http',
    providers: shape.list(e.providers, `${field}.providers`, 16).map(p => shape.str(p, `${field}.providers[]`, 128))
  }
  if (e.regions !== undefined) out.regions = shape.list(e.regions, `${field}.regions`, 16).map(p => shape.str(p, `${field}.regions[]`, 64))
  return out
}

function small (v: unknown, field: string): number {
  const n = shape.uint(v, field)
  if (n < 1 || n > 64) throw new MalformedMessageError(`${field} must be 1..64`)
  return n
}
