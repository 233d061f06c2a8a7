/** `key://` URLs: `key://mysite.key/<path>` (a name) or `key://<cid>/<path>` (content by CID). */
import { MalformedMessageError } from '../foundations/errors.ts'
import { parseCid, type CID } from '../core/content/cid.ts'
import { parseName } from '../core/names/grammar.ts'

export type KeyUrl =
  | { kind: 'name', name: string, path: string, search: string }
  | { kind: 'cid', cid: CID, path: string, search: string }

/** Parses a `key://` URL; the path keeps its percent-encoding (decoded per segment later). */
export function parseKeyUrl (input: string | URL): KeyUrl {
  const text = typeof input === 'string' ? input : input.href
  const m = /^key:\/\/([^/?#]+)([^?#]*)(\?[^#]*)?/i.exec(text)
  if (m === null) throw new MalformedMessageError(`"${text.slice(0, 100)}" is not a key:// URL (key://mysite.key/path or key://<cid>/path)`)
  const host = m[1] ?? ''
  const path = m[2] === undefined || m[2] === '' ? '/' : m[2]
  const search = m[3] ?? ''
  if (host.toLowerCase().endsWith('.key')) return { kind: 'name', name: parseName(host).name, path, search }
  return { kind: 'cid', cid: parseCid(host), path, search }
}
