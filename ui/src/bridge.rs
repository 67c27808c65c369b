//! The bridge to the Tauri shell: `invoke` a command with JSON-shaped arguments and read
//! its answer or its `{code, message}` error; `listen` to the shell's events.
use conference_desktop_ipc::protocol::ErrorBody;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(command: &str, args: JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], js_name = listen, catch)]
    async fn tauri_listen(
        event: &str,
        handler: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsValue, JsValue>;
}

fn to_error(value: JsValue) -> ErrorBody {
    serde_wasm_bindgen::from_value::<ErrorBody>(value.clone()).unwrap_or_else(|_| ErrorBody {
        code: "internal".into(),
        message: value
            .as_string()
            .unwrap_or_else(|| "The app's core did not answer; restart the app".into()),
        field: None,
    })
}

/// Calls a Tauri command. `args` is an object whose keys are the command's parameters.
pub async fn invoke<A: Serialize, T: DeserializeOwned>(
    command: &str,
    args: &A,
) -> Result<T, ErrorBody> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = args.serialize(&serializer).map_err(|e| ErrorBody {
        code: "internal".into(),
        message: format!("Could not send the request: {e}"),
        field: None,
    })?;
    let value = tauri_invoke(command, args).await.map_err(to_error)?;
    serde_wasm_bindgen::from_value(value).map_err(|e| ErrorBody {
        code: "internal".into(),
        message: format!("Could not read the answer to {command}: {e}"),
        field: None,
    })
}

/// Calls `handler` every time the shell emits `event`, for the life of the page.
pub fn listen(event: &'static str, handler: impl FnMut(JsValue) + 'static) {
    let closure = Closure::<dyn FnMut(JsValue)>::new(handler);
    wasm_bindgen_futures::spawn_local(async move {
        if tauri_listen(event, &closure).await.is_ok() {
            // The page keeps listening until it closes.
            closure.forget();
        }
    });
}

/// The payload of an event the shell emitted (`listen` hands over the whole event).
pub fn payload<T: DeserializeOwned>(event: JsValue) -> Option<T> {
    #[derive(serde::Deserialize)]
    struct Event<T> {
        payload: T,
    }
    serde_wasm_bindgen::from_value::<Event<T>>(event)
        .ok()
        .map(|e| e.payload)
}

/// Milliseconds since the page started loading (for the timings the e2e test reads).
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
