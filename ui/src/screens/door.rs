//! Door sales: seat-type cards with what is left, quantity pickers, a promo code, the
//! registrant, payment, and the receipt with the access code and its QR code. Usable with
//! the keyboard alone: Tab moves between fields, Enter moves on, and Enter on the last
//! field completes the sale.
use super::{form_error, input_value};
use crate::bridge;
use crate::logic::{
    Cart, CartAction, CartField, Method, availability, change_due, format_money, friendly, qr_svg,
    shortage_text,
};
use conference_desktop_ipc::protocol::{ConferenceView, ErrorBody, OrderView, Quote, SeatsView};
use conference_desktop_ipc::{QuoteRequest, SaleForm, SeatPick, cmd};
use serde::Serialize;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

#[derive(Clone, Default, PartialEq)]
struct CartState(Cart);

impl Reducible for CartState {
    type Action = CartAction;
    fn reduce(self: Rc<Self>, action: CartAction) -> Rc<Self> {
        Rc::new(CartState(self.0.clone().reduce(action)))
    }
}

#[derive(Serialize)]
struct SlugArgs<'a> {
    slug: &'a str,
}

#[derive(Serialize)]
struct QuoteArgs<'a> {
    request: &'a QuoteRequest,
}

#[derive(Serialize)]
struct SellArgs<'a> {
    sale: &'a SaleForm,
}

#[derive(Properties, PartialEq)]
pub struct DoorProps {
    pub conferences: Vec<ConferenceView>,
    pub selected: Option<String>,
    pub on_select: Callback<String>,
    pub changes: u64,
}

