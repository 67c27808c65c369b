//! The screens. They render state from [`crate::logic`] and call the shell through
//! [`crate::bridge`]; every answer is either a view from the protocol or an `{code, message}`
//! error shown where it belongs.
mod door;
mod office;
mod orders;
mod settings;
mod setup;

use crate::bridge;
use crate::hooks::use_command;
use crate::logic::{friendly, short_time, sync_text, upgrade_percent};
use conference_desktop_ipc::protocol::{ConferenceView, ErrorBody};
use conference_desktop_ipc::{
    EXPORT_PROGRESS, ExportProgressView, HeaderView, STARTUP_PROGRESS, STORE_CHANGED, StartupView,
    SyncSummary, cmd,
};
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// No arguments.
#[derive(serde::Serialize)]
pub struct NoArgs {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Door,
    Setup,
    Orders,
    BackOffice,
    Settings,
}

impl Screen {
    const ALL: [Screen; 5] = [
        Screen::Door,
        Screen::Setup,
        Screen::Orders,
        Screen::BackOffice,
        Screen::Settings,
    ];

    fn label(self) -> &'static str {
        match self {
            Screen::Door => "Door sales",
            Screen::Setup => "Setup",
            Screen::Orders => "Orders",
            Screen::BackOffice => "Back office",
            Screen::Settings => "Settings",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Screen::Door => "nav-door",
            Screen::Setup => "nav-setup",
            Screen::Orders => "nav-orders",
            Screen::BackOffice => "nav-office",
            Screen::Settings => "nav-settings",
        }
    }
}

/// Counts the shell's "store changed" events: screens read again when it moves.
#[derive(Default, PartialEq)]
pub struct Changes(u64);

impl Reducible for Changes {
    type Action = ();
    fn reduce(self: Rc<Self>, (): ()) -> Rc<Self> {
        Rc::new(Changes(self.0 + 1))
    }
}

/// The value of the input element an event came from.
pub fn input_value(event: &Event) -> String {
    event
        .target_dyn_into::<HtmlInputElement>()
        .map(|i| i.value())
        .unwrap_or_default()
}

/// The checked state of the checkbox an event came from.
pub fn input_checked(event: &Event) -> bool {
    event
        .target_dyn_into::<HtmlInputElement>()
        .is_some_and(|i| i.checked())
}

/// A field's error, when the error belongs to it.
pub fn field_error(error: &Option<ErrorBody>, field: &str, id_prefix: &str) -> Html {
    match error {
        Some(e) if crate::logic::field_of(e) == Some(field) => html! {
            <p class="field-error" id={format!("{id_prefix}-{field}-error")} role="alert">{ friendly(e) }</p>
        },
        _ => html! {},
    }
}

