/**
 * Reading the function zips serverless-esbuild writes (stored or deflated entries, no zip64:
 * they are small), from the central directory. Hand-written: a few dozen lines of the zip
 * format against a dependency for the tests and the benchmark alone.
 */
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  /** Its path in the zip ('/'-terminated for a directory). */
  name: string;
  /** Uncompressed size, bytes. */
  bytes: number;
  compressedBytes: number;
  /** The entry's content, inflated. */
  data(): Buffer;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
/** The end record (22 bytes) is followed by a comment of at most 65,535 bytes. */
const END_SEARCH_BYTES = 22 + 0xffff;

/** The entries of a zip file, in central-directory order. */
export function readZip(zip: Buffer): ZipEntry[] {
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - END_SEARCH_BYTES); i -= 1) {
    if (zip.readUInt32LE(i) === END_OF_CENTRAL_DIRECTORY) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip file');
  const entries: ZipEntry[] = [];
  let p = zip.readUInt32LE(end + 16);
  for (let i = zip.readUInt16LE(end + 10); i > 0; i -= 1) {
    if (zip.readUInt32LE(p) !== CENTRAL_DIRECTORY_ENTRY) throw new Error('bad zip central directory');
    const method = zip.readUInt16LE(p + 10);
    const compressedBytes = zip.readUInt32LE(p + 20);
    const bytes = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLength);
    const local = zip.readUInt32LE(p + 42);
    entries.push({
      name,
      bytes,
      compressedBytes,
      data: () => {
        const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
        const data = zip.subarray(start, start + compressedBytes);
        if (method === 0) return Buffer.from(data);
        if (method === 8) return inflateRawSync(data);
        throw new Error(`${name}: zip compression method ${method} is neither stored nor deflated`);
      },
    });
    p += 46 + nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return entries;
}