/// Moves focus to the next `.step` field, or completes the sale from the last one.
fn advance(event: &KeyboardEvent, complete: &Callback<()>) {
    if event.key() != "Enter" {
        return;
    }
    let Some(target) = event.target_dyn_into::<web_sys::HtmlElement>() else {
        return;
    };
    if target.tag_name() == "BUTTON" {
        return;
    }
    event.prevent_default();
    if target.id() == "promo"
        && !target
            .unchecked_ref::<web_sys::HtmlInputElement>()
            .value()
            .trim()
            .is_empty()
    {
        // Enter on a typed promo code applies it (handled by the field itself).
        return;
    }
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(steps) = document.query_selector_all(".door-form .step") else {
        return;
    };
    let fields: Vec<web_sys::HtmlElement> = (0..steps.length())
        .filter_map(|i| steps.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .filter(|e| !e.has_attribute("disabled"))
        .collect();
    match fields.iter().position(|f| *f == target) {
        Some(i) if i + 1 < fields.len() => {
            let _ = fields[i + 1].focus();
        }
        _ => complete.emit(()),
    }
}

#[function_component(Door)]
pub fn door(props: &DoorProps) -> Html {
    let published: Vec<ConferenceView> = props
        .conferences
        .iter()
        .filter(|c| c.published)
        .cloned()
        .collect();
    let slug = props
        .selected
        .clone()
        .filter(|s| published.iter().any(|c| &c.slug == s))
        .or_else(|| published.first().map(|c| c.slug.clone()));
    let conference = slug
        .as_ref()
        .and_then(|s| published.iter().find(|c| &c.slug == s))
        .cloned();

    let cart = use_reducer(CartState::default);
    let seats = use_state(|| None::<SeatsView>);
    let quote = use_state(|| None::<Result<Quote, ErrorBody>>);
    let error = use_state(|| None::<ErrorBody>);
    let busy = use_state(|| false);
    let receipt = use_state(|| None::<(OrderView, f64)>);
    let started = use_mut_ref(|| 0.0_f64);

    // Seats left: read again whenever the store changed.
    {
        let seats = seats.clone();
        let dispatcher = cart.dispatcher();
        use_effect_with((slug.clone(), props.changes), move |(slug, _)| {
            let slug = slug.clone();
            spawn_local(async move {
                let Some(slug) = slug else {
                    seats.set(None);
                    return;
                };
                if let Ok(view) =
                    bridge::invoke::<_, SeatsView>(cmd::SEATS, &SlugArgs { slug: &slug }).await
                {
                    dispatcher.dispatch(CartAction::Offer(
                        view.seat_types.iter().map(|s| s.name.clone()).collect(),
                    ));
                    seats.set(Some(view));
                }
            });
        });
    }
    // The quote follows the cart.
    {
        let quote = quote.clone();
        let picks: Vec<SeatPick> = cart.0.picks();
        let codes = cart.0.promo_codes.clone();
        use_effect_with(
            (slug.clone(), picks, codes, props.changes),
            move |(slug, picks, codes, _)| {
                let request = slug.clone().map(|slug| QuoteRequest {
                    slug,
                    seats: picks.clone(),
                    promo_codes: codes.clone(),
                });
                spawn_local(async move {
                    match request {
                        Some(request) if !request.seats.is_empty() => {
                            let result = bridge::invoke::<_, Quote>(
                                cmd::QUOTE,
                                &QuoteArgs { request: &request },
                            )
                            .await;
                            quote.set(Some(result));
                        }
                        _ => quote.set(None),
                    }
                });
            },
        );
    }

    let Some(conference) = conference else {
        return html! {
            <section class="empty-state" id="door-empty">
                <h2>{ "Nothing to sell yet" }</h2>
                <p>{ "No conference is published. Create one in Setup, add seat types and publish it; it then shows up here." }</p>
            </section>
        };
    };

    if let Some((order, elapsed)) = &*receipt {
        let receipt = receipt.clone();
        let cart = cart.clone();
        let new_sale = Callback::from(move |_| {
            cart.dispatch(CartAction::Clear);
            receipt.set(None);
        });
        return html! { <Receipt order={order.clone()} elapsed_ms={*elapsed} on_new={new_sale} /> };
    }

    let currency = conference.currency.clone();
    let quote_view = match &*quote {
        Some(Ok(q)) => Some(q.clone()),
        _ => None,
    };
    let free = quote_view.as_ref().is_some_and(|q| q.is_free_of_charge);
    let promo_refused = quote_view.as_ref().and_then(|q| q.promo_error.clone());
    let cash_change = quote_view
        .as_ref()
        .map(|q| change_due(&q.total, &cart.0.tendered));
    let can_sell = cart.0.seat_count() > 0
        && quote_view.is_some()
        && promo_refused.is_none()
        && !*busy
        && (free || cart.0.method == Method::Card || matches!(cash_change, Some(Ok(_))));

    let complete = {
        let cart = cart.clone();
        let slug = conference.slug.clone();
        let busy = busy.clone();
        let error = error.clone();
        let receipt = receipt.clone();
        let started = started.clone();
        Callback::from(move |()| {
            if *busy || !can_sell {
                return;
            }
            let sale = cart.0.sale(&slug, free);
            let busy = busy.clone();
            let error = error.clone();
            let receipt = receipt.clone();
            *started.borrow_mut() = bridge::now_ms();
            let started = *started.borrow();
            busy.set(true);
            spawn_local(async move {
                match bridge::invoke::<_, OrderView>(cmd::SELL, &SellArgs { sale: &sale }).await {
                    Ok(order) => {
                        error.set(None);
                        receipt.set(Some((order, bridge::now_ms() - started)));
                    }
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        })
    };

    let on_keydown = {
        let complete = complete.clone();
        Callback::from(move |e: KeyboardEvent| advance(&e, &complete))
    };
    let on_pick_conference = {
        let on_select = props.on_select.clone();
        Callback::from(move |e: Event| {
            if let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
                on_select.emit(select.value());
            }
        })
    };

    let cards = seats
        .as_ref()
        .map_or_else(Vec::new, |s| s.seat_types.clone());
    let set_field = |field: CartField| {
        let cart = cart.clone();
        Callback::from(move |e: InputEvent| {
            let value = e
                .target_dyn_into::<web_sys::HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            cart.dispatch(CartAction::Set(field.clone(), value));
        })
    };

    html! {
        <div class="door door-form" onkeydown={on_keydown}>
            <div class="door-main">
                <div class="row between">
                    <h2>{ "Door sales" }</h2>
                    if published.len() > 1 {
                        <label class="inline">{ "Conference " }
                            <select id="door-conference" onchange={on_pick_conference}>
                                { for published.iter().map(|c| html! {
                                    <option value={c.slug.clone()} selected={c.slug == conference.slug}>{ &c.name }</option>
                                }) }
                            </select>
                        </label>
                    }
                </div>
                <div class="cards" id="seat-cards">
                    { for cards.iter().map(|s| {
                        let name = s.name.clone();
                        let quantity = cart.0.quantity(&name);
                        let remaining = s.allotment_remaining.unwrap_or(s.remaining);
                        let shown = availability(s.allotment_remaining, s.remaining);
                        let inc = { let cart = cart.clone(); let n = name.clone(); Callback::from(move |_| cart.dispatch(CartAction::Increment(n.clone()))) };
                        let dec = { let cart = cart.clone(); let n = name.clone(); Callback::from(move |_| cart.dispatch(CartAction::Decrement(n.clone()))) };
                        let set = { let cart = cart.clone(); let n = name.clone(); Callback::from(move |e: InputEvent| {
                            let value = e.target_dyn_into::<web_sys::HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
                            cart.dispatch(CartAction::SetQuantity(n.clone(), value.trim().parse().unwrap_or(0)));
                        }) };
                        html! {
                            <div class={classes!("card", shown.sold_out.then_some("sold-out"), shown.needs_allotment.then_some("needs-allotment"))} data-seat-type={name.clone()}>
                                <div class="card-title">{ &name }</div>
                                <div class="price">{ format_money(&s.price, &currency) }</div>
                                <div class="remaining" data-remaining={remaining.to_string()}>{ shown.text }</div>
                                if let Some(mine) = s.allotment_remaining {
                                    <div class="allotment">{ format!("This device: {mine} of {} left overall", s.remaining) }</div>
                                }
                                <div class="stepper">
                                    <button tabindex="-1" class="round" aria-label={format!("One less {name}")} onclick={dec}>{ "−" }</button>
                                    <input class="qty step" type="number" min="0" inputmode="numeric"
                                        aria-label={format!("{name} seats")} value={quantity.to_string()} oninput={set} />
                                    <button tabindex="-1" class="round" aria-label={format!("One more {name}")} onclick={inc}>{ "+" }</button>
                                </div>
                            </div>
                        }
                    }) }
                </div>

                <fieldset class="group">
                    <legend>{ "Promo code" }</legend>
                    <div class="row">
                        <input id="promo" class="step" type="text" placeholder="e.g. EARLY" autocomplete="off"
                            value={cart.0.promo_text.clone()}
                            oninput={ let cart = cart.clone(); Callback::from(move |e: InputEvent| {
                                let v = e.target_dyn_into::<web_sys::HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
                                cart.dispatch(CartAction::TypePromo(v));
                            }) }
                            onkeydown={ let cart = cart.clone(); Callback::from(move |e: KeyboardEvent| {
                                if e.key() == "Enter" && !input_value(&e).trim().is_empty() {
                                    e.prevent_default();
                                    cart.dispatch(CartAction::ApplyPromo);
                                }
                            }) } />
                        <button id="promo-apply" class="secondary" onclick={ let cart = cart.clone(); Callback::from(move |_| cart.dispatch(CartAction::ApplyPromo)) }>{ "Apply" }</button>
                        { for cart.0.promo_codes.iter().map(|code| {
                            let cart = cart.clone();
                            let c = code.clone();
                            html! {
                                <span class="chip" data-code={code.clone()}>{ code }
                                    <button class="chip-x" aria-label={format!("Remove {code}")} onclick={Callback::from(move |_| cart.dispatch(CartAction::RemovePromo(c.clone())))}>{ "×" }</button>
                                </span>
                            }
                        }) }
                    </div>
                    if let Some(e) = &promo_refused {
                        <p class="field-error" id="promo-error" role="alert">{ format!("{} — remove it to sell without it.", friendly(e)) }</p>
                    }
                </fieldset>

                <fieldset class="group">
                    <legend>{ "Registrant (optional)" }</legend>
                    <div class="grid3">
                        <label>{ "First name" }<input id="first-name" class="step" type="text" value={cart.0.first_name.clone()} oninput={set_field(CartField::FirstName)} /></label>
                        <label>{ "Last name" }<input id="last-name" class="step" type="text" value={cart.0.last_name.clone()} oninput={set_field(CartField::LastName)} /></label>
                        <label>{ "Email" }<input id="email" class="step" type="email" value={cart.0.email.clone()} oninput={set_field(CartField::Email)} /></label>
                    </div>
                </fieldset>
            </div>

            <aside class="summary" id="order-summary">
                <h3>{ "Order" }</h3>
                { match &*quote {
                    None => html! { <p class="muted" id="summary-empty">{ "Pick seats with + or type a quantity." }</p> },
                    Some(Err(e)) => html! { <p class="field-error" id="quote-error">{ friendly(e) }</p> },
                    Some(Ok(q)) => html! {
                        <>
                        <table class="lines" id="quote-lines">
                            { for q.lines.iter().map(|l| html! {
                                <tr class={classes!("line", l.kind.clone())}>
                                    <td>{ if l.kind == "seat" { format!("{} × {}", l.quantity, l.description) } else { l.description.clone() } }</td>
                                    <td class="num">{ format_money(&l.total, &q.currency) }</td>
                                </tr>
                            }) }
                            <tr class="total"><td>{ "Total" }</td><td class="num" id="quote-total">{ format_money(&q.total, &q.currency) }</td></tr>
                        </table>
                        { for q.shortages.iter().map(|s| html! {
                            <p class="banner warning shortage">{ shortage_text(&s.seat_type, s.requested, s.available) }</p>
                        }) }
                        </>
                    },
                } }

                if free && cart.0.seat_count() > 0 {
                    <p class="banner info" id="free-note">{ "This order costs nothing: it is confirmed without payment." }</p>
                } else {
                    <fieldset class="group payment">
                        <legend>{ "Payment" }</legend>
                        <div class="row" role="radiogroup">
                            <label class="radio"><input id="method-cash" class="step" type="radio" name="method" checked={cart.0.method == Method::Cash}
                                onchange={ let cart = cart.clone(); Callback::from(move |_| cart.dispatch(CartAction::Method(Method::Cash))) } />{ "Cash" }</label>
                            <label class="radio"><input id="method-card" type="radio" name="method" checked={cart.0.method == Method::Card}
                                onchange={ let cart = cart.clone(); Callback::from(move |_| cart.dispatch(CartAction::Method(Method::Card))) } />{ "Card" }</label>
                        </div>
                        if cart.0.method == Method::Cash {
                            <label>{ "Cash tendered" }
                                <input id="tendered" class="step" type="text" inputmode="decimal" placeholder="exact amount" value={cart.0.tendered.clone()} oninput={set_field(CartField::Tendered)} />
                            </label>
                            { match &cash_change {
                                Some(Ok(change)) => html! { <p class="change" id="change">{ format!("Change: {}", format_money(change, &currency)) }</p> },
                                Some(Err(e)) => html! { <p class="field-error" id="tendered-error">{ e.clone() }</p> },
                                None => html! {},
                            } }
                        } else {
                            <label>{ "Card terminal reference" }
                                <input id="reference" class="step" type="text" value={cart.0.reference.clone()} oninput={set_field(CartField::Reference)} />
                            </label>
                        }
                    </fieldset>
                }
                { form_error(&error, "sale-error", &[]) }
                <button id="complete-sale" class="primary big" disabled={!can_sell}
                    onclick={ let complete = complete.clone(); Callback::from(move |_| complete.emit(())) }>
                    if *busy { <span class="spinner small"></span>{ "Selling…" } }
                    else if free && cart.0.seat_count() > 0 { { "Confirm free order" } }
                    else { { "Complete sale" } }
                </button>
            </aside>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ReceiptProps {
    order: OrderView,
    elapsed_ms: f64,
    on_new: Callback<MouseEvent>,
}

#[function_component(Receipt)]
fn receipt(props: &ReceiptProps) -> Html {
    let o = &props.order;
    let new_button = use_node_ref();
    {
        let new_button = new_button.clone();
        use_effect_with((), move |()| {
            if let Some(button) = new_button.cast::<web_sys::HtmlElement>() {
                let _ = button.focus();
            }
        });
    }
    let qr = qr_svg(&o.access_code)
        .map(|svg| Html::from_html_unchecked(AttrValue::from(svg)))
        .unwrap_or_default();
    let short: Vec<String> = o
        .seats
        .iter()
        .filter(|s| s.reserved < s.requested)
        .map(|s| {
            format!(
                "{} of {} {} seats could be reserved",
                s.reserved, s.requested, s.seat_type
            )
        })
        .collect();
    html! {
        <section class="receipt" id="receipt" data-elapsed-ms={format!("{:.1}", props.elapsed_ms)}>
            <div class="receipt-head">
                <div>
                    <h2>{ if o.status == "confirmed" { "Sale complete" } else { "Order recorded" } }</h2>
                    <p class="muted">{ format!("{} · status {}", o.conference, o.status.replace('_', " ")) }</p>
                    <p class="label">{ "Access code" }</p>
                    <p class="access-code" id="access-code">{ &o.access_code }</p>
                    if let Some(r) = &o.registrant {
                        <p>{ format!("{} {} · {}", r.first_name, r.last_name, r.email) }</p>
                    }
                </div>
                <div class="qr" id="qr" aria-label={format!("QR code of access code {}", o.access_code)}>{ qr }</div>
            </div>
            { for short.iter().map(|s| html! { <p class="banner warning" id="partial-note">{ s }</p> }) }
            <table class="lines" id="receipt-lines">
                { for o.lines.iter().map(|l| html! {
                    <tr class={classes!("line", l.kind.clone())}>
                        <td>{ if l.kind == "seat" { format!("{} × {}", l.quantity, l.description) } else { l.description.clone() } }</td>
                        <td class="num">{ format_money(&l.total, &o.currency) }</td>
                    </tr>
                }) }
                <tr class="total"><td>{ "Total" }</td><td class="num" id="receipt-total">{ format_money(&o.total, &o.currency) }</td></tr>
            </table>
            { match &o.payment {
                Some(p) if p.method == "cash" => html! {
                    <p id="receipt-payment">{ format!("Paid cash {} · change {}",
                        format_money(p.tendered.as_deref().unwrap_or(&p.amount), &o.currency),
                        format_money(p.change.as_deref().unwrap_or("0"), &o.currency)) }</p>
                },
                Some(p) => html! {
                    <p id="receipt-payment">{ format!("Paid by {} · reference {}", p.method, p.reference.clone().unwrap_or_default()) }</p>
                },
                None if o.is_free_of_charge => html! { <p id="receipt-payment">{ "No payment: this order is free of charge." }</p> },
                None => html! {},
            } }
            <button id="new-sale" class="primary big" ref={new_button} onclick={props.on_new.clone()}>{ "New sale" }</button>
        </section>
    }
}
