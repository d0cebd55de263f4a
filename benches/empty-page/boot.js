// Starts the module as the editor's boot.js and embed.js do: a module script file that
// imports wasm-bindgen's loader and initialises the wasm.
const script = document.querySelector("script[data-js]");
const { default: init } = await import(script.dataset.js);
await init({ module_or_path: script.dataset.wasm });
