/**
 * Test modules written in WebAssembly text, assembled by Binaryen (which the AssemblyScript
 * compiler brings along), so each sandbox rule is tested against the smallest module that
 * breaks it.
 */
interface BinaryenModule { emitBinary: () => Uint8Array, dispose: () => void }
interface Binaryen { parseText: (text: string) => BinaryenModule, setFeatures?: unknown }

let binaryen: Promise<Binaryen> | undefined

/** Assembles `text` (a whole `(module …)`) into a binary module. */
export async function wat (text: string): Promise<Uint8Array> {
  // Imported by a computed name: Binaryen's declarations are not needed by the typecheck.
  const name = 'binaryen'
  binaryen ??= import(name).then((m: { default: Binaryen }) => m.default)
  const module = (await binaryen).parseText(text)
  try {
    return module.emitBinary()
  } finally {
    module.dispose()
  }
}

/** A WASI command module around `body` (the `_start` function's instructions), with `proc_exit`, `fd_write`, `path_open` and one page of memory. */
export async function command (body: string, extra = '', memory = '(memory (export "memory") 1)'): Promise<Uint8Array> {
  return await wat(`(module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    ${memory}
    ${extra}
    (func (export "_start") ${body}))`)
}
