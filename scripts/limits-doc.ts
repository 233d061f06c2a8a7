/**
 * Writes docs/LIMITS.md from the named bounds in the source (each `export const` with its doc
 * comment), so the list operators read cannot drift from the code. `--check` exits 1 if the file
 * is stale (the test suite runs it).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = new URL('../', import.meta.url)
export const limitSources = [
  'src/foundations/limits.ts',
  'src/core/consensus/constants.ts',
  'src/core/auth-map/constants.ts',
  'src/services/p2p/constants.ts',
  'src/core/content/constants.ts',
  'src/services/storage/constants.ts',
  'src/edges/gateway/constants.ts',
  'src/core/dns/constants.ts',
  'src/edges/dns/constants.ts',
  'src/core/kv/constants.ts',
  'src/services/kv/constants.ts',
  'src/services/metrics/constants.ts',
  'src/core/routing/constants.ts',
  'src/services/routing/constants.ts',
  'src/services/service/constants.ts',
  'src/core/market/constants.ts',
  'src/core/site-import/constants.ts',
  'src/services/market/constants.ts',
  'src/core/compute/constants.ts',
  'src/services/compute/constants.ts'
]

export function renderLimits (): string {
  const out = ['# Limits', '', 'Every bound of the protocol and the node, generated from the source by `node scripts/limits-doc.ts`.', '']
  for (const source of limitSources) {
    let text: string
    try { text = readFileSync(new URL(source, root), 'utf8') } catch { continue }
    out.push(`## \`${source}\``, '', '| name | value | why |', '|---|---|---|')
    const re = /(?:\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*)?export const (\w+)(?:: [^=]+)? = ([^\n]+?)(?:\s*\/\/ (.*))?\n/g
    for (const m of text.matchAll(re)) {
      const doc = (m[1] ?? m[4] ?? '').replace(/\n\s*\*\s?/g, ' ').replace(/\s+/g, ' ').trim()
      out.push(`| \`${m[2]}\` | \`${(m[3] ?? '').trim()}\` | ${doc.replace(/\|/g, '\\|')} |`)
    }
    out.push('')
  }
  return out.join('\n')
}

const target = fileURLToPath(new URL('docs/LIMITS.md', root))
if (import.meta.url === `file://${process.argv[1]}`) {
  const text = renderLimits()
  if (process.argv.includes('--check')) {
    const current = (() => { try { return readFileSync(target, 'utf8') } catch { return '' } })()
    if (current !== text) { console.error('docs/LIMITS.md is stale: run `node scripts/limits-doc.ts`'); process.exit(1) }
  } else {
    writeFileSync(target, text)
  }
}
