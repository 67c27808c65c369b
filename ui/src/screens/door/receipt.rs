//! The receipt of a door sale: the access code and its QR code, the lines, the payment,
//! and the button that starts the next sale (focused, so Enter starts it).
use crate::logic::{format_money, qr_svg};
use conference_desktop_ipc::protocol::OrderView;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ReceiptProps {
    pub order: OrderView,
    pub elapsed_ms: f64,
    pub on_new: Callback<MouseEvent>,
}

#[function_component(Receipt)]
pub fn receipt(props: &ReceiptProps) -> Html {
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