/// An error that belongs to none of the form's inputs (`fields`), shown above the form.
pub fn form_error(error: &Option<ErrorBody>, id: &str, fields: &[&str]) -> Html {
    match error {
        Some(e) if crate::logic::shows_above(e, fields) => html! {
            <div class="banner error" id={id.to_string()} role="alert">{ friendly(e) }</div>
        },
        _ => html! {},
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let screen = use_state(|| Screen::Door);
    let changes = use_reducer(Changes::default);
    let conferences = use_state(|| None::<Vec<ConferenceView>>);
    let selected = use_state(|| None::<String>);
    let header = use_state(|| None::<HeaderView>);
    let load_error = use_state(|| None::<ErrorBody>);
    let sync = use_command::<SyncSummary>();
    let mark_read = use_command::<usize>();
    let startup = use_state(|| None::<StartupView>);
    let upgrade_note_closed = use_state(|| false);
    let export_progress = use_state(|| None::<ExportProgressView>);

    {
        let dispatcher = changes.dispatcher();
        let startup = startup.clone();
        let export_progress = export_progress.clone();
        use_effect_with((), move |()| {
            bridge::listen(STORE_CHANGED, move |_| dispatcher.dispatch(()));
            bridge::listen(STARTUP_PROGRESS, move |event| {
                if let Some(view) = bridge::payload::<StartupView>(event) {
                    startup.set(Some(view));
                }
            });
            bridge::listen(EXPORT_PROGRESS, move |event| {
                if let Some(view) = bridge::payload::<ExportProgressView>(event) {
                    export_progress.set(Some(view));
                }
            });
        });
    }
    {
        let conferences = conferences.clone();
        let selected = selected.clone();
        let header = header.clone();
        let load_error = load_error.clone();
        let startup = startup.clone();
        use_effect_with(changes.0, move |_| {
            spawn_local(async move {
                // Answers at once, also while the store opens (events may have gone by
                // before this page listened).
                if (*startup).as_ref().is_none_or(|s| s.state != "ready")
                    && let Ok(view) =
                        bridge::invoke::<_, StartupView>(cmd::STARTUP, &NoArgs {}).await
                {
                    startup.set(Some(view));
                }
                match bridge::invoke::<_, Vec<ConferenceView>>(cmd::CONFERENCES, &NoArgs {}).await {
                    Ok(list) => {
                        let keep = (*selected)
                            .as_ref()
                            .is_some_and(|s| list.iter().any(|c| &c.slug == s));
                        if !keep {
                            let first = list
                                .iter()
                                .find(|c| c.published)
                                .or(list.first())
                                .map(|c| c.slug.clone());
                            selected.set(first);
                        }
                        conferences.set(Some(list));
                        load_error.set(None);
                    }
                    Err(e) => load_error.set(Some(e)),
                }
                if let Ok(h) = bridge::invoke::<_, HeaderView>(cmd::HEADER, &NoArgs {}).await {
                    header.set(Some(h));
                }
            });
        });
    }

    let on_select = {
        let selected = selected.clone();
        Callback::from(move |slug: String| selected.set(Some(slug)))
    };
    let on_sync = {
        let sync = sync.clone();
        Callback::from(move |()| sync.run(cmd::SYNC_NOW, NoArgs {}))
    };
    let on_read = Callback::from(move |()| mark_read.run(cmd::MARK_REJECTIONS_READ, NoArgs {}));

    let list = (*conferences).clone().unwrap_or_default();
    let current = (*selected)
        .as_ref()
        .and_then(|s| list.iter().find(|c| &c.slug == s))
        .cloned();

    let body = match (&*conferences, *screen) {
        (None, _) => startup_screen((*startup).as_ref()),
        (Some(_), Screen::Door) => html! {
            <door::Door conferences={list.clone()} selected={(*selected).clone()} on_select={on_select.clone()} changes={changes.0} />
        },
        (Some(_), Screen::Setup) => html! {
            <setup::Setup conferences={list.clone()} selected={(*selected).clone()} on_select={on_select.clone()} />
        },
        (Some(_), Screen::Orders) => html! { <orders::Orders changes={changes.0} /> },
        (Some(_), Screen::BackOffice) => html! {
            <office::BackOffice conferences={list.clone()} selected={(*selected).clone()} on_select={on_select.clone()} changes={changes.0} export_progress={(*export_progress).clone()} />
        },
        (Some(_), Screen::Settings) => html! {
            <settings::Settings header={(*header).clone()} on_sync={on_sync.clone()}
                conferences={list.clone()} selected={(*selected).clone()} changes={changes.0} />
        },
    };

    html! {
        <div class="shell">
            <Header header={(*header).clone()} conference={current} on_sync={on_sync} on_read={on_read} sync_error={sync.error.clone()} />
            <nav class="tabs" aria-label="Screens">
                { for Screen::ALL.iter().map(|s| {
                    let screen_handle = screen.clone();
                    let target = *s;
                    let active = *screen == target;
                    html! {
                        <button id={s.id()} class={classes!("tab", active.then_some("active"))}
                            aria-current={active.then_some("page")}
                            onclick={Callback::from(move |_| screen_handle.set(target))}>
                            { s.label() }
                        </button>
                    }
                }) }
            </nav>
            { form_error(&load_error, "load-error", &[]) }
            if (*startup).as_ref().is_some_and(|s| s.upgraded && s.state == "ready") && !*upgrade_note_closed {
                <div class="banner info" id="upgraded-note" role="status">
                    { "This store was written by box office V1 and has been upgraded: its conferences, orders and attendees are all here. " }
                    <button id="upgraded-dismiss" class="secondary"
                        onclick={Callback::from(move |_| upgrade_note_closed.set(true))}>{ "OK" }</button>
                </div>
            }
            <main class="screen">{ body }</main>
        </div>
    }
}

/// What the window shows until the store is open: a V1 upgrade's progress, or why the
/// store could not be opened.
fn startup_screen(startup: Option<&StartupView>) -> Html {
    match startup {
        Some(s) if s.state == "upgrading" => {
            let percent = upgrade_percent(s.done, s.total);
            html! {
                <div class="loading startup" id="loading">
                    <h2>{ "Upgrading this store from box office V1" }</h2>
                    <progress id="upgrade-progress" max="100" value={percent.to_string()}></progress>
                    <span id="upgrade-percent">{ format!("{percent} %") }</span>
                    <p>{ "Every conference, order and attendee is kept. The box office opens when the upgrade is done; please keep the window open." }</p>
                </div>
            }
        }
        Some(s) if s.state == "failed" => html! {
            <div class="loading startup" id="loading">
                <h2>{ "The store could not be opened" }</h2>
                if let Some(e) = &s.error {
                    <div class="banner error" id="startup-error" role="alert">{ friendly(e) }</div>
                }
            </div>
        },
        _ => {
            html! { <div class="loading" id="loading"><span class="spinner"></span>{ "Opening the store…" }</div> }
        }
    }
}

#[derive(Properties, PartialEq)]
struct HeaderProps {
    header: Option<HeaderView>,
    conference: Option<ConferenceView>,
    on_sync: Callback<()>,
    on_read: Callback<()>,
    /// Why the last "Sync now" failed.
    sync_error: Option<ErrorBody>,
}

#[function_component(Header)]
fn header(props: &HeaderProps) -> Html {
    let Some(h) = &props.header else {
        return html! { <header class="topbar"><strong class="brand">{ "Contoso Box Office" }</strong></header> };
    };
    let (state_class, state_text) = if h.syncing {
        ("syncing", sync_text(h.sync_progress.as_ref()))
    } else if h.server_url.is_none() {
        ("standalone", "Standalone (no sync server)".to_string())
    } else if h.online {
        ("online", "Online".to_string())
    } else {
        ("offline", "Offline".to_string())
    };
    let on_sync = props.on_sync.clone();
    let on_read = props.on_read.clone();
    html! {
        <header class="topbar">
            <div class="brand-block">
                <strong class="brand">{ "Contoso Box Office" }</strong>
                <span class="device" id="device-name">{ &h.device.name }</span>
            </div>
            <div class="conference-name" id="conference-name">
                { props.conference.as_ref().map_or("No conference yet".to_string(), |c| c.name.clone()) }
            </div>
            <div class="sync-block">
                <span id="online-state" class={classes!("pill", state_class)}>
                    if h.syncing { <span class="spinner small"></span> }
                    { state_text }
                </span>
                <span class="pill" id="pending-count" title="Commands not yet sent to the sync server">
                    { format!("{} pending", h.pending_commands) }
                </span>
                <span class="last-sync" id="last-sync">
                    { h.last_sync_at.as_deref().map_or("Never synced".to_string(), |t| format!("Last sync {}", short_time(t))) }
                </span>
                <button id="sync-now-header" class="secondary" disabled={h.syncing}
                    onclick={Callback::from(move |_| on_sync.emit(()))}>{ "Sync now" }</button>
            </div>
            if let Some(e) = &props.sync_error {
                <div class="banner warning" id="sync-error" role="status">{ friendly(e) }</div>
            }
            if !h.rejections.is_empty() {
                <div class="banner error rejections" id="rejections" role="alert">
                    <strong>{ format!("The sync server refused {} of this device's commands:", h.rejections.len()) }</strong>
                    <ul>
                        { for h.rejections.iter().map(|r| html! {
                            <li>{ format!("{} ({}): {}", r.command_type, short_time(&r.recorded_at), r.message) }</li>
                        }) }
                    </ul>
                    <button id="rejections-read" onclick={Callback::from(move |_| on_read.emit(()))}>{ "Mark as read" }</button>
                </div>
            }
            if !h.set_aside.is_empty() {
                <div class="banner warning set-aside" id="set-aside" role="status">
                    <strong>{ format!("{} event(s) from the sync server are kept but not shown; sales and sync go on. Tell the server's admin:", h.set_aside.len()) }</strong>
                    <ul>
                        { for h.set_aside.iter().map(|x| html! {
                            <li>{ format!("{} (position {}): {}", x.event_type, x.server_position, x.reason) }</li>
                        }) }
                    </ul>
                </div>
            }
        </header>
    }
}
