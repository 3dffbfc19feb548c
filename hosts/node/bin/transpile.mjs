#!/usr/bin/env node
// Transpiles a tenant-sync component into ES modules the Node host loads:
// `node bin/transpile.mjs COMPONENT.wasm [OUT_DIR]` (OUT_DIR defaults to gen/ beside this
// package). Sync instantiation: the host passes every import itself, so no default shim with
// ambient authority is wired in.

import { transpile } from '@bytecodealliance/jco';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [component, out] = process.argv.slice(2);
if (component === undefined) {
  process.stderr.write('usage: node bin/transpile.mjs COMPONENT.wasm [OUT_DIR]\n');
  process.exit(2);
}
const dir = resolve(out ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'gen'));
const { files } = await transpile(readFileSync(component), {
  name: 'tenant-sync',
  instantiation: 'sync',
  emitTypescriptDeclarations: false,
  quiet: true,
});
rmSync(dir, { recursive: true, force: true });
for (const [name, bytes] of Object.entries(files)) {
  mkdirSync(dirname(join(dir, name)), { recursive: true });
  writeFileSync(join(dir, name), bytes);
}
// The generated code is ES modules; say so whatever package it lands in.
writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
process.stderr.write(`transpiled ${component} into ${dir}\n`);
