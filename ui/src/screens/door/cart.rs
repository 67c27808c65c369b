//! What the door picks for a sale: seat-type cards with what is left and a quantity each,
//! the promo codes, and the registrant. Each part renders the cart and sends
//! [`CartAction`]s; the fields with class `step` are the door's Enter order.
use crate::logic::{Cart, CartAction, CartField, availability, format_money, friendly};
use crate::screens::input_value;
use conference_desktop_ipc::protocol::{ErrorBody, SeatAvailabilityView};
use yew::prelude::*;

/// A callback that sends what an input now holds, as the action `make` builds from it.
fn on_input(
    on_cart: &Callback<CartAction>,
    make: impl Fn(String) -> CartAction + 'static,
) -> Callback<InputEvent> {
    on_cart.reform(move |e: InputEvent| make(input_value(&e)))
}

#[derive(Properties, PartialEq)]
pub struct SeatCardsProps {
    pub seat_types: Vec<SeatAvailabilityView>,
    pub cart: Cart,
    pub currency: String,
    pub on_cart: Callback<CartAction>,
}

/// One card per seat type: its price, what is left, and a stepper.
#[function_component(SeatCards)]
pub fn seat_cards(props: &SeatCardsProps) -> Html {
    html! {
        <div class="cards" id="seat-cards">
            { for props.seat_types.iter().map(|s| {
                let name = s.name.clone();
                let quantity = props.cart.quantity(&name);
                let remaining = s.allotment_remaining.unwrap_or(s.remaining);
                let shown = availability(s.allotment_remaining, s.remaining);
                let inc = { let n = name.clone(); props.on_cart.reform(move |_| CartAction::Increment(n.clone())) };
                let dec = { let n = name.clone(); props.on_cart.reform(move |_| CartAction::Decrement(n.clone())) };
                let set = { let n = name.clone(); on_input(&props.on_cart, move |value| CartAction::SetQuantity(n.clone(), value.trim().parse().unwrap_or(0))) };
                html! {
                    <div class={classes!("card", shown.sold_out.then_some("sold-out"), shown.needs_allotment.then_some("needs-allotment"))} data-seat-type={name.clone()}>
                        <div class="card-title">{ &name }</div>
                        <div class="price">{ format_money(&s.price, &props.currency) }</div>
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
    }
}

#[derive(Properties, PartialEq)]
pub struct PromoCodesProps {
    pub text: String,
    pub codes: Vec<String>,
    /// Why the quote refused a code.
    pub refused: Option<ErrorBody>,
    pub on_cart: Callback<CartAction>,
}

/// The promo code being typed (Enter or Apply applies it) and the codes applied.
#[function_component(PromoCodes)]
pub fn promo_codes(props: &PromoCodesProps) -> Html {
    let on_cart = &props.on_cart;
    let on_enter = {
        let on_cart = on_cart.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" && !input_value(&e).trim().is_empty() {
                e.prevent_default();
                on_cart.emit(CartAction::ApplyPromo);
            }
        })
    };
    html! {
        <fieldset class="group">
            <legend>{ "Promo code" }</legend>
            <div class="row">
                <input id="promo" class="step" type="text" placeholder="e.g. EARLY" autocomplete="off"
                    value={props.text.clone()}
                    oninput={on_input(on_cart, CartAction::TypePromo)}
                    onkeydown={on_enter} />
                <button id="promo-apply" class="secondary" onclick={on_cart.reform(|_| CartAction::ApplyPromo)}>{ "Apply" }</button>
                { for props.codes.iter().map(|code| {
                    let c = code.clone();
                    html! {
                        <span class="chip" data-code={code.clone()}>{ code }
                            <button class="chip-x" aria-label={format!("Remove {code}")} onclick={on_cart.reform(move |_| CartAction::RemovePromo(c.clone()))}>{ "×" }</button>
                        </span>
                    }
                }) }
            </div>
            if let Some(e) = &props.refused {
                <p class="field-error" id="promo-error" role="alert">{ format!("{} — remove it to sell without it.", friendly(e)) }</p>
            }
        </fieldset>
    }
}

#[derive(Properties, PartialEq)]
pub struct RegistrantProps {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub on_cart: Callback<CartAction>,
}

/// Who the order is for, when the person gives a name or an email.
#[function_component(Registrant)]
pub fn registrant(props: &RegistrantProps) -> Html {
    let set =
        |field: CartField| on_input(&props.on_cart, move |v| CartAction::Set(field.clone(), v));
    html! {
        <fieldset class="group">
            <legend>{ "Registrant (optional)" }</legend>
            <div class="grid3">
                <label>{ "First name" }<input id="first-name" class="step" type="text" value={props.first_name.clone()} oninput={set(CartField::FirstName)} /></label>
                <label>{ "Last name" }<input id="last-name" class="step" type="text" value={props.last_name.clone()} oninput={set(CartField::LastName)} /></label>
                <label>{ "Email" }<input id="email" class="step" type="email" value={props.email.clone()} oninput={set(CartField::Email)} /></label>
            </div>
        </fieldset>
    }
}
