// Gives the main module's imports from its JavaScript glue short names, in the module and in
// the glue alike: `__wbg_createElement_8c9931a732ee2fea` becomes `a`. wasm-bindgen names
// each import after the function it binds plus a hash, and the module carries every name
// in its import section; for a few hundred imports that is about 9 KB (gzip) of the first
// load in the two files together.
//
// Usage: node scripts/shorten-imports.mjs <module.wasm> <glue.js>   (both rewritten in place)
//
// Only imports of the glue's own module ("./flexedit_bg.js") are renamed; those of the
// parts' loader keep their names. The glue must define each renamed import exactly once, as
// a `name: function` entry of its imports object, or nothing is written.
import { readFileSync, writeFileSync } from "node:fs";
import { leb, readLeb as readLebOr, section, sections, withLength } from "./wasm-binary.mjs";

const GLUE_MODULE = "./flexedit_bg.js";
const [wasmPath, jsPath] = process.argv.slice(2);
if (!wasmPath || !jsPath) {
  console.error("usage: shorten-imports.mjs <module.wasm> <glue.js>");
  process.exit(2);
}
const fail = (message) => {
  console.error(`shorten-imports: ${message}`);
  process.exit(1);
};

const readLeb = (bytes, at) => readLebOr(bytes, at, fail);
const wasm = readFileSync(wasmPath);
const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

// a … z, A … Z, then two letters: valid names in JavaScript and in WebAssembly alike.
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
function shortName(index) {
  let text = "";
  do {
    text = LETTERS[index % LETTERS.length] + text;
    index = Math.floor(index / LETTERS.length) - 1;
  } while (index >= 0);
  return text;
}

// The import section: module name, field name, then a description whose length depends on
// its kind (function, table, memory, global).
function importDescriptionEnd(bytes, at) {
  const kind = bytes[at++];
  switch (kind) {
    case 0: // function: type index
      return readLeb(bytes, at)[1];
    case 1: { // table: reference type, limits
      at += 1;
      const flags = bytes[at++];
      at = readLeb(bytes, at)[1];
      return flags & 1 ? readLeb(bytes, at)[1] : at;
    }
    case 2: { // memory: limits
      const flags = bytes[at++];
      at = readLeb(bytes, at)[1];
      return flags & 1 ? readLeb(bytes, at)[1] : at;
    }
    case 3: // global: value type, mutability
      return at + 2;
    default:
      return fail(`an import of unknown kind ${kind}`);
  }
}

const renames = new Map();
const pieces = [wasm.subarray(0, 8)];
for (const { id, start, bodyStart, end } of sections(wasm, fail)) {
  if (id !== 2) {
    pieces.push(wasm.subarray(start, end));
    continue;
  }
  const body = wasm.subarray(bodyStart, end);
  let [count, p] = readLeb(body, 0);
  const entries = [...leb(count)];
  while (count-- > 0) {
    let length;
    [length, p] = readLeb(body, p);
    const module = body.subarray(p, p + length);
    p += length;
    [length, p] = readLeb(body, p);
    const field = utf8.decode(body.subarray(p, p + length));
    p += length;
    const descriptionEnd = importDescriptionEnd(body, p);
    let newField = field;
    if (utf8.decode(module) === GLUE_MODULE) {
      if (!renames.has(field)) renames.set(field, shortName(renames.size));
      newField = renames.get(field);
    }
    entries.push(
      ...withLength(module),
      ...withLength(encoder.encode(newField)),
      ...body.subarray(p, descriptionEnd),
    );
    p = descriptionEnd;
  }
  if (p !== body.length) fail("the import section has bytes after its last import");
  pieces.push(section(2, entries));
}
if (renames.size === 0) fail(`the module imports nothing from ${GLUE_MODULE}`);

let js = readFileSync(jsPath, "utf8");
for (const [from, to] of renames) {
  const entry = new RegExp(`^(\\s+)${from}(: function\\b)`, "gm");
  const found = js.match(entry)?.length ?? 0;
  if (found !== 1) fail(`the glue defines ${from} ${found} times, not once`);
  js = js.replace(entry, `$1${to}$2`);
}

writeFileSync(wasmPath, Buffer.concat(pieces));
writeFileSync(jsPath, js);
console.log(`shorten-imports: ${renames.size} imports renamed`);
