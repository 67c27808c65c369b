//! The desktop box office's UI. [`logic`] is plain Rust (the cart reducer, money and error
//! formatting) and is tested natively; the Yew components and the bridge to the Tauri
//! shell only exist when compiled for the browser (wasm32).
#![forbid(unsafe_code)]

pub mod logic;

#[cfg(target_arch = "wasm32")]
mod bridge;
#[cfg(target_arch = "wasm32")]
mod screens;

/// Mounts the app into the page.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<screens::App>::new().render();
}
