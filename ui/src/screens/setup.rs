//! Setup, for organizers: conferences, their seat types and promo codes, publishing.
//! Errors show next to the field they are about.
use super::{field_error, form_error, input_checked, input_value};
use crate::hooks::{use_command, use_reduced};
use crate::logic::format_money;
use crate::state::{
    ConferenceDraft, PromoAction, PromoDraft, SeatTypeAction, SeatTypeDraft, Setter,
};
use conference_desktop_ipc::protocol::ConferenceView;
use conference_desktop_ipc::{ConferenceForm, PromoForm, SeatTypeChange, SeatTypeForm, cmd};
use serde::Serialize;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SetupProps {
    pub conferences: Vec<ConferenceView>,
    pub selected: Option<String>,
    pub on_select: Callback<String>,
}

#[derive(Serialize)]
struct CreateArgs {
    form: ConferenceForm,
}

#[derive(Serialize)]
struct SeatArgs {
    slug: String,
    form: SeatTypeForm,
}

#[derive(Serialize)]
struct ChangeArgs {
    slug: String,
    change: SeatTypeChange,
}

#[derive(Serialize)]
struct PromoArgs {
    slug: String,
    form: PromoForm,
}

#[derive(Serialize)]
struct PublishArgs {
    slug: String,
    published: bool,
}

/// A text field that sends what is typed in it to `on_text`.
fn text_field(
    label: &str,
    id: &str,
    value: &str,
    on_text: Callback<String>,
    placeholder: &str,
) -> Html {
    let oninput = on_text.reform(|e: InputEvent| input_value(&e));
    html! {
        <label for={id.to_string()}>{ label }
            <input id={id.to_string()} type="text" value={value.to_string()} placeholder={placeholder.to_string()} {oninput} />
        </label>
    }
}

