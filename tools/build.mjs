// Compiles apps/ and libs/ to dist/ with swc, one file per source file, and
// rewrites the `@settlement/*` path aliases to relative requires so the
// output runs with plain `node dist/apps/<name>/main.js`. Type checking is
// separate (`npm run lint` runs tsc), which keeps this step to a second or two.
import { transformFile } from '@swc/core';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: true,
};

export async function build() {
  const started = Date.now();
  await rm(out, { recursive: true, force: true });
  let count = 0;
  const projects = ['apps/gateway', 'apps/ledger', 'apps/settlement', 'libs/contracts', 'libs/money', 'libs/messaging', 'libs/telemetry', 'libs/testing', 'libs/ledger-audit', 'libs/http'];
  for (const project of projects) {
    for await (const file of sources(join(root, project, 'src'))) {
      const target = join(out, relative(root, file).replace(`${sep}src${sep}`, sep)).replace(/\.ts$/, '.js');
      const { code, map } = await transformFile(file, { ...swcOptions, filename: file, sourceFileName: relative(dirname(target), file) });
      const rewritten = code.replace(/require\("@settlement\/([a-z-]+)"\)/g, (_m, lib) => {
        let rel = relative(dirname(target), join(out, 'libs', lib, 'index.js')).split(sep).join('/');
        if (!rel.startsWith('.')) rel = `./${rel}`;
        return `require("${rel}")`;
      });
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, `${rewritten}\n//# sourceMappingURL=${target.split(sep).pop()}.map\n`);
      if (map) await writeFile(`${target}.map`, map);
      count += 1;
    }
  }
  return { files: count, ms: Date.now() - started };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { files, ms } = await build();
  console.log(`built ${files} files into dist/ in ${ms} ms`);
}
