/**
 * The links an HTML page or a style sheet makes to other files, as written (relative or
 * absolute, not yet resolved): what a crawler must fetch so the copy renders like the original.
 *
 * HTML: `href`, `src`, `srcset`, `poster` and `data` attributes of any element (entities decoded),
 * `<base href>`, `url(...)` in `<style>` blocks and `style` attributes; nothing inside `<script>`,
 * comments or `<template>`-less raw text is read as markup. CSS: `url(...)` and `@import "x"`.
 * A small tokenizer, not a full HTML parser: it reads what authors write, and a link it misses
 * only means a file not copied (reported as broken by the comparison the owner runs).
 */
import { maxLinksPerDocument, maxScannedDocumentBytes } from './constants.ts'

/** Links found in one document. */
export interface DocumentLinks {
  /** Link targets as written, in document order, duplicates kept out. */
  links: string[]
  /** The `<base href>` value, when the page sets one (links resolve against it). */
  base?: string
  /** Links left out past `maxLinksPerDocument`. */
  dropped: number
}

/** Attributes whose value is one URL. */
const urlAttributes = new Set(['href', 'src', 'poster', 'data', 'action', 'background'])
/** Schemes that are not documents to fetch. */
const ignoredScheme = /^(?:javascript|mailto|tel|data|blob|about|sms|geo|urn|ftp):/i

/** Links of an HTML document. */
export function htmlLinks (html: string): DocumentLinks {
  const text = html.length > maxScannedDocumentBytes ? html.slice(0, maxScannedDocumentBytes) : html
  const found = new LinkSet()
  let base: string | undefined
  // Comments and script bodies hold no markup; style bodies hold CSS.
  const scan = /<!--[\s\S]*?(?:-->|$)|<(script|style|textarea|title)\b([^>]*)>([\s\S]*?)(?:<\/\1\s*>|$)|<([a-zA-Z][a-zA-Z0-9-]*)\b((?:[^>"']|"[^"]*"|'[^']*')*)>/g
  for (const m of text.matchAll(scan)) {
    const rawTag = m[1] ?? m[4]
    if (rawTag === undefined) continue // a comment
    const tag = rawTag.toLowerCase()
    const attrs = parseAttributes(m[2] ?? m[5] ?? '')
    if (tag === 'base') {
      const href = attrs.get('href')
      if (href !== undefined && base === undefined) base = href.trim()
      continue
    }
    for (const [name, value] of attrs) {
      if (urlAttributes.has(name)) found.add(value)
      else if (name === 'srcset' || name === 'imagesrcset') for (const url of srcsetUrls(value)) found.add(url)
      else if (name === 'style') for (const url of cssLinks(value).links) found.add(url)
    }
    if (tag === 'style') for (const url of cssLinks(m[3] ?? '').links) found.add(url)
  }
  return { links: found.links, ...(base === undefined || base === '' ? {} : { base }), dropped: found.dropped }
}

/** Links of a style sheet (or of a `style` attribute's declarations). */
export function cssLinks (css: string): DocumentLinks {
  const text = (css.length > maxScannedDocumentBytes ? css.slice(0, maxScannedDocumentBytes) : css).replace(/\/\*[\s\S]*?(?:\*\/|$)/g, ' ')
  const found = new LinkSet()
  const scan = /url\(\s*(?:"([^"]*)"|'([^']*)'|([^)"'\s]*))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')/gi
  for (const m of text.matchAll(scan)) found.add(unescapeCss(m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5] ?? ''))
  return { links: found.links, dropped: found.dropped }
}

/** The URLs of a `srcset` value: each candidate is a URL, then an optional `2x` / `640w` (the HTML spec's parse). */
export function srcsetUrls (srcset: string): string[] {
  const urls: string[] = []
  let i = 0
  const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f'
  while (i < srcset.length) {
    while (i < srcset.length && (isSpace(srcset[i]) || srcset[i] === ',')) i++
    const start = i
    while (i < srcset.length && !isSpace(srcset[i])) i++
    let url = srcset.slice(start, i)
    if (url === '') break
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '')
    } else {
      // Skip the descriptors up to the comma that ends the candidate (commas inside parentheses do not).
      let depth = 0
      while (i < srcset.length && !(srcset[i] === ',' && depth === 0)) {
        if (srcset[i] === '(') depth++
        else if (srcset[i] === ')' && depth > 0) depth--
        i++
      }
    }
    if (url !== '') urls.push(url)
  }
  return urls
}

/** Attributes of a start tag, names lower-cased, values entity-decoded; the first of a name wins. */
function parseAttributes (source: string): Map<string, string> {
  const attrs = new Map<string, string>()
  for (const m of source.matchAll(/([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    const name = (m[1] ?? '').toLowerCase()
    if (name === '' || attrs.has(name)) continue
    attrs.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''))
  }
  return attrs
}

const namedEntities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' }

/** Decodes the character references that appear in URLs (`&amp;`, `&#47;`, `&#x2F;`). */
function decodeEntities (value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);?/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10)
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
    return namedEntities[ref.toLowerCase()] ?? whole
  })
}

/** Removes CSS backslash escapes of plain characters (`\(` → `(`); hex escapes are rare in URLs. */
function unescapeCss (value: string): string {
  return value.replace(/\\([^0-9a-fA-F\n])/g, '$1')
}

/** Collects usable link targets once each, bounded. */
class LinkSet {
  readonly links: string[] = []
  dropped = 0
  private readonly seen = new Set<string>()

  add (raw: string): void {
    const link = raw.trim()
    if (link === '' || link.startsWith('#') || ignoredScheme.test(link) || this.seen.has(link)) return
    if (this.links.length >= maxLinksPerDocument) { this.dropped++; return }
    this.seen.add(link)
    this.links.push(link)
  }
}
