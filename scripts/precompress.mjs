// Trunk post-build hook (see Trunk.toml): writes a brotli (.br) and a gzip (.gz) copy of
// every script, stylesheet and wasm module of the build, at the strongest settings, so that
// flexedit-server (and nginx's gzip_static/brotli_static) send them without compressing on
// each request. index.html and config.json are left alone: deployments edit them, and a
// stale compressed copy would be served instead of the edit.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error("precompress: TRUNK_STAGING_DIR is not set; run this from trunk's post_build hook");
  process.exit(1);
}
for (const name of readdirSync(dir)) {
  if (!/\.(wasm|js|css)$/.test(name)) {
    continue;
  }
  const path = join(dir, name);
  const bytes = readFileSync(path);
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  writeFileSync(
    `${path}.br`,
    brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }),
  );
}
