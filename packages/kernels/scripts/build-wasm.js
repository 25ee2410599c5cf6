#!/usr/bin/env node
'use strict';
/**
 * Builds dist/wasm/histograms.wasm (the histogram collectors' per-value loops, WebAssembly) from
 * assembly/histograms.ts with the AssemblyScript compiler (a devDependency). Skipped when the
 * module is newer than its source. Without the module the collectors run their JavaScript kernels
 * (same results, slower); see the README.
 */
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const src = path.join(root, 'assembly', 'histograms.ts');
const out = path.join(root, 'dist', 'wasm', 'histograms.wasm');
if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) process.exit(0);
mkdirSync(path.dirname(out), { recursive: true });
const asc = require.resolve('assemblyscript/bin/asc.js');
execFileSync(process.execPath, [asc, src, '--outFile', out, '--textFile', out.replace(/\.wasm$/, '.wat'), '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd'], { stdio: 'inherit', cwd: root });
console.log(`built ${path.relative(process.cwd(), out)}`);
