//! The door's order panel: the quote's lines and total, the payment (cash tendered and
//! change, or a card reference), the sale's error, and the button that completes it.
use crate::logic::{Cart, CartAction, CartField, Method, format_money, friendly, shortage_text};
use crate::screens::{form_error, input_value};
use conference_desktop_ipc::protocol::{ErrorBody, Quote};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SummaryProps {
    /// The latest quote of the cart (none while nothing is picked).
    pub quote: Option<Result<Quote, ErrorBody>>,
    pub cart: Cart,
    pub currency: String,
    /// The order costs nothing: no payment is taken.
    pub free: bool,
    /// The change due on the cash tendered, or why it cannot be worked out.
    pub cash_change: Option<Result<String, String>>,
    /// Why the last sale failed.
    pub error: Option<ErrorBody>,
    pub busy: bool,
    pub can_sell: bool,
    pub on_cart: Callback<CartAction>,
    pub on_complete: Callback<()>,
}

#[function_component(OrderSummary)]
pub fn order_summary(props: &SummaryProps) -> Html {
    let free = props.free && props.cart.seat_count() > 0;
    html! {
        <aside class="summary" id="order-summary">
            <h3>{ "Order" }</h3>
            { match &props.quote {
                None => html! { <p class="muted" id="summary-empty">{ "Pick seats with + or type a quantity." }</p> },
                Some(Err(e)) => html! { <p class="field-error" id="quote-error">{ friendly(e) }</p> },
                Some(Ok(q)) => html! { <QuoteLines quote={q.clone()} /> },
            } }

            if free {
                <p class="banner info" id="free-note">{ "This order costs nothing: it is confirmed without payment." }</p>
            } else {
                <Payment cart={props.cart.clone()} currency={props.currency.clone()}
                    cash_change={props.cash_change.clone()} on_cart={props.on_cart.clone()} />
            }
            { form_error(&props.error, "sale-error", &[]) }
            <button id="complete-sale" class="primary big" disabled={!props.can_sell}
                onclick={props.on_complete.reform(|_| ())}>
                if props.busy { <span class="spinner small"></span>{ "Selling…" } }
                else if free { { "Confirm free order" } }
                else { { "Complete sale" } }
            </button>
        </aside>
    }
}

#[derive(Properties, PartialEq)]
struct QuoteProps {
    quote: Quote,
}

#[function_component(QuoteLines)]
fn quote_lines(props: &QuoteProps) -> Html {
    let q = &props.quote;
    html! {
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
    }
}

#[derive(Properties, PartialEq)]
struct PaymentProps {
    cart: Cart,
    currency: String,
    cash_change: Option<Result<String, String>>,
    on_cart: Callback<CartAction>,
}

/// Cash (tendered, change) or card (terminal reference).
#[function_component(Payment)]
fn payment(props: &PaymentProps) -> Html {
    let cart = &props.cart;
    let set = |field: CartField| {
        props
            .on_cart
            .reform(move |e: InputEvent| CartAction::Set(field.clone(), input_value(&e)))
    };
    let method = |m: Method| props.on_cart.reform(move |_: Event| CartAction::Method(m));
    html! {
        <fieldset class="group payment">
            <legend>{ "Payment" }</legend>
            <div class="row" role="radiogroup">
                <label class="radio"><input id="method-cash" class="step" type="radio" name="method" checked={cart.method == Method::Cash}
                    onchange={method(Method::Cash)} />{ "Cash" }</label>
                <label class="radio"><input id="method-card" type="radio" name="method" checked={cart.method == Method::Card}
                    onchange={method(Method::Card)} />{ "Card" }</label>
            </div>
            if cart.method == Method::Cash {
                <label>{ "Cash tendered" }
                    <input id="tendered" class="step" type="text" inputmode="decimal" placeholder="exact amount" value={cart.tendered.clone()} oninput={set(CartField::Tendered)} />
                </label>
                { match &props.cash_change {
                    Some(Ok(change)) => html! { <p class="change" id="change">{ format!("Change: {}", format_money(change, &props.currency)) }</p> },
                    Some(Err(e)) => html! { <p class="field-error" id="tendered-error">{ e.clone() }</p> },
                    None => html! {},
                } }
            } else {
                <label>{ "Card terminal reference" }
                    <input id="reference" class="step" type="text" value={cart.reference.clone()} oninput={set(CartField::Reference)} />
                </label>
            }
        </fieldset>
    }
}
