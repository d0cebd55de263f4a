// Takes out of the main module and its glue the ReadableStream adapters that Leptos's client
// build exports whether anything uses them or not: Leptos turns on server_fn's `browser`
// feature, which brings wasm-streams, whose IntoUnderlyingByteSource, IntoUnderlyingSink and
// IntoUnderlyingSource are exported classes. flexedit calls no server functions. Without
// their exports, wasm-opt drops the code behind them (about 1 KB gzip) and their classes
// leave the glue.
//
// Usage: node scripts/drop-stream-exports.mjs <module.wasm> <glue.js>   (both rewritten in
// place; run it on wasm-bindgen's output, before wasm-opt)
//
// Nothing is written unless every class and every export is found where expected, and no
// mention of them is left in the glue.
import { readFileSync, writeFileSync } from "node:fs";
import { leb, readLeb, section, sections } from "./wasm-binary.mjs";

const CLASSES = ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"];
// wasm-bindgen's export names for a class's methods and destructor.
const EXPORT = /^(__wbg_)?intounderlying(bytesource|sink|source)_/;

const [wasmPath, jsPath] = process.argv.slice(2);
if (!wasmPath || !jsPath) {
  console.error("usage: drop-stream-exports.mjs <module.wasm> <glue.js>");
  process.exit(2);
}
const fail = (message) => {
  console.error(`drop-stream-exports: ${message}`);
  process.exit(1);
};

const wasm = readFileSync(wasmPath);
const utf8 = new TextDecoder("utf-8", { fatal: true });
const pieces = [wasm.subarray(0, 8)];
let dropped = 0;
for (const { id, start, bodyStart, end } of sections(wasm, fail)) {
  if (id !== 7) {
    pieces.push(wasm.subarray(start, end));
    continue;
  }
  // The export section: name, kind (one byte), index.
  const body = wasm.subarray(bodyStart, end);
  let [count, p] = readLeb(body, 0, fail);
  const kept = [];
  while (count-- > 0) {
    const entryStart = p;
    let length;
    [length, p] = readLeb(body, p, fail);
    const name = utf8.decode(body.subarray(p, p + length));
    p = readLeb(body, p + length + 1, fail)[1];
    if (EXPORT.test(name)) {
      dropped++;
    } else {
      kept.push(body.subarray(entryStart, p));
    }
  }
  if (p !== body.length) fail("the export section has bytes after its last export");
  pieces.push(section(7, [...leb(kept.length), ...kept.flatMap((entry) => [...entry])]));
}
if (dropped === 0) fail("the module exports none of the stream adapters; is this script still needed?");

let js = readFileSync(jsPath, "utf8");
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
for (const name of CLASSES) {
  const n = escape(name);
  const patterns = [
    // The class, up to the `}` that closes it at the start of a line, and its dispose hook.
    new RegExp(
      `^export class ${n} \\{\\n[\\s\\S]*?^\\}\\nif \\(Symbol\\.dispose\\) ${n}\\.prototype\\[Symbol\\.dispose\\] = ${n}\\.prototype\\.free;\\n`,
      "m",
    ),
    // Its finalization registry: a three-line statement.
    new RegExp(`^const ${n}Finalization = .*\\n.*\\n.*;\\n`, "m"),
  ];
  for (const pattern of patterns) {
    const found = js.match(new RegExp(pattern.source, "gm"))?.length ?? 0;
    if (found !== 1) fail(`the glue has ${found} pieces like /${pattern.source.slice(0, 40)}…/, not 1`);
    js = js.replace(pattern, "");
  }
}
if (/intounderlying/i.test(js)) fail("the glue still mentions a stream adapter after its classes were removed");

writeFileSync(wasmPath, Buffer.concat(pieces));
writeFileSync(jsPath, js);
console.log(`drop-stream-exports: ${dropped} exports and ${CLASSES.length} classes removed`);
