//! Settings: this device, its sync server and token, and syncing now.
use super::{field_error, form_error, input_value};
use crate::bridge;
use crate::logic::short_time;
use conference_desktop_ipc::protocol::ErrorBody;
use conference_desktop_ipc::{HeaderView, ServerForm, cmd};
use serde::Serialize;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

#[derive(Serialize)]
struct ServerArgs<'a> {
    form: &'a ServerForm,
}

#[derive(Properties, PartialEq)]
pub struct SettingsProps {
    pub header: Option<HeaderView>,
    pub on_sync: Callback<()>,
}

#[function_component(Settings)]
pub fn settings(props: &SettingsProps) -> Html {
    let form = use_state(|| ServerForm {
        url: props
            .header
            .as_ref()
            .and_then(|h| h.server_url.clone())
            .unwrap_or_default(),
        token: String::new(),
    });
    let error = use_state(|| None::<ErrorBody>);
    let saved = use_state(|| false);
    let onsubmit = {
        let form = form.clone();
        let error = error.clone();
        let saved = saved.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let current = (*form).clone();
            let error = error.clone();
            let saved = saved.clone();
            spawn_local(async move {
                let result =
                    bridge::invoke::<_, ()>(cmd::SAVE_SERVER, &ServerArgs { form: &current }).await;
                saved.set(result.is_ok());
                error.set(result.err());
            });
        })
    };
    let on_sync = props.on_sync.clone();
    html! {
        <div class="settings">
            <section class="panel">
                <h2>{ "This device" }</h2>
                if let Some(h) = &props.header {
                    <dl class="facts">
                        <dt>{ "Name" }</dt><dd id="settings-device-name">{ &h.device.name }</dd>
                        <dt>{ "Device id" }</dt><dd><code>{ h.device.device_id.to_string() }</code></dd>
                        <dt>{ "Store" }</dt><dd><code id="settings-store">{ &h.device.store }</code></dd>
                        <dt>{ "Seats" }</dt><dd>{ if h.device.owns_pool { "Sells from the conference pool (standalone)" } else { "Sells from this device's allotment" } }</dd>
                        <dt>{ "Last sync" }</dt><dd>{ h.last_sync_at.as_deref().map_or("Never".into(), short_time) }</dd>
                        if let Some(e) = &h.last_error { <dt>{ "Last sync error" }</dt><dd class="field-error">{ e }</dd> }
                    </dl>
                }
            </section>
            <form class="panel" id="server-form" {onsubmit}>
                <h2>{ "Sync server" }</h2>
                { form_error(&error, "server-error") }
                <label>{ "Server address" }
                    <input id="server-url" type="text" placeholder="http://127.0.0.1:8080" value={form.url.clone()}
                        oninput={ let form = form.clone(); Callback::from(move |e: InputEvent| { let mut f = (*form).clone(); f.url = input_value(&e); form.set(f); }) } />
                </label>
                { field_error(&error, "url", "server") }
                <label>{ "Device token" }
                    <input id="server-token" type="password" value={form.token.clone()}
                        oninput={ let form = form.clone(); Callback::from(move |e: InputEvent| { let mut f = (*form).clone(); f.token = input_value(&e); form.set(f); }) } />
                </label>
                <div class="row">
                    <button id="server-save" class="primary" type="submit">{ "Save" }</button>
                    <button id="sync-now" type="button" class="secondary" onclick={Callback::from(move |_| on_sync.emit(()))}>{ "Sync now" }</button>
                    if *saved { <span class="muted" id="server-saved">{ "Saved. Sync runs in the background." }</span> }
                </div>
            </form>
        </div>
    }
}
