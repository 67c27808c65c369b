//! Orders: find an order by email or access code, see it, assign attendees to its seats,
//! cancel it (a paid order is refunded and its seats return).
use super::{form_error, input_value};
use crate::bridge;
use crate::logic::{format_money, friendly, short_time};
use conference_desktop_ipc::protocol::{ErrorBody, OrderSummary, OrderView};
use conference_desktop_ipc::{RegistrantForm, cmd};
use serde::Serialize;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

#[derive(Serialize)]
struct QueryArgs<'a> {
    query: &'a str,
}

#[derive(Serialize)]
struct IdArgs<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct CancelArgs<'a> {
    id: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct AssignArgs<'a> {
    id: &'a str,
    position: u32,
    attendee: &'a RegistrantForm,
}

#[derive(Properties, PartialEq)]
pub struct OrdersProps {
    pub changes: u64,
}

#[function_component(Orders)]
pub fn orders(props: &OrdersProps) -> Html {
    let query = use_state(String::new);
    let results = use_state(|| None::<Result<Vec<OrderSummary>, ErrorBody>>);
    let detail = use_state(|| None::<OrderView>);
    let error = use_state(|| None::<ErrorBody>);

    {
        let results = results.clone();
        let detail = detail.clone();
        use_effect_with(((*query).clone(), props.changes), move |(query, _)| {
            let query = query.clone();
            spawn_local(async move {
                let found = bridge::invoke::<_, Vec<OrderSummary>>(
                    cmd::FIND_ORDERS,
                    &QueryArgs { query: &query },
                )
                .await;
                results.set(Some(found));
                if let Some(open) = (*detail).clone() {
                    let id = open.id.to_string();
                    if let Ok(fresh) =
                        bridge::invoke::<_, OrderView>(cmd::ORDER, &IdArgs { id: &id }).await
                    {
                        detail.set(Some(fresh));
                    }
                }
            });
        });
    }

    let open = |id: String| {
        let detail = detail.clone();
        let error = error.clone();
        Callback::from(move |_| {
            let detail = detail.clone();
            let error = error.clone();
            let id = id.clone();
            spawn_local(async move {
                match bridge::invoke::<_, OrderView>(cmd::ORDER, &IdArgs { id: &id }).await {
                    Ok(o) => {
                        detail.set(Some(o));
                        error.set(None);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };

    html! {
        <div class="orders">
            <section class="panel">
                <div class="row between">
                    <h2>{ "Orders" }</h2>
                    <input id="order-search" type="search" placeholder="Email or access code"
                        value={(*query).clone()}
                        oninput={ let query = query.clone(); Callback::from(move |e: InputEvent| query.set(input_value(&e))) } />
                </div>
                { match &*results {
                    None => html! { <p class="muted"><span class="spinner small"></span>{ "Loading orders…" }</p> },
                    Some(Err(e)) => html! { <p class="field-error">{ friendly(e) }</p> },
                    Some(Ok(list)) if list.is_empty() => html! { <p class="muted" id="orders-empty">{ "No order matches." }</p> },
                    Some(Ok(list)) => html! {
                        <table class="table" id="orders-table">
                            <thead><tr><th>{ "Access code" }</th><th>{ "Conference" }</th><th>{ "Registrant" }</th><th>{ "Status" }</th><th class="num">{ "Seats" }</th><th class="num">{ "Total" }</th><th>{ "Paid" }</th><th>{ "Placed" }</th></tr></thead>
                            <tbody>
                                { for list.iter().map(|o| html! {
                                    <tr data-access-code={o.access_code.clone()}>
                                        <td><button class="link open-order" onclick={open(o.id.to_string())}><code>{ &o.access_code }</code></button></td>
                                        <td>{ &o.conference }</td>
                                        <td>{ o.registrant_email.clone().unwrap_or_default() }</td>
                                        <td><span class={classes!("pill", o.status.clone())}>{ o.status.replace('_', " ") }</span></td>
                                        <td class="num">{ o.seats }</td>
                                        <td class="num">{ format_money(&o.total, &o.currency) }</td>
                                        <td>{ o.payment_method.clone().unwrap_or_else(|| "—".into()) }</td>
                                        <td>{ short_time(&o.placed_at) }</td>
                                    </tr>
                                }) }
                            </tbody>
                        </table>
                    },
                } }
            </section>
            { form_error(&error, "orders-error", &[]) }
            if let Some(o) = &*detail {
                <OrderDetail order={o.clone()} />
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct DetailProps {
    order: OrderView,
}

#[function_component(OrderDetail)]
fn order_detail(props: &DetailProps) -> Html {
    let o = &props.order;
    let error = use_state(|| None::<ErrorBody>);
    let reason = use_state(String::new);
    let attendee = use_state(|| (None::<u32>, RegistrantForm::default()));
    let cancel = {
        let id = o.id.to_string();
        let reason = reason.clone();
        let error = error.clone();
        Callback::from(move |_| {
            let id = id.clone();
            let reason = (*reason).clone();
            let error = error.clone();
            spawn_local(async move {
                let result = bridge::invoke::<_, OrderView>(
                    cmd::CANCEL_ORDER,
                    &CancelArgs {
                        id: &id,
                        reason: &reason,
                    },
                )
                .await;
                error.set(result.err());
            });
        })
    };
    let assign = {
        let id = o.id.to_string();
        let attendee = attendee.clone();
        let error = error.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let id = id.clone();
            let (position, person) = (*attendee).clone();
            let Some(position) = position else { return };
            let error = error.clone();
            let attendee = attendee.clone();
            spawn_local(async move {
                match bridge::invoke::<_, OrderView>(
                    cmd::ASSIGN_SEAT,
                    &AssignArgs {
                        id: &id,
                        position,
                        attendee: &person,
                    },
                )
                .await
                {
                    Ok(_) => {
                        error.set(None);
                        attendee.set((None, RegistrantForm::default()));
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let set = |f: fn(&mut RegistrantForm, String)| {
        let attendee = attendee.clone();
        Callback::from(move |e: InputEvent| {
            let (p, mut person) = (*attendee).clone();
            f(&mut person, input_value(&e));
            attendee.set((p, person));
        })
    };
    let cancellable = o.status != "cancelled" && o.status != "expired";
    html! {
        <section class="panel" id="order-detail" data-access-code={o.access_code.clone()}>
            <div class="row between">
                <h2>{ format!("Order {}", o.access_code) }</h2>
                <span id="order-status" class={classes!("pill", o.status.clone())}>{ o.status.replace('_', " ") }</span>
            </div>
            { form_error(&error, "order-error", &[]) }
            if let Some(r) = &o.registrant { <p>{ format!("Registrant: {} {} · {}", r.first_name, r.last_name, r.email) }</p> }
            <table class="lines">
                { for o.lines.iter().map(|l| html! {
                    <tr><td>{ if l.kind == "seat" { format!("{} × {}", l.quantity, l.description) } else { l.description.clone() } }</td>
                        <td class="num">{ format_money(&l.total, &o.currency) }</td></tr>
                }) }
                <tr class="total"><td>{ "Total" }</td><td class="num">{ format_money(&o.total, &o.currency) }</td></tr>
            </table>
            if let Some(p) = &o.payment {
                <p id="order-payment">{ format!("Payment: {} {} ({})", p.method, format_money(&p.amount, &o.currency), p.status) }</p>
            }
            if let Some(r) = &o.cancel_reason { <p class="muted">{ format!("Cancelled: {r}") }</p> }
            <h3>{ "Attendees" }</h3>
            <table class="table" id="assignments">
                <tbody>
                    { for o.assignments.iter().map(|a| {
                        let attendee = attendee.clone();
                        let position = a.position;
                        html! {
                            <tr data-position={a.position.to_string()}>
                                <td>{ format!("Seat {} · {}", a.position + 1, a.seat_type) }</td>
                                <td>{ a.attendee.as_ref().map_or("Unassigned".to_string(), |p| format!("{} {} · {}", p.first_name, p.last_name, p.email)) }</td>
                                <td><button class="link" onclick={Callback::from(move |_| attendee.set((Some(position), RegistrantForm::default())))}>{ "Assign" }</button></td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            if let (Some(position), person) = &*attendee {
                <form class="inline-form" id="assign-form" onsubmit={assign}>
                    <p>{ format!("Attendee for seat {}", position + 1) }</p>
                    <div class="grid3">
                        <label>{ "First name" }<input id="assign-first" type="text" value={person.first_name.clone()} oninput={set(|p, v| p.first_name = v)} /></label>
                        <label>{ "Last name" }<input id="assign-last" type="text" value={person.last_name.clone()} oninput={set(|p, v| p.last_name = v)} /></label>
                        <label>{ "Email" }<input id="assign-email" type="email" value={person.email.clone()} oninput={set(|p, v| p.email = v)} /></label>
                    </div>
                    <button id="assign-save" class="primary" type="submit">{ "Assign seat" }</button>
                </form>
            }
            if cancellable {
                <div class="row danger-zone">
                    <input id="cancel-reason" type="text" placeholder="Reason (optional)" value={(*reason).clone()}
                        oninput={ let reason = reason.clone(); Callback::from(move |e: InputEvent| reason.set(input_value(&e))) } />
                    <button id="cancel-order" class="danger" onclick={cancel}>
                        { if o.payment.as_ref().is_some_and(|p| p.status == "completed") { "Cancel and refund" } else { "Cancel order" } }
                    </button>
                </div>
            }
        </section>
    }
}
