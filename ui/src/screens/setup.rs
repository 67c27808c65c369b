//! Setup, for organizers: conferences, their seat types and promo codes, publishing.
//! Errors show next to the field they are about.
use super::{field_error, form_error, input_checked, input_value};
use crate::bridge;
use crate::logic::format_money;
use conference_desktop_ipc::protocol::{ConferenceView, ErrorBody};
use conference_desktop_ipc::{ConferenceForm, PromoForm, SeatTypeChange, SeatTypeForm, cmd};
use serde::Serialize;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SetupProps {
    pub conferences: Vec<ConferenceView>,
    pub selected: Option<String>,
    pub on_select: Callback<String>,
}

#[derive(Serialize)]
struct CreateArgs<'a> {
    form: &'a ConferenceForm,
}

#[derive(Serialize)]
struct SeatArgs<'a> {
    slug: &'a str,
    form: &'a SeatTypeForm,
}

#[derive(Serialize)]
struct ChangeArgs<'a> {
    slug: &'a str,
    change: &'a SeatTypeChange,
}

#[derive(Serialize)]
struct PromoArgs<'a> {
    slug: &'a str,
    form: &'a PromoForm,
}

#[derive(Serialize)]
struct PublishArgs<'a> {
    slug: &'a str,
    published: bool,
}

