import type { Command } from 'commander'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { MalformedMessageError, NotFoundError } from '../../foundations/errors.ts'
import { formatBytes, parseBytes } from '../../foundations/units.ts'
import { canonicalName } from '../../core/names/grammar.ts'
import { defaultMaxFiles, defaultMaxImportBytes, defaultMaxPages, defaultRequestTimeoutMs } from '../../core/site-import/index.ts'
import { crawlSite, type CrawlResult } from '../../services/site-import/crawler.ts'
import { CliContext, type GlobalOptions } from '../context.ts'
import { ProgressBar } from '../progress.ts'
import { placementFrom, publishPath, withPlacementOptions, type PlacementFlags } from './content.ts'
import { positive } from '../args.ts'

interface ImportFlags extends PlacementFlags {
  name: string
  maxPages: string
  maxFiles: string
  maxBytes: string
  timeout: string
  keep?: string
}

/** Notes and skipped URLs printed in full before the rest are only counted. */
const shownLines = 20

export function importCommand (program: Command, globals: () => GlobalOptions): void {
  withPlacementOptions(program.command('import <source>')
    .description('move an existing static site in: copy a folder, or crawl a site on http(s)://… within its origin, and publish it at the same paths')
    .requiredOption('--name <name>', 'the .key name to publish it under (yours)'))
    .option('--max-pages <n>', 'HTML pages the crawl copies at most', String(defaultMaxPages))
    .option('--max-files <n>', 'files of any kind the crawl copies at most', String(defaultMaxFiles))
    .option('--max-bytes <size>', 'bytes the crawl downloads at most', `${defaultMaxImportBytes / 1024 ** 3}GiB`)
    .option('--timeout <ms>', 'time one request to the origin may take', String(defaultRequestTimeoutMs))
    .option('--keep <dir>', 'keep the crawled copy in this (new or empty) folder instead of a temporary one')
    .addHelpText('after', [
      '',
      'Examples:',
      '  keynet import http://127.0.0.1:8000/ --name legacy.key --max-pages 200',
      '  keynet import ./public --name legacy.key',
      '',
      'Paths stay as they were: /about/ is about/index.html, /a.css is a.css; query strings are dropped',
      '(one file per path). Links, images, styles and scripts on other origins are left as they are.'
    ].join('\n'))
    .action(async (source: string, o: ImportFlags) => {
      const ctx = new CliContext(globals())
      const name = canonicalName(o.name)
      const publish = { ...placementFrom(o), name }
      if (!/^https?:\/\//i.test(source)) {
        const folder = resolve(source)
        if (!existsSync(folder)) throw new NotFoundError(`${source} does not exist: pass a folder or an http(s):// URL`)
        if (!statSync(folder).isDirectory()) throw new MalformedMessageError(`${source} is not a folder: import takes a site's folder or URL (publish a single file with keynet put)`)
        if (!existsSync(join(folder, 'index.html'))) throw new MalformedMessageError(`${source} has no index.html at its top, so the site would have no root page`)
        const { summary, text } = await publishPath(ctx, folder, publish)
        ctx.print({ source: folder, ...summary }, () => text)
        return
      }
      const limits = {
        maxPages: positive(o.maxPages, '--max-pages'),
        maxFiles: positive(o.maxFiles, '--max-files'),
        maxBytes: parseBytes(o.maxBytes, '--max-bytes'),
        timeoutMs: positive(o.timeout, '--timeout')
      }
      if (o.keep !== undefined && existsSync(o.keep) && (!statSync(o.keep).isDirectory() || readdirSync(o.keep).length > 0)) {
        throw new MalformedMessageError(`--keep ${o.keep} must be a new or empty folder: the crawl publishes everything in it`)
      }
      mkdirSync(ctx.home, { recursive: true })
      const staging = o.keep === undefined ? mkdtempSync(join(ctx.home, 'import-')) : resolve(o.keep)
      try {
        const bar = new ProgressBar(`crawl ${source}`, undefined, { enabled: ctx.opts.json !== true })
        const crawl = await crawlSite(source, staging, { ...limits, onProgress: p => { bar.update(p.bytes, `${p.pages} pages, ${p.files} files, ${p.queued} queued`) } })
        bar.finish(`${crawl.pages} pages, ${crawl.files} files`)
        if (ctx.opts.json !== true) report(crawl)
        const { summary, text } = await publishPath(ctx, staging, publish)
        const crawled = { origin: crawl.origin, pages: crawl.pages, files: crawl.files, bytes: crawl.bytes, external: crawl.external, skipped: crawl.skipped, skippedCount: crawl.skippedCount, notes: crawl.notes }
        ctx.print({ source, ...summary, crawl: crawled, ...(o.keep === undefined ? {} : { kept: staging }) }, () => text)
      } finally {
        if (o.keep === undefined) rmSync(staging, { recursive: true, force: true })
      }
    })
}

/** What the crawl left out or changed, on stderr before publishing. */
function report (crawl: CrawlResult): void {
  const out = (line: string): void => { process.stderr.write(`${line}\n`) }
  out(`copied ${crawl.pages} pages and ${crawl.files - crawl.pages} other files (${formatBytes(crawl.bytes)}) from ${crawl.origin}${crawl.external > 0 ? `; ${crawl.external} links to other sites left as they are` : ''}`)
  if (crawl.skippedCount > 0) {
    out(`not copied (${crawl.skippedCount}):`)
    for (const s of crawl.skipped.slice(0, shownLines)) out(`  ${s.url}: ${s.reason}`)
    if (crawl.skippedCount > shownLines) out(`  … and ${crawl.skippedCount - shownLines} more (--json lists ${crawl.skipped.length})`)
  }
  if (crawl.notes.length > 0) {
    out('served differently through the gateway:')
    for (const n of crawl.notes.slice(0, shownLines)) out(`  ${n}`)
    if (crawl.notes.length > shownLines) out(`  … and ${crawl.notes.length - shownLines} more (--json lists them)`)
  }
}