#[function_component(Setup)]
pub fn setup(props: &SetupProps) -> Html {
    let creating = use_state(|| props.conferences.is_empty());
    let selected = props
        .selected
        .as_ref()
        .and_then(|s| props.conferences.iter().find(|c| &c.slug == s))
        .cloned();
    let new_button = {
        let creating = creating.clone();
        Callback::from(move |_| creating.set(true))
    };
    html! {
        <div class="setup">
            <aside class="sidebar">
                <h2>{ "Conferences" }</h2>
                <ul class="conference-list" id="conference-list">
                    { for props.conferences.iter().map(|c| {
                        let on_select = props.on_select.clone();
                        let creating = creating.clone();
                        let slug = c.slug.clone();
                        let active = !*creating && props.selected.as_deref() == Some(c.slug.as_str());
                        html! {
                            <li>
                                <button class={classes!("list-item", active.then_some("active"))} data-slug={c.slug.clone()}
                                    onclick={Callback::from(move |_| { creating.set(false); on_select.emit(slug.clone()); })}>
                                    <span>{ &c.name }</span>
                                    <span class={classes!("pill", c.publication.clone())}>{ &c.publication }</span>
                                </button>
                            </li>
                        }
                    }) }
                </ul>
                <button id="new-conference" class="secondary" onclick={new_button}>{ "New conference" }</button>
            </aside>
            <section class="detail">
                if *creating {
                    <NewConference on_created={
                        let creating = creating.clone();
                        let on_select = props.on_select.clone();
                        Callback::from(move |slug: String| { creating.set(false); on_select.emit(slug); })
                    } />
                } else if let Some(c) = selected {
                    <ConferenceDetail conference={c} />
                } else {
                    <p class="muted">{ "Pick a conference, or create one." }</p>
                }
            </section>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct NewConferenceProps {
    on_created: Callback<String>,
}

#[function_component(NewConference)]
fn new_conference(props: &NewConferenceProps) -> Html {
    let draft = use_reduced(ConferenceDraft::default);
    let create = use_command::<ConferenceView>();
    let onsubmit = {
        let form = draft.0.clone();
        let create = create.clone();
        let on_created = props.on_created.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let on_created = on_created.clone();
            create.run_then(
                cmd::CREATE_CONFERENCE,
                CreateArgs { form: form.clone() },
                move |answer| {
                    if let Ok(c) = answer {
                        on_created.emit(c.slug.clone());
                    }
                },
            );
        })
    };
    let edit = draft.dispatcher().to_callback();
    let set = |f: Setter<ConferenceForm>| edit.reform(move |v: String| (f, v));
    let (f, error, busy) = (&draft.0, &create.error, create.busy);
    html! {
        <form class="panel" id="conference-form" {onsubmit}>
            <h2>{ "New conference" }</h2>
            { form_error(error, "conf-error", &["name", "slug", "start", "end", "currency", "owner_name", "email"]) }
            <div class="grid2">
                <div>{ text_field("Name", "conf-name", &f.name, set(|f, v| f.name = v), "DevConf 2026") }{ field_error(error, "name", "conf") }</div>
                <div>{ text_field("Slug (short name used in addresses)", "conf-slug", &f.slug, set(|f, v| f.slug = v), "devconf") }{ field_error(error, "slug", "conf") }</div>
                <div>{ text_field("Starts (YYYY-MM-DD)", "conf-start", &f.start, set(|f, v| f.start = v), "2026-12-01") }{ field_error(error, "start", "conf") }</div>
                <div>{ text_field("Ends (YYYY-MM-DD)", "conf-end", &f.end, set(|f, v| f.end = v), "2026-12-02") }{ field_error(error, "end", "conf") }</div>
                <div>{ text_field("Location", "conf-location", &f.location, set(|f, v| f.location = v), "Berlin") }</div>
                <div>{ text_field("Currency", "conf-currency", &f.currency, set(|f, v| f.currency = v), "EUR") }{ field_error(error, "currency", "conf") }</div>
                <div>{ text_field("Owner name", "conf-owner-name", &f.owner_name, set(|f, v| f.owner_name = v), "Ada Lovelace") }{ field_error(error, "owner_name", "conf") }</div>
                <div>{ text_field("Owner email", "conf-owner-email", &f.owner_email, set(|f, v| f.owner_email = v), "ada@example.com") }{ field_error(error, "email", "conf") }</div>
            </div>
            { text_field("Description", "conf-description", &f.description, set(|f, v| f.description = v), "") }
            <button id="conf-create" class="primary" type="submit" disabled={busy}>
                if busy { <span class="spinner small"></span> }{ "Create conference" }
            </button>
        </form>
    }
}

#[derive(Properties, PartialEq)]
struct DetailProps {
    conference: ConferenceView,
}

#[function_component(ConferenceDetail)]
fn conference_detail(props: &DetailProps) -> Html {
    let c = &props.conference;
    let publish = use_command::<ConferenceView>();
    let toggle = {
        let slug = c.slug.clone();
        let published = c.published;
        let publish = publish.clone();
        Callback::from(move |_| {
            publish.run(
                cmd::SET_PUBLISHED,
                PublishArgs {
                    slug: slug.clone(),
                    published: !published,
                },
            );
        })
    };
    html! {
        <div class="panel" id="conference-detail" data-slug={c.slug.clone()}>
            <div class="row between">
                <div>
                    <h2>{ &c.name }</h2>
                    <p class="muted">{ format!("{} · {} – {} · {} · {}", c.slug, &c.start[..c.start.len().min(10)], &c.end[..c.end.len().min(10)], c.location, c.currency) }</p>
                </div>
                <div class="row">
                    <span id="publication" class={classes!("pill", c.publication.clone())}>{ &c.publication }</span>
                    <button id="publish-toggle" class={if c.published { "secondary" } else { "primary" }} onclick={toggle}>
                        { if c.published { "Unpublish" } else { "Publish" } }
                    </button>
                </div>
            </div>
            { form_error(&publish.error, "publish-error", &[]) }
            <SeatTypes conference={c.clone()} />
            <PromoCodes conference={c.clone()} />
        </div>
    }
}

