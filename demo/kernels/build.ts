// Builds the demo's WebAssembly kernels from their AssemblyScript sources
// with `asc` (a devDependency from the npm registry, so a fresh clone builds
// them with `npm install`; the .wasm files are never committed). AssemblyScript
// is TypeScript's syntax with Wasm's types: the kernel reads like the rest of
// the repository and needs no C, Rust or Go toolchain. Rebuilt only when a
// source is newer than its .wasm.
import { mkdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

/** Each kernel: its source, and where its .wasm goes. */
export const KERNELS = {
  mandelbrot: { source: here('./assembly/mandelbrot.ts'), wasm: here('./build/mandelbrot.wasm') },
} as const;

async function mtime(path: string): Promise<number> {
  return stat(path).then((s) => s.mtimeMs, () => -1);
}

export async function buildKernels(): Promise<void> {
  await mkdir(here('./build'), { recursive: true });
  for (const [name, k] of Object.entries(KERNELS)) {
    if ((await mtime(k.wasm)) >= (await mtime(k.source))) continue;
    // Loaded only to build: the compiler is large, and most runs find the kernels built.
    const { default: asc } = await import('assemblyscript/asc');
    // Stub runtime: the kernel allocates nothing, so no garbage collector is linked in.
    const { error, stderr } = await asc.main([k.source, '--outFile', k.wasm, '-O3', '--runtime', 'stub', '--noAssert']);
    if (error) throw new Error(`asc could not build the ${name} kernel: ${error.message}\n${stderr.toString()}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildKernels();
