//! Door sales: seat-type cards with what is left, quantity pickers, a promo code, the
//! registrant, payment, and the receipt with the access code and its QR code. Usable with
//! the keyboard alone: Tab moves between fields, Enter moves on, and Enter on the last
//! field completes the sale. The screen holds the state ([`crate::state::Door`]) and the
//! calls to the shell; its parts (`cart`, `summary`, `receipt`) only render.
mod cart;
mod receipt;
mod summary;

use crate::bridge;
use crate::hooks::{use_command, use_reduced};
use crate::logic::{CartAction, Method, change_due};
use crate::state::{Door as Sale, DoorAction, Receipt};
use cart::{PromoCodes, Registrant, SeatCards};
use conference_desktop_ipc::protocol::{ConferenceView, OrderView, Quote, SeatsView};
use conference_desktop_ipc::{QuoteRequest, SaleForm, cmd};
use serde::Serialize;
use summary::OrderSummary;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Serialize)]
struct SlugArgs {
    slug: String,
}

#[derive(Serialize)]
struct QuoteArgs {
    request: QuoteRequest,
}

#[derive(Serialize)]
struct SellArgs {
    sale: SaleForm,
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

    let state = use_reduced(Sale::default);
    let seats = use_command::<SeatsView>();
    let quote = use_command::<Quote>();
    let sell = use_command::<OrderView>();

    // Seats left: read again whenever the store changed.
    {
        let seats = seats.clone();
        let dispatcher = state.dispatcher();
        use_effect_with((slug.clone(), props.changes), move |(slug, _)| match slug {
            None => seats.forget(),
            Some(slug) => {
                seats.run_then(cmd::SEATS, SlugArgs { slug: slug.clone() }, move |answer| {
                    if let Ok(view) = answer {
                        let names = view.seat_types.iter().map(|s| s.name.clone()).collect();
                        dispatcher.dispatch(DoorAction::Cart(CartAction::Offer(names)));
                    }
                })
            }
        });
    }
    // The quote follows the cart.
    {
        let quote = quote.clone();
        let picks = state.cart.picks();
        let codes = state.cart.promo_codes.clone();
        use_effect_with(
            (slug.clone(), picks, codes, props.changes),
            move |(slug, picks, codes, _)| match slug {
                Some(slug) if !picks.is_empty() => quote.run(
                    cmd::QUOTE,
                    QuoteArgs {
                        request: QuoteRequest {
                            slug: slug.clone(),
                            seats: picks.clone(),
                            promo_codes: codes.clone(),
                        },
                    },
                ),
                _ => quote.forget(),
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

    if let Some(Receipt { order, elapsed_ms }) = &state.receipt {
        let new_sale = state
            .dispatcher()
            .to_callback()
            .reform(|_| DoorAction::NewSale);
        return html! { <receipt::Receipt order={order.clone()} elapsed_ms={elapsed_ms.to_owned()} on_new={new_sale} /> };
    }

    let cart = &state.cart;
    let currency = conference.currency.clone();
    let quote_view = quote.answer().and_then(Result::ok).cloned();
    let free = quote_view.as_ref().is_some_and(|q| q.is_free_of_charge);
    let promo_refused = quote_view.as_ref().and_then(|q| q.promo_error.clone());
    let cash_change = quote_view
        .as_ref()
        .map(|q| change_due(&q.total, &cart.tendered));
    let can_sell = cart.seat_count() > 0
        && quote_view.is_some()
        && promo_refused.is_none()
        && !sell.busy
        && (free || cart.method == Method::Card || matches!(cash_change, Some(Ok(_))));

    let complete = {
        let sell = sell.clone();
        let sale = cart.sale(&conference.slug, free);
        let dispatcher = state.dispatcher();
        Callback::from(move |()| {
            if sell.busy || !can_sell {
                return;
            }
            let started = bridge::now_ms();
            let dispatcher = dispatcher.clone();
            sell.run_then(cmd::SELL, SellArgs { sale: sale.clone() }, move |answer| {
                if let Ok(order) = answer {
                    dispatcher.dispatch(DoorAction::Sold(Receipt {
                        order: order.clone(),
                        elapsed_ms: bridge::now_ms() - started,
                    }));
                }
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
    let on_cart = state.dispatcher().to_callback().reform(DoorAction::Cart);
    let seat_types = seats
        .result
        .as_ref()
        .map_or_else(Vec::new, |s| s.seat_types.clone());

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
                <SeatCards {seat_types} cart={cart.clone()} currency={currency.clone()} on_cart={on_cart.clone()} />
                <PromoCodes text={cart.promo_text.clone()} codes={cart.promo_codes.clone()}
                    refused={promo_refused} on_cart={on_cart.clone()} />
                <Registrant first_name={cart.first_name.clone()} last_name={cart.last_name.clone()}
                    email={cart.email.clone()} on_cart={on_cart.clone()} />
            </div>
            <OrderSummary quote={quote.answer().map(|a| a.cloned().map_err(Clone::clone))}
                cart={cart.clone()} {currency} {free} {cash_change} error={sell.error.clone()}
                busy={sell.busy} {can_sell} {on_cart} on_complete={complete} />
        </div>
    }
}