/// A text field bound to one member of a form held in a `UseStateHandle`.
fn text_field<F: Clone + 'static>(
    label: &str,
    id: &str,
    value: &str,
    form: &UseStateHandle<F>,
    set: fn(&mut F, String),
    placeholder: &str,
) -> Html {
    let form = form.clone();
    let oninput = Callback::from(move |e: InputEvent| {
        let mut next = (*form).clone();
        set(&mut next, input_value(&e));
        form.set(next);
    });
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
    let form = use_state(|| ConferenceForm {
        currency: "EUR".into(),
        ..ConferenceForm::default()
    });
    let error = use_state(|| None::<ErrorBody>);
    let busy = use_state(|| false);
    let onsubmit = {
        let form = form.clone();
        let error = error.clone();
        let busy = busy.clone();
        let on_created = props.on_created.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let form = (*form).clone();
            let error = error.clone();
            let busy = busy.clone();
            let on_created = on_created.clone();
            busy.set(true);
            spawn_local(async move {
                match bridge::invoke::<_, ConferenceView>(
                    cmd::CREATE_CONFERENCE,
                    &CreateArgs { form: &form },
                )
                .await
                {
                    Ok(c) => {
                        error.set(None);
                        on_created.emit(c.slug);
                    }
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        })
    };
    let f = &*form;
    html! {
        <form class="panel" id="conference-form" {onsubmit}>
            <h2>{ "New conference" }</h2>
            { form_error(&error, "conf-error", &["name", "slug", "start", "end", "currency", "owner_name", "email"]) }
            <div class="grid2">
                <div>{ text_field("Name", "conf-name", &f.name, &form, |f, v| f.name = v, "DevConf 2026") }{ field_error(&error, "name", "conf") }</div>
                <div>{ text_field("Slug (short name used in addresses)", "conf-slug", &f.slug, &form, |f, v| f.slug = v, "devconf") }{ field_error(&error, "slug", "conf") }</div>
                <div>{ text_field("Starts (YYYY-MM-DD)", "conf-start", &f.start, &form, |f, v| f.start = v, "2026-12-01") }{ field_error(&error, "start", "conf") }</div>
                <div>{ text_field("Ends (YYYY-MM-DD)", "conf-end", &f.end, &form, |f, v| f.end = v, "2026-12-02") }{ field_error(&error, "end", "conf") }</div>
                <div>{ text_field("Location", "conf-location", &f.location, &form, |f, v| f.location = v, "Berlin") }</div>
                <div>{ text_field("Currency", "conf-currency", &f.currency, &form, |f, v| f.currency = v, "EUR") }{ field_error(&error, "currency", "conf") }</div>
                <div>{ text_field("Owner name", "conf-owner-name", &f.owner_name, &form, |f, v| f.owner_name = v, "Ada Lovelace") }{ field_error(&error, "owner_name", "conf") }</div>
                <div>{ text_field("Owner email", "conf-owner-email", &f.owner_email, &form, |f, v| f.owner_email = v, "ada@example.com") }{ field_error(&error, "email", "conf") }</div>
            </div>
            { text_field("Description", "conf-description", &f.description, &form, |f, v| f.description = v, "") }
            <button id="conf-create" class="primary" type="submit" disabled={*busy}>
                if *busy { <span class="spinner small"></span> }{ "Create conference" }
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
    let publish_error = use_state(|| None::<ErrorBody>);
    let toggle = {
        let slug = c.slug.clone();
        let published = c.published;
        let publish_error = publish_error.clone();
        Callback::from(move |_| {
            let slug = slug.clone();
            let publish_error = publish_error.clone();
            spawn_local(async move {
                let result = bridge::invoke::<_, ConferenceView>(
                    cmd::SET_PUBLISHED,
                    &PublishArgs {
                        slug: &slug,
                        published: !published,
                    },
                )
                .await;
                publish_error.set(result.err());
            });
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
            { form_error(&publish_error, "publish-error", &[]) }
            <SeatTypes conference={c.clone()} />
            <PromoCodes conference={c.clone()} />
        </div>
    }
}

#[function_component(SeatTypes)]
fn seat_types(props: &DetailProps) -> Html {
    let c = &props.conference;
    let form = use_state(SeatTypeForm::default);
    let editing = use_state(|| None::<String>);
    let error = use_state(|| None::<ErrorBody>);
    let onsubmit = {
        let form = form.clone();
        let editing = editing.clone();
        let error = error.clone();
        let slug = c.slug.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let current = (*form).clone();
            let form = form.clone();
            let editing = editing.clone();
            let error = error.clone();
            let slug = slug.clone();
            spawn_local(async move {
                let result = match (*editing).clone() {
                    Some(current_name) => {
                        bridge::invoke::<_, ConferenceView>(
                            cmd::UPDATE_SEAT_TYPE,
                            &ChangeArgs {
                                slug: &slug,
                                change: &SeatTypeChange {
                                    current_name,
                                    form: current,
                                },
                            },
                        )
                        .await
                    }
                    None => {
                        bridge::invoke::<_, ConferenceView>(
                            cmd::ADD_SEAT_TYPE,
                            &SeatArgs {
                                slug: &slug,
                                form: &current,
                            },
                        )
                        .await
                    }
                };
                match result {
                    Ok(_) => {
                        error.set(None);
                        form.set(SeatTypeForm::default());
                        editing.set(None);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let f = &*form;
    html! {
        <section class="subsection">
            <h3>{ "Seat types" }</h3>
            <table class="table" id="seat-types">
                <thead><tr><th>{ "Name" }</th><th>{ "Description" }</th><th class="num">{ "Price" }</th><th class="num">{ "Quantity" }</th><th></th></tr></thead>
                <tbody>
                    { for c.seat_types.iter().map(|s| {
                        let form = form.clone();
                        let editing = editing.clone();
                        let s2 = s.clone();
                        html! {
                            <tr data-seat-type={s.name.clone()}>
                                <td>{ &s.name }</td><td>{ &s.description }</td>
                                <td class="num">{ format_money(&s.price, &c.currency) }</td>
                                <td class="num">{ s.quantity }</td>
                                <td><button class="link" onclick={Callback::from(move |_| {
                                    editing.set(Some(s2.name.clone()));
                                    form.set(SeatTypeForm { name: s2.name.clone(), description: s2.description.clone(), price: s2.price.clone(), quantity: s2.quantity.to_string() });
                                })}>{ "Edit" }</button></td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <form class="inline-form" id="seat-form" {onsubmit}>
                { form_error(&error, "seat-error", &["name", "description", "price", "quantity"]) }
                <div class="grid4">
                    <div>{ text_field("Name", "seat-name", &f.name, &form, |f, v| f.name = v, "Full") }{ field_error(&error, "name", "seat") }</div>
                    <div>{ text_field("Description", "seat-description", &f.description, &form, |f, v| f.description = v, "") }{ field_error(&error, "description", "seat") }</div>
                    <div>{ text_field("Price", "seat-price", &f.price, &form, |f, v| f.price = v, "120") }{ field_error(&error, "price", "seat") }</div>
                    <div>{ text_field("Quantity", "seat-quantity", &f.quantity, &form, |f, v| f.quantity = v, "50") }{ field_error(&error, "quantity", "seat") }</div>
                </div>
                <div class="row">
                    <button id="seat-add" class="primary" type="submit">{ if editing.is_some() { "Save seat type" } else { "Add seat type" } }</button>
                    if editing.is_some() {
                        <button type="button" class="secondary" onclick={
                            let editing = editing.clone(); let form = form.clone();
                            Callback::from(move |_| { editing.set(None); form.set(SeatTypeForm::default()); })
                        }>{ "Cancel" }</button>
                    }
                </div>
            </form>
        </section>
    }
}

#[function_component(PromoCodes)]
fn promo_codes(props: &DetailProps) -> Html {
    let c = &props.conference;
    let form = use_state(|| PromoForm {
        kind: "percent".into(),
        ..PromoForm::default()
    });
    let error = use_state(|| None::<ErrorBody>);
    let onsubmit = {
        let form = form.clone();
        let error = error.clone();
        let slug = c.slug.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let current = (*form).clone();
            let form = form.clone();
            let error = error.clone();
            let slug = slug.clone();
            spawn_local(async move {
                match bridge::invoke::<_, ConferenceView>(
                    cmd::ADD_PROMO_CODE,
                    &PromoArgs {
                        slug: &slug,
                        form: &current,
                    },
                )
                .await
                {
                    Ok(_) => {
                        error.set(None);
                        form.set(PromoForm {
                            kind: "percent".into(),
                            ..PromoForm::default()
                        });
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let f = &*form;
    let on_kind = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            if let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
                let mut next = (*form).clone();
                next.kind = select.value();
                form.set(next);
            }
        })
    };
    let on_exclusive = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = (*form).clone();
            next.exclusive = input_checked(&e);
            form.set(next);
        })
    };
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
                { form_error(&error, "promo-form-error", &["code", "value", "max_uses"]) }
                <div class="grid4">
                    <div>{ text_field("Code", "promo-code", &f.code, &form, |f, v| f.code = v, "EARLY") }{ field_error(&error, "code", "promo") }</div>
                    <div>
                        <label for="promo-kind">{ "Kind" }
                            <select id="promo-kind" onchange={on_kind}>
                                <option value="percent" selected={f.kind == "percent"}>{ "Percent off" }</option>
                                <option value="amount" selected={f.kind == "amount"}>{ "Amount off" }</option>
                            </select>
                        </label>
                    </div>
                    <div>{ text_field("Value", "promo-value", &f.value, &form, |f, v| f.value = v, "15") }{ field_error(&error, "value", "promo") }</div>
                    <div>{ text_field("Uses (empty: unlimited)", "promo-max-uses", &f.max_uses, &form, |f, v| f.max_uses = v, "") }{ field_error(&error, "max_uses", "promo") }</div>
                </div>
                <div class="row wrap">
                    <span class="muted">{ "Applies to:" }</span>
                    { for c.seat_types.iter().map(|s| {
                        let form = form.clone();
                        let name = s.name.clone();
                        let checked = f.scope.contains(&s.name);
                        html! {
                            <label class="check"><input type="checkbox" checked={checked} data-scope={s.name.clone()}
                                onchange={Callback::from(move |e: Event| {
                                    let mut next = (*form).clone();
                                    next.scope.retain(|n| *n != name);
                                    if input_checked(&e) { next.scope.push(name.clone()); }
                                    form.set(next);
                                })} />{ &s.name }</label>
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
