//! Settings: this device and its name, its sync server (enrolled with the code the server's
//! admin printed, which pins the server's certificate), syncing now, and the
//! seats it sells from: an allotment asked from the server's pool, or given back to it.
use super::{field_error, form_error, input_checked, input_value};
use crate::hooks::{use_command, use_reduced};
use crate::logic::{friendly, short_time};
use crate::state::{
    Allotment as Allotting, AllotmentAction, EnrollAction, Enrollment, Rename, RenameAction,
};
use conference_desktop_ipc::protocol::{ConferenceView, DeviceView, SeatsView};
use conference_desktop_ipc::{AllotmentDone, AllotmentForm, HeaderView, ServerForm, cmd};
use serde::Serialize;
use yew::prelude::*;

#[derive(Serialize)]
struct NameArgs {
    name: String,
}

#[derive(Serialize)]
struct SlugArgs {
    slug: String,
}

#[derive(Serialize)]
struct AllotmentArgs {
    form: AllotmentForm,
}

#[derive(Serialize)]
struct ServerArgs {
    form: ServerForm,
}

#[derive(Properties, PartialEq)]
pub struct SettingsProps {
    pub header: Option<HeaderView>,
    pub on_sync: Callback<()>,
    pub conferences: Vec<ConferenceView>,
    pub selected: Option<String>,
    pub changes: u64,
}

#[function_component(Settings)]
pub fn settings(props: &SettingsProps) -> Html {
    let form = use_reduced(Enrollment::default);
    let enroll = use_command::<()>();
    let edit = form.dispatcher().to_callback();
    let onsubmit = {
        let current = form.0.clone();
        let enroll = enroll.clone();
        let edit = edit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let edit = edit.clone();
            enroll.run_then(
                cmd::SAVE_SERVER,
                ServerArgs {
                    form: current.clone(),
                },
                move |answer| {
                    if answer.is_ok() {
                        edit.emit(EnrollAction::Enrolled);
                    }
                },
            );
        })
    };
    let (error, saved) = (&enroll.error, matches!(enroll.answer(), Some(Ok(()))));
    let on_sync = props.on_sync.clone();
    let current_name = props
        .header
        .as_ref()
        .map(|h| h.device.name.clone())
        .unwrap_or_default();
    html! {
        <div class="settings">
            <section class="panel">
                <h2>{ "This device" }</h2>
                <RenameDevice current={current_name} />
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
                { form_error(error, "server-error", &["code"]) }
                if let Some(url) = props.header.as_ref().and_then(|h| h.server_url.clone()) {
                    <p class="muted" id="server-current">{ format!("Syncs with {url}. Paste a new code to enroll again.") }</p>
                }
                <label>{ "Enrollment code" }
                    <input id="server-code" type="text" autocomplete="off" spellcheck="false" placeholder="CONF1-… (from `conference-sync device add --server …`)" value={form.0.code.clone()}
                        oninput={edit.reform(|e: InputEvent| EnrollAction::Code(input_value(&e)))} />
                </label>
                { field_error(error, "code", "server") }
                <label class="check">
                    <input id="server-insecure" type="checkbox" checked={form.0.insecure_http}
                        onchange={edit.reform(|e: Event| EnrollAction::Insecure(input_checked(&e)))} />
                    { "Allow plain HTTP beyond this machine (the token and registrants' names cross the network readable by anyone)" }
                </label>
                <div class="row">
                    <button id="server-save" class="primary" type="submit">{ "Enroll" }</button>
                    <button id="sync-now" type="button" class="secondary" onclick={Callback::from(move |_| on_sync.emit(()))}>{ "Sync now" }</button>
                    if saved { <span class="muted" id="server-saved">{ "Enrolled. Sync runs in the background." }</span> }
                </div>
            </form>
            if props.header.as_ref().is_some_and(|h| !h.device.owns_pool) {
                <Allotment conferences={props.conferences.clone()} selected={props.selected.clone()} changes={props.changes} />
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct RenameProps {
    current: String,
}

#[function_component(RenameDevice)]
fn rename_device(props: &RenameProps) -> Html {
    let rename = use_reduced(Rename::default);
    let save = use_command::<DeviceView>();
    let edit = rename.dispatcher().to_callback();
    let value = rename
        .typed
        .clone()
        .unwrap_or_else(|| props.current.clone());
    let onsubmit = {
        let value = value.clone();
        let save = save.clone();
        let edit = edit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let edit = edit.clone();
            save.run_then(
                cmd::RENAME_DEVICE,
                NameArgs {
                    name: value.clone(),
                },
                move |answer| edit.emit(RenameAction::Answered(answer.is_ok())),
            );
        })
    };
    let (error, saved) = (&save.error, rename.saved);
    html! {
        <form class="row wrap rename" id="rename-form" {onsubmit}>
            <label class="grow">{ "Device name" }
                <input id="device-name-input" type="text" value={value}
                    oninput={edit.reform(|e: InputEvent| RenameAction::Type(input_value(&e)))} />
            </label>
            <button id="rename-save" class="secondary" type="submit">{ "Rename" }</button>
            if saved { <span class="muted" id="rename-saved">{ "Renamed." }</span> }
            { field_error(error, "device_name", "rename") }
            { form_error(error, "rename-error", &["device_name"]) }
        </form>
    }
}

