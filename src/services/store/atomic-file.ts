/**
 * Replacing a file whole: written next to it, then renamed over it, so a crash leaves the old
 * or the new content, never half of one. The async form also flushes to disk first, for state
 * that must survive a power loss (blocks, pins, bindings, the fault log).
 */
import { open, rename, rm } from 'node:fs/promises'
import { renameSync, writeFileSync } from 'node:fs'

export async function replaceFileDurably (path: string, data: string | Uint8Array, tmp = `${path}.tmp`): Promise<void> {
  try {
    const file = await open(tmp, 'w')
    try {
      await file.writeFile(data)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {})
    throw err
  }
}

/** The synchronous form for small files written at start-up (`node.json`, `devnet.json`). */
export function replaceFileSync (path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text)
  renameSync(`${path}.tmp`, path)
}