#[function_component(SeatTypes)]
fn seat_types(props: &DetailProps) -> Html {
    let c = &props.conference;
    let draft = use_reduced(SeatTypeDraft::default);
    let save = use_command::<ConferenceView>();
    let edit = draft.dispatcher().to_callback();
    let onsubmit = {
        let draft = (*draft).clone();
        let save = save.clone();
        let slug = c.slug.clone();
        let edit = edit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let slug = slug.clone();
            let form = draft.form.clone();
            let edit = edit.clone();
            let saved = move |answer: &Result<ConferenceView, _>| {
                if answer.is_ok() {
                    edit.emit(SeatTypeAction::Reset);
                }
            };
            match draft.editing.clone() {
                Some(current_name) => save.run_then(
                    cmd::UPDATE_SEAT_TYPE,
                    ChangeArgs {
                        slug,
                        change: SeatTypeChange { current_name, form },
                    },
                    saved,
                ),
                None => save.run_then(cmd::ADD_SEAT_TYPE, SeatArgs { slug, form }, saved),
            }
        })
    };
    let set = |f: Setter<SeatTypeForm>| edit.reform(move |v: String| SeatTypeAction::Set(f, v));
    let (f, error, editing) = (&draft.form, &save.error, &draft.editing);
    html! {
        <section class="subsection">
            <h3>{ "Seat types" }</h3>
            <table class="table" id="seat-types">
                <thead><tr><th>{ "Name" }</th><th>{ "Description" }</th><th class="num">{ "Price" }</th><th class="num">{ "Quantity" }</th><th></th></tr></thead>
                <tbody>
                    { for c.seat_types.iter().map(|s| {
                        let edit = edit.clone();
                        let s2 = s.clone();
                        html! {
                            <tr data-seat-type={s.name.clone()}>
                                <td>{ &s.name }</td><td>{ &s.description }</td>
                                <td class="num">{ format_money(&s.price, &c.currency) }</td>
                                <td class="num">{ s.quantity }</td>
                                <td><button class="link" onclick={Callback::from(move |_| {
                                    edit.emit(SeatTypeAction::Edit(SeatTypeForm { name: s2.name.clone(), description: s2.description.clone(), price: s2.price.clone(), quantity: s2.quantity.to_string() }));
                                })}>{ "Edit" }</button></td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <form class="inline-form" id="seat-form" {onsubmit}>
                { form_error(error, "seat-error", &["name", "description", "price", "quantity"]) }
                <div class="grid4">
                    <div>{ text_field("Name", "seat-name", &f.name, set(|f, v| f.name = v), "Full") }{ field_error(error, "name", "seat") }</div>
                    <div>{ text_field("Description", "seat-description", &f.description, set(|f, v| f.description = v), "") }{ field_error(error, "description", "seat") }</div>
                    <div>{ text_field("Price", "seat-price", &f.price, set(|f, v| f.price = v), "120") }{ field_error(error, "price", "seat") }</div>
                    <div>{ text_field("Quantity", "seat-quantity", &f.quantity, set(|f, v| f.quantity = v), "50") }{ field_error(error, "quantity", "seat") }</div>
                </div>
                <div class="row">
                    <button id="seat-add" class="primary" type="submit">{ if editing.is_some() { "Save seat type" } else { "Add seat type" } }</button>
                    if editing.is_some() {
                        <button type="button" class="secondary" onclick={edit.reform(|_| SeatTypeAction::Reset)}>{ "Cancel" }</button>
                    }
                </div>
            </form>
        </section>
    }
}

#[function_component(PromoCodes)]
fn promo_codes(props: &DetailProps) -> Html {
    let c = &props.conference;
    let draft = use_reduced(PromoDraft::default);
    let add = use_command::<ConferenceView>();
    let edit = draft.dispatcher().to_callback();
    let onsubmit = {
        let form = draft.0.clone();
        let add = add.clone();
        let slug = c.slug.clone();
        let edit = edit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let edit = edit.clone();
            add.run_then(
                cmd::ADD_PROMO_CODE,
                PromoArgs {
                    slug: slug.clone(),
                    form: form.clone(),
                },
                move |answer| {
                    if answer.is_ok() {
                        edit.emit(PromoAction::Reset);
                    }
                },
            );
        })
    };
    let (f, error) = (&draft.0, &add.error);
    let set = |f: Setter<PromoForm>| edit.reform(move |v: String| PromoAction::Set(f, v));
    let on_kind = {
        let edit = edit.clone();
        Callback::from(move |e: Event| {
            if let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
                edit.emit(PromoAction::Set(|f, v| f.kind = v, select.value()));
            }
        })
    };
    let on_exclusive = edit.reform(|e: Event| PromoAction::Exclusive(input_checked(&e)));
    html! {
        <section class="subsection">
            <h3>{ "Promo codes" }</h3>
            <table class="table" id="promo-codes">
                <thead><tr><th>{ "Code" }</th><th>{ "Discount" }</th><th>{ "Applies to" }</th><th class="num">{ "Used" }</th><th>{ "Exclusive" }</th></tr></thead>
                <tbody>
                    { for c.promo_codes.iter().map(|p| html! {
                        <tr data-code={p.code.clone()}>
                            <td><code>{ &p.code }</code></td>
                            <td>{ if p.kind == "percent" { format!("{}% off", p.value) } else { format!("{} off", format_money(&p.value, &c.currency)) } }</td>
                            <td>{ if p.scope.is_empty() { "All seat types".to_string() } else { p.scope.join(", ") } }</td>
                            <td class="num">{ match p.max_uses { Some(m) => format!("{} of {m}", p.redeemed), None => format!("{} (unlimited)", p.redeemed) } }</td>
                            <td>{ if p.exclusive { "yes" } else { "no" } }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            <form class="inline-form" id="promo-form" {onsubmit}>
                { form_error(error, "promo-form-error", &["code", "value", "max_uses"]) }
                <div class="grid4">
                    <div>{ text_field("Code", "promo-code", &f.code, set(|f, v| f.code = v), "EARLY") }{ field_error(error, "code", "promo") }</div>
                    <div>
                        <label for="promo-kind">{ "Kind" }
                            <select id="promo-kind" onchange={on_kind}>
                                <option value="percent" selected={f.kind == "percent"}>{ "Percent off" }</option>
                                <option value="amount" selected={f.kind == "amount"}>{ "Amount off" }</option>
                            </select>
                        </label>
                    </div>
                    <div>{ text_field("Value", "promo-value", &f.value, set(|f, v| f.value = v), "15") }{ field_error(error, "value", "promo") }</div>
                    <div>{ text_field("Uses (empty: unlimited)", "promo-max-uses", &f.max_uses, set(|f, v| f.max_uses = v), "") }{ field_error(error, "max_uses", "promo") }</div>
                </div>
                <div class="row wrap">
                    <span class="muted">{ "Applies to:" }</span>
                    { for c.seat_types.iter().map(|s| {
                        let name = s.name.clone();
                        let checked = f.scope.contains(&s.name);
                        html! {
                            <label class="check"><input type="checkbox" checked={checked} data-scope={s.name.clone()}
                                onchange={edit.reform(move |e: Event| PromoAction::Scope(name.clone(), input_checked(&e)))} />{ &s.name }</label>
                        }
                    }) }
                    <span class="muted">{ "(none ticked: all)" }</span>
                    <label class="check"><input id="promo-exclusive" type="checkbox" checked={f.exclusive} onchange={on_exclusive} />{ "Exclusive" }</label>
                </div>
                <button id="promo-add" class="primary" type="submit">{ "Add promo code" }</button>
            </form>
        </section>
    }
}
