// WASI preview1 system calls used by the example tasks, and small helpers over them. The sandbox
// offers nothing else: stdin (fd 0) is the task's input, stdout (fd 1) its result, stderr (fd 2)
// diagnostics, and fd 3 the preopened `/state` folder for checkpoints.

@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: u32, iovs: usize, iovsLen: u32, nread: usize): u16;
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: u32, nwritten: usize): u16;
@external("wasi_snapshot_preview1", "fd_close")
declare function fd_close(fd: u32): u16;
@external("wasi_snapshot_preview1", "path_open")
declare function path_open(dirFd: u32, dirFlags: u32, path: usize, pathLen: u32, oflags: u16, rightsBase: u64, rightsInheriting: u64, fdFlags: u16, fd: usize): u16;
@external("wasi_snapshot_preview1", "path_rename")
declare function path_rename(fd: u32, oldPath: usize, oldPathLen: u32, newFd: u32, newPath: usize, newPathLen: u32): u16;
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;
@external("wasi_snapshot_preview1", "environ_sizes_get")
declare function environ_sizes_get(count: usize, bufferSize: usize): u16;
@external("wasi_snapshot_preview1", "environ_get")
declare function environ_get(pointers: usize, buffer: usize): u16;
@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(clockId: u32, precision: u64, time: usize): u16;

/** The preopened `/state` folder: WASI numbers preopens from 3. */
export const stateFd: u32 = 3;

const oflagCreat: u16 = 1;
const oflagTrunc: u16 = 8;
const rightFdRead: u64 = 2;
const rightFdWrite: u64 = 64;
const errnoSuccess: u16 = 0;

// One iovec and one result word, reused by every call (the tasks are single-threaded).
const iov = memory.data(8);
const resultWord = memory.data(8);

/** Reads `fd` to its end. */
export function readAll(fd: u32): Uint8Array {
  let buffer = new Uint8Array(64 * 1024);
  let length = 0;
  while (true) {
    if (length == buffer.length) {
      const bigger = new Uint8Array(buffer.length * 2);
      memory.copy(bigger.dataStart, buffer.dataStart, <usize>length); // one bulk copy, not an element loop
      buffer = bigger;
    }
    store<u32>(iov, buffer.dataStart + <usize>length);
    store<u32>(iov, <u32>(buffer.length - length), 4);
    const errno = fd_read(fd, iov, 1, resultWord);
    if (errno != errnoSuccess) fail("read failed", errno);
    const n = load<u32>(resultWord);
    if (n == 0) break;
    length += <i32>n;
  }
  return buffer.subarray(0, length);
}

/** Reads what is available of `fd` into `buffer` (at most its length); 0 at the end. */
export function readChunk(fd: u32, buffer: Uint8Array): i32 {
  store<u32>(iov, buffer.dataStart);
  store<u32>(iov, <u32>buffer.length, 4);
  const errno = fd_read(fd, iov, 1, resultWord);
  if (errno != errnoSuccess) fail("read failed", errno);
  return <i32>load<u32>(resultWord);
}

/** Writes all of `bytes` to `fd`. */
export function writeAll(fd: u32, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    store<u32>(iov, bytes.dataStart + <usize>offset);
    store<u32>(iov, <u32>(bytes.length - offset), 4);
    const errno = fd_write(fd, iov, 1, resultWord);
    if (errno != errnoSuccess) fail("write failed", errno);
    offset += <i32>load<u32>(resultWord);
  }
}

/** Writes `text` as UTF-8 to `fd`. */
export function print(fd: u32, text: string): void {
  writeAll(fd, Uint8Array.wrap(String.UTF8.encode(text)));
}

/** Reads `/state/<name>`; null if it does not exist. */
export function readStateFile(name: string): Uint8Array | null {
  const path = String.UTF8.encode(name);
  const errno = path_open(stateFd, 0, changetype<usize>(path), <u32>path.byteLength, 0, rightFdRead, 0, 0, resultWord);
  if (errno != errnoSuccess) return null;
  const fd = load<u32>(resultWord);
  const bytes = readAll(fd);
  fd_close(fd);
  return bytes;
}

/**
 * Replaces `/state/<name>` with `bytes` atomically: written to a temporary file, then renamed,
 * so a runner that copies the file at any moment sees a whole checkpoint.
 */
export function writeStateFile(name: string, bytes: Uint8Array): void {
  const tmp = String.UTF8.encode(name + ".tmp");
  let errno = path_open(stateFd, 0, changetype<usize>(tmp), <u32>tmp.byteLength, oflagCreat | oflagTrunc, rightFdWrite, 0, 0, resultWord);
  if (errno != errnoSuccess) fail("cannot open a state file", errno);
  const fd = load<u32>(resultWord);
  writeAll(fd, bytes);
  fd_close(fd);
  const path = String.UTF8.encode(name);
  errno = path_rename(stateFd, changetype<usize>(tmp), <u32>tmp.byteLength, stateFd, changetype<usize>(path), <u32>path.byteLength);
  if (errno != errnoSuccess) fail("cannot rename a state file", errno);
}

/** The value of environment variable `name`; null if it is not set. */
export function getEnv(name: string): string | null {
  if (environ_sizes_get(resultWord, resultWord + 4) != errnoSuccess) return null;
  const count = load<u32>(resultWord);
  const size = load<u32>(resultWord + 4);
  if (count == 0) return null;
  const pointers = new Uint32Array(<i32>count);
  const buffer = new Uint8Array(<i32>size);
  if (environ_get(pointers.dataStart, buffer.dataStart) != errnoSuccess) return null;
  const prefix = name + "=";
  for (let i = 0; i < <i32>count; i++) {
    const start = pointers[i];
    let end = start;
    while (load<u8>(<usize>end) != 0) end++;
    const entry = String.UTF8.decodeUnsafe(<usize>start, <usize>(end - start));
    if (entry.startsWith(prefix)) return entry.substring(prefix.length);
  }
  return null;
}

/** Milliseconds of the monotonic clock (in the sandbox, a virtual clock that advances with work done). */
export function nowMs(): f64 {
  if (clock_time_get(1, 1000, resultWord) != errnoSuccess) return 0;
  return <f64>load<u64>(resultWord) / 1e6;
}

/** Exits with `code` (0 is success). */
export function exit(code: u32): void {
  proc_exit(code);
}

function fail(what: string, errno: u16): void {
  print(2, what + " (errno " + errno.toString() + ")\n");
  proc_exit(1);
}

/** Replaces AssemblyScript's `abort` (an `env` import) so a task imports only WASI. */
export function wasiAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  print(2, "abort: " + (message !== null ? message : "") + " at " + (fileName !== null ? fileName : "") + ":" + line.toString() + ":" + column.toString() + "\n");
  proc_exit(255);
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  const digits = "0123456789abcdef";
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out += digits.charAt(b >> 4) + digits.charAt(b & 15);
  }
  return out;
}
