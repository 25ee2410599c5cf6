#!/usr/bin/env node
'use strict';
/**
 * Builds dist/wasm/pointwise.wasm (auto-tune's elementwise and stack kernels, WebAssembly SIMD) from
 * assembly/pointwise.ts with the AssemblyScript compiler (a devDependency). Skipped when the
 * module is newer than its source. Without the module, core uses the kernel's JavaScript twin
 * (src/tuning/pointwise.ts): same results up to rounding, about 10x slower.
 */
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const src = path.join(root, 'assembly', 'pointwise.ts');
const out = path.join(root, 'dist', 'wasm', 'pointwise.wasm');
if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) process.exit(0);
mkdirSync(path.dirname(out), { recursive: true });
const asc = require.resolve('assemblyscript/bin/asc.js');
execFileSync(process.execPath, [asc, src, '--outFile', out, '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd'], { stdio: 'inherit', cwd: root });
console.log(`built ${path.relative(process.cwd(), out)}`);
