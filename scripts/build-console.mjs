// Bundles the console (web/console/) into OUTDIR: index.html plus assets/ with content-hashed
// names (esbuild from npm; ECharts and Leaflet from node_modules, pinned by package-lock.json).
// Nothing is loaded from another host at run time. Usage: node scripts/build-console.mjs OUTDIR
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/build-console.mjs OUTDIR');
  process.exit(2);
}
rmSync(join(out, 'assets'), { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
const result = await build({
  entryPoints: ['web/console/app.js', 'web/console/app.css'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.png': 'file', '.svg': 'file' },
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const names = {};
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (info.entryPoint) names[basename(info.entryPoint)] = basename(file);
}
let html = readFileSync('web/console/index.html', 'utf8');
html = html.replace('app.js', `/assets/${names['app.js']}`).replace('app.css', `/assets/${names['app.css']}`);
writeFileSync(join(out, 'index.html'), html);
