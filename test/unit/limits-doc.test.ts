import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { it } from 'node:test'
import { renderLimits } from '../../scripts/limits-doc.ts'

it('docs/LIMITS.md lists every named bound as the source has it (regenerate: node scripts/limits-doc.ts)', () => {
  const doc = readFileSync(new URL('../../docs/LIMITS.md', import.meta.url), 'utf8')
  assert.equal(doc, renderLimits())
  assert.match(doc, /maxTxBytes/)
})
