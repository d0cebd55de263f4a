// Reading and writing the parts of a WebAssembly module that the build's post-processing
// scripts rewrite (shorten-imports.mjs, drop-stream-exports.mjs): LEB128 numbers, names, and
// the module's sections.

/// Reads an unsigned LEB128 number at `at`: [value, position after it]. `fail` reports a
/// module that ends inside the number.
export function readLeb(bytes, at, fail) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    if (byte === undefined) fail("the module ends inside a number");
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

/// An unsigned LEB128 number, as bytes.
export function leb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/// A name as the binary format stores it: its length, then its bytes.
export const withLength = (bytes) => [...leb(bytes.length), ...bytes];

/// The module's sections in order, each as { id, start, bodyStart, end } (byte offsets:
/// the section's first byte, its body, and the byte after it).
export function sections(wasm, fail) {
  const found = [];
  let at = 8;
  while (at < wasm.length) {
    const id = wasm[at];
    const [size, bodyStart] = readLeb(wasm, at + 1, fail);
    found.push({ id, start: at, bodyStart, end: bodyStart + size });
    at = bodyStart + size;
  }
  if (at !== wasm.length) fail("the last section runs past the end of the module");
  return found;
}

/// A section with a new body, as bytes.
export const section = (id, body) => Uint8Array.from([id, ...leb(body.length), ...body]);
