/**
 * The small HTML page shown for a folder that has no `index.html`: one link per entry, names
 * HTML-escaped and links percent-encoded, so no file name can inject markup.
 */
import { maxListingEntries } from './constants.ts'

/** One entry of a folder. */
export interface ListingEntry { name: string, cid: { toString: () => string } }

/** The listing page for the folder at `displayPath` (decoded, e.g. `/key/mysite.key/docs/`). */
export function renderListing (displayPath: string, entries: ListingEntry[], hasParent: boolean): string {
  const title = `Index of ${escapeHtml(displayPath)}`
  const rows: string[] = []
  if (hasParent) rows.push('<li><a href="../">../</a></li>')
  for (const entry of entries.slice(0, maxListingEntries)) {
    const href = `./${encodeURIComponent(entry.name)}`
    rows.push(`<li><a href="${escapeHtml(href)}">${escapeHtml(entry.name)}</a> <small>${escapeHtml(entry.cid.toString())}</small></li>`)
  }
  if (entries.length > maxListingEntries) rows.push(`<li>… and ${entries.length - maxListingEntries} more</li>`)
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n<ul>\n${rows.join('\n')}\n</ul></body></html>\n`
}

/** Escapes the five characters that matter in HTML text and attribute values. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
}
