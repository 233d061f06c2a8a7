// Hashing task: prints the SHA-256 of its input (stdin) as hex, then a newline. It reads the
// input in 64 KiB chunks, so its memory stays the same whatever the input's size.
import { readChunk, print, toHex } from "../lib/wasi";
import { Sha256 } from "./sha256";
export { wasiAbort } from "../lib/wasi";

const chunk = new Uint8Array(64 * 1024);
const hasher = new Sha256();
while (true) {
  const n = readChunk(0, chunk);
  if (n == 0) break;
  hasher.update(chunk.dataStart, n);
}
print(1, toHex(hasher.digest()) + "\n");
