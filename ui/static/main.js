// Loads the WebAssembly UI; its start function mounts the app into <body>.
import init from './conference_ui.js';
init({ module_or_path: new URL('conference_ui_bg.wasm', import.meta.url) });
