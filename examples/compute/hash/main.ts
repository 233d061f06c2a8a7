// Hashing task: prints the SHA-256 of its input (stdin) as hex, then a newline.
import { readAll, print, toHex } from "../lib/wasi";
import { sha256 } from "./sha256";
export { wasiAbort } from "../lib/wasi";

print(1, toHex(sha256(readAll(0))) + "\n");
