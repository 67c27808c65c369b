//! The desktop box office's UI. [`logic`] (the cart reducer, money and error formatting)
//! and [`state`] (each screen's reducer and the state of a call to the shell) are plain
//! Rust, tested natively; the Yew components, their hooks and the bridge to the Tauri
//! shell only exist when compiled for the browser (wasm32).
#![forbid(unsafe_code)]

pub mod logic;
pub mod state;

#[cfg(target_arch = "wasm32")]
mod bridge;
#[cfg(target_arch = "wasm32")]
mod hooks;
#[cfg(target_arch = "wasm32")]
mod screens;

/// Mounts the app into the page.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<screens::App>::new().render();
}
