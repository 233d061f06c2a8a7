/**
 * Reads a Prometheus text-format (0.0.4) metrics page back into families: the inverse of
 * `renderExposition`, and lenient enough for pages from other exporters (comments, timestamps,
 * `untyped` and `summary` families, samples without a `# TYPE`). Timestamps are dropped.
 * Input is bounded (`maxExpositionBytes`, `maxParsedSamples`, `maxParsedLabels`); anything
 * outside the format is a `MetricsFormatError` naming the line.
 *
 * @example
 * ```ts
 * const families = parseExposition(await (await fetch(`${api}/metrics`)).text())
 * const height = families.find(f => f.name === 'keynet_consensus_height')?.samples[0]?.value
 * ```
 */
import { maxExpositionBytes, maxParsedLabels, maxParsedSamples } from './constants.ts'
import { MetricsFormatError } from './errors.ts'
import type { FamilyType, MetricFamily, Sample } from './family.ts'

const familyTypes: readonly FamilyType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped']
const metricNameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const labelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*/
const floatRe = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/
const timestampRe = /^-?\d+$/

/** Parses a metrics page; families come in the order they first appear. */
export function parseExposition (text: string): MetricFamily[] {
  if (Buffer.byteLength(text) > maxExpositionBytes) throw new MetricsFormatError(`the metrics page is over ${maxExpositionBytes} bytes; scrape a smaller registry`)
  const families = new Map<string, MetricFamily & { typed: boolean, helped: boolean }>()
  const familyOf = (name: string): MetricFamily & { typed: boolean, helped: boolean } => {
    let family = families.get(name)
    if (family === undefined) {
      family = { name, help: '', type: 'untyped', samples: [], typed: false, helped: false }
      families.set(name, family)
    }
    return family
  }
  let samples = 0
  const lines = text.split('\n')
  lines.forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    const fail = (what: string): never => { throw new MetricsFormatError(`line ${index + 1}: ${what}; expected the Prometheus text format 0.0.4`) }
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:[ \t]+(.*))?$/.exec(line)
      if (m === null) return // an ordinary comment
      const [, keyword, name = '', rest = ''] = m
      const family = familyOf(name)
      if (keyword === 'HELP') {
        if (family.helped) fail(`a second HELP for ${name}`)
        family.help = unescapeHelp(rest, fail)
        family.helped = true
      } else {
        const type = rest.trim() as FamilyType
        if (!familyTypes.includes(type)) fail(`unknown type "${rest.trim()}" for ${name}`)
        if (family.typed) fail(`a second TYPE for ${name}`)
        if (family.samples.length > 0) fail(`the TYPE of ${name} comes after its samples`)
        family.type = type
        family.typed = true
      }
      return
    }
    const sample = parseSample(line, fail)
    samples += 1
    if (samples > maxParsedSamples) fail(`more than ${maxParsedSamples} samples`)
    const family = owningFamily(families, sample.name) ?? familyOf(sample.name)
    if (family.type === 'histogram' && family.name === sample.name) fail(`histogram ${family.name} has a sample without _bucket, _sum or _count`)
    family.samples.push(sample)
  })
  return [...families.values()].map(({ name, help, type, samples }) => ({ name, help, type, samples }))
}

/** The histogram or summary a suffixed sample name belongs to, or the family of that exact name. */
function owningFamily (families: Map<string, MetricFamily>, sampleName: string): MetricFamily | undefined {
  const exact = families.get(sampleName)
  if (exact !== undefined) return exact
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue
    const family = families.get(sampleName.slice(0, -suffix.length))
    if (family?.type === 'histogram' || (family?.type === 'summary' && suffix !== '_bucket')) return family
  }
  return undefined
}

function parseSample (line: string, fail: (what: string) => never): Sample {
  let i = 0
  const skipBlanks = (): void => { while (line[i] === ' ' || line[i] === '\t') i++ }
  const name = metricNameRe.exec(line)?.[0]
  if (name === undefined) fail('a sample must start with a metric name')
  i = name.length
  const labels: Record<string, string> = {}
  skipBlanks()
  if (line[i] !== '{') i = name.length
  else {
    i++
    for (;;) {
      skipBlanks()
      if (line[i] === '}') { i++; break }
      const label = labelNameRe.exec(line.slice(i))?.[0]
      if (label === undefined) fail(`a label name expected at column ${i + 1}`)
      i += label.length
      skipBlanks()
      if (line[i] !== '=') fail(`"=" expected after label ${label}`)
      i++
      skipBlanks()
      if (line[i] !== '"') fail(`a quoted value expected for label ${label}`)
      i++
      let value = ''
      for (;;) {
        const ch = line[i]
        if (ch === undefined) fail(`the value of label ${label} is not closed`)
        i++
        if (ch === '"') break
        if (ch !== '\\') { value += ch; continue }
        const next = line[i]
        i++
        if (next === '\\' || next === '"') value += next
        else if (next === 'n') value += '\n'
        else fail(`unknown escape "\\${next ?? ''}" in label ${label}`)
      }
      if (Object.hasOwn(labels, label)) fail(`label ${label} appears twice`)
      labels[label] = value
      if (Object.keys(labels).length > maxParsedLabels) fail(`more than ${maxParsedLabels} labels`)
      skipBlanks()
      if (line[i] === ',') { i++; continue }
      if (line[i] === '}') { i++; break }
      fail(`"," or "}" expected after label ${label}`)
    }
  }
  const rest = line.slice(i)
  if (!/^[ \t]/.test(rest)) fail(`a blank and a value expected after ${name}`)
  const tokens = rest.trim().split(/[ \t]+/)
  if (tokens.length > 2) fail('text after the value and timestamp')
  const [valueText = '', timestamp] = tokens
  if (timestamp !== undefined && !timestampRe.test(timestamp)) fail(`"${timestamp}" is not a timestamp in milliseconds`)
  return { name, labels, value: parseValue(valueText, fail) }
}

function parseValue (text: string, fail: (what: string) => never): number {
  const lower = text.toLowerCase()
  if (lower === 'nan') return NaN
  if (lower === '+inf' || lower === 'inf') return Infinity
  if (lower === '-inf') return -Infinity
  if (!floatRe.test(text)) fail(`"${text}" is not a number`)
  return Number(text)
}

function unescapeHelp (text: string, fail: (what: string) => never): string {
  return text.replace(/\\(.?)/g, (_m, ch: string) => {
    if (ch === '\\') return '\\'
    if (ch === 'n') return '\n'
    return fail(`unknown escape "\\${ch}" in HELP`)
  })
}
