// The type of `import kernel from './kernel.wasm'` in a task module (see
// client-sdk/bundler.ts): a compiled module, ready to instantiate. A script
// file, not a module, so that its wildcard declaration is global; task-api.ts
// references it, so whoever imports `ladle-grid/task` has it.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