#[derive(Properties, PartialEq)]
struct AllotmentProps {
    conferences: Vec<ConferenceView>,
    selected: Option<String>,
    changes: u64,
}

/// This device's allotment per seat type, with a quantity to ask for or give back.
#[function_component(Allotment)]
fn allotment(props: &AllotmentProps) -> Html {
    let slug = props
        .selected
        .clone()
        .filter(|s| props.conferences.iter().any(|c| &c.slug == s))
        .or_else(|| props.conferences.first().map(|c| c.slug.clone()));
    let seats = use_command::<SeatsView>();
    let state = use_reduced(Allotting::default);
    let allot = use_command::<AllotmentDone>();
    let dispatch = state.dispatcher().to_callback();
    {
        let seats = seats.clone();
        let dispatch = dispatch.clone();
        use_effect_with((slug.clone(), props.changes), move |(slug, _)| {
            if let Some(slug) = slug {
                seats.run_then(cmd::SEATS, SlugArgs { slug: slug.clone() }, move |answer| {
                    if let Ok(view) = answer {
                        let names = view.seat_types.iter().map(|s| s.name.clone()).collect();
                        dispatch.emit(AllotmentAction::Offer(names));
                    }
                });
            }
        });
    }
    let Some(slug) = slug else {
        return html! {};
    };
    let run = |request: bool| {
        let picks = state.picks.clone();
        let busy = state.asking.is_some();
        let allot = allot.clone();
        let dispatch = dispatch.clone();
        let slug = slug.clone();
        Callback::from(move |_| {
            if busy {
                return;
            }
            let seats = match picks.seats() {
                Ok(seats) => seats,
                Err(message) => {
                    dispatch.emit(AllotmentAction::Refused(message));
                    return;
                }
            };
            let form = AllotmentForm {
                slug: slug.clone(),
                seats,
            };
            dispatch.emit(AllotmentAction::Ask(request));
            let command = if request {
                cmd::REQUEST_ALLOTMENT
            } else {
                cmd::RETURN_ALLOTMENT
            };
            let dispatch = dispatch.clone();
            allot.run_then(command, AllotmentArgs { form }, move |answer| {
                dispatch.emit(AllotmentAction::Answered(
                    answer.clone().map_err(|e| friendly(&e)),
                ));
            });
        })
    };
    let busy = state.busy_text();
    let rows = seats
        .result
        .as_ref()
        .map_or_else(Vec::new, |s| s.seat_types.clone());
    html! {
        <section class="panel" id="allotment">
            <h2>{ "Seats on this device" }</h2>
            <p class="muted">{ "A connected device sells from its own allotment, so two doors offline never sell the same seat. Ask the server's pool for seats while online; give back what you will not sell." }</p>
            <table class="table" id="allotment-table">
                <thead><tr><th>{ "Seat type" }</th><th class="num">{ "On this device" }</th><th class="num">{ "Left overall" }</th><th>{ "Seats" }</th></tr></thead>
                <tbody>
                    { for rows.iter().map(|s| {
                        let name = s.name.clone();
                        let dispatch = dispatch.clone();
                        html! {
                            <tr data-seat-type={name.clone()}>
                                <td>{ &s.name }</td>
                                <td class="num mine">{ s.allotment_remaining.unwrap_or(0) }</td>
                                <td class="num">{ s.remaining }</td>
                                <td><input class="allot-qty" type="text" inputmode="numeric" placeholder="0"
                                    aria-label={format!("{} seats", s.name)} value={state.picks.typed(&name)}
                                    oninput={Callback::from(move |e: InputEvent| dispatch.emit(AllotmentAction::Type(name.clone(), input_value(&e))))} /></td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <div class="row">
                <button id="allot-request" class="primary" disabled={busy.is_some()} onclick={run(true)}>{ "Request from the pool" }</button>
                <button id="allot-return" class="secondary" disabled={busy.is_some()} onclick={run(false)}>{ "Give back" }</button>
                if let Some(text) = busy { <span class="muted" id="allot-busy"><span class="spinner small"></span>{ text }</span> }
            </div>
            { match &state.outcome {
                Some(Ok((request, done))) => {
                    let list = done.seats.iter().map(|s| format!("{} {}", s.quantity, s.name)).collect::<Vec<_>>().join(", ");
                    let text = match (*request, list.is_empty()) {
                        (true, true) => "The pool had none of those seats to give.".to_string(),
                        (true, false) => format!("Granted {list}."),
                        (false, _) if done.synced => format!("Gave back {list}; the pool has them again."),
                        (false, _) => format!("Gave back {list}; the pool takes them at the next sync."),
                    };
                    html! { <p class="banner info" id="allot-done" role="status">{ text }</p> }
                }
                Some(Err(message)) => html! { <p class="banner error" id="allot-error" role="alert">{ message }</p> },
                None => html! {},
            } }
        </section>
    }
}
