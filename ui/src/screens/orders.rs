//! Orders: page through them or find one by access code, email or name, see it, assign attendees to its seats,
//! cancel it (a paid order is refunded and its seats return).
use super::{form_error, input_value};
use crate::bridge;
use crate::hooks::{use_command, use_reduced};
use crate::logic::{device_label, format_money, friendly, page_range, short_time};
use crate::state::{AttendeeAction, AttendeeDraft, Setter};
use conference_desktop_ipc::protocol::{ErrorBody, OrderPage, OrderQuery, OrderView};
use conference_desktop_ipc::{RegistrantForm, cmd};
use serde::Serialize;
use yew::prelude::*;

#[derive(Serialize)]
struct FindArgs {
    query: OrderQuery,
}

#[derive(Serialize)]
struct IdArgs {
    id: String,
}

#[derive(Serialize)]
struct CancelArgs {
    id: String,
    reason: String,
}

#[derive(Serialize)]
struct AssignArgs {
    id: String,
    position: u32,
    attendee: RegistrantForm,
}

#[derive(Properties, PartialEq)]
pub struct OrdersProps {
    pub changes: u64,
}

#[function_component(Orders)]
pub fn orders(props: &OrdersProps) -> Html {
    let query = use_state(String::new);
    let detail = use_state(|| None::<OrderView>);
    let opening = use_command::<OrderView>();
    let reading = use_command::<OrderView>();

    // An open order is read again when the store changes (a sync, a cancel).
    {
        let detail = detail.clone();
        use_effect_with(props.changes, move |_| {
            if let Some(open) = (*detail).clone() {
                let id = open.id.to_string();
                reading.run_then(cmd::ORDER, IdArgs { id }, move |answer| {
                    if let Ok(fresh) = answer {
                        detail.set(Some(fresh.clone()));
                    }
                });
            }
        });
    }

    let open = {
        let detail = detail.clone();
        let opening = opening.clone();
        Callback::from(move |id: String| {
            let detail = detail.clone();
            opening.run_then(cmd::ORDER, IdArgs { id }, move |answer| {
                if let Ok(o) = answer {
                    detail.set(Some(o.clone()));
                }
            });
        })
    };
    let error = &opening.error;

    html! {
        <div class="orders">
            <section class="panel">
                <div class="row between">
                    <h2>{ "Orders" }</h2>
                    <input id="order-search" type="search" placeholder="Access code, email or name"
                        value={(*query).clone()}
                        oninput={ let query = query.clone(); Callback::from(move |e: InputEvent| query.set(input_value(&e))) } />
                </div>
                <OrderList id="orders-table" empty_id="orders-empty" empty="No order matches."
                    text={(*query).clone()} changes={props.changes} on_open={open} />
            </section>
            { form_error(error, "orders-error", &[]) }
            if let Some(o) = &*detail {
                <OrderDetail order={o.clone()} />
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct OrderListProps {
    /// The table's id.
    pub id: AttrValue,
    /// The id and text of what shows when no order matches.
    pub empty_id: AttrValue,
    pub empty: AttrValue,
    /// What the person searched for (empty: the newest orders).
    #[prop_or_default]
    pub text: String,
    /// Only this conference's orders.
    #[prop_or_default]
    pub conference: Option<String>,
    pub changes: u64,
    /// Called with an order's id when its access code is clicked.
    #[prop_or_default]
    pub on_open: Option<Callback<String>>,
    /// With a Device column, naming this device so.
    #[prop_or_default]
    pub this_device: Option<String>,
}

/// What a page of the list answered, for which query, and when the page asked.
#[derive(Clone, PartialEq)]
struct Shown {
    key: (String, Option<String>, u32),
    page: Result<OrderPage, ErrorBody>,
    asked_at: f64,
}

/// A page of orders at a time, the newest first or as the search finds them: the store
/// searches and pages, so the list costs the same with 100 orders as with 100,000. An
/// answer to a query the person has typed past is dropped.
#[function_component(OrderList)]
pub fn order_list(props: &OrderListProps) -> Html {
    let offset = use_state(|| ((String::new(), None::<String>), 0u32));
    let shown = use_state(|| None::<Shown>);
    let find = use_command::<OrderPage>();
    let table = use_node_ref();
    let filter = (props.text.trim().to_string(), props.conference.clone());
    // A new search starts at its first page.
    let at = if offset.0 == filter { offset.1 } else { 0 };
    {
        let shown = shown.clone();
        use_effect_with(
            (filter.clone(), at, props.changes),
            move |((text, conference), at, _)| {
                let query = OrderQuery {
                    text: text.clone(),
                    conference: conference.clone(),
                    offset: *at,
                    limit: 0,
                };
                let started = bridge::now_ms();
                let key = (query.text.clone(), query.conference.clone(), query.offset);
                // An answer to a query typed past is dropped (`use_command`).
                find.run_then(cmd::FIND_ORDERS, FindArgs { query }, move |page| {
                    shown.set(Some(Shown {
                        key,
                        page: page.clone(),
                        asked_at: started,
                    }));
                });
            },
        );
    }
    // Once a page is on screen: `data-timing="query|offset|ms"`, the time from asking to
    // showing it (the e2e test prints it).
    {
        let table = table.clone();
        use_effect_with((*shown).clone(), move |shown| {
            if let (Some(shown), Some(element)) = (shown, table.cast::<web_sys::Element>()) {
                let timing = format!(
                    "{}|{}|{:.1}",
                    shown.key.0,
                    shown.key.2,
                    bridge::now_ms() - shown.asked_at
                );
                let _ = element.set_attribute("data-timing", &timing);
            }
        });
    }
    let go = |to: u32| {
        let offset = offset.clone();
        let filter = filter.clone();
        Callback::from(move |_| offset.set((filter.clone(), to)))
    };
    let Some(current) = &*shown else {
        return html! { <p class="muted"><span class="spinner small"></span>{ "Loading orders…" }</p> };
    };
    let page = match &current.page {
        Err(e) => return html! { <p class="field-error">{ friendly(e) }</p> },
        Ok(page) if page.orders.is_empty() && page.offset == 0 => {
            return html! { <p class="muted" id={props.empty_id.clone()}>{ props.empty.clone() }</p> };
        }
        Ok(page) => page,
    };
    let size = OrderQuery::PAGE;
    let range = page_range(page.offset, page.orders.len(), page.total, page.more);
    let devices = props.this_device.as_deref();
    html! {
        <div class="order-list">
            <table class="table" id={props.id.clone()} ref={table} data-query={current.key.0.clone()}
                data-offset={page.offset.to_string()}>
                <thead><tr>
                    <th>{ "Access code" }</th>
                    if devices.is_some() { <th>{ "Device" }</th> } else { <th>{ "Conference" }</th><th>{ "Registrant" }</th> }
                    <th>{ "Status" }</th><th class="num">{ "Seats" }</th><th class="num">{ "Total" }</th><th>{ "Paid" }</th><th>{ "Placed" }</th>
                </tr></thead>
                <tbody>
                    { for page.orders.iter().map(|o| html! {
                        <tr data-access-code={o.access_code.clone()} data-device-id={o.device_id.to_string()}>
                            <td>{ match &props.on_open {
                                Some(open) => {
                                    let open = open.clone();
                                    let id = o.id.to_string();
                                    html! { <button class="link open-order" onclick={Callback::from(move |_| open.emit(id.clone()))}><code>{ &o.access_code }</code></button> }
                                }
                                None => html! { <code>{ &o.access_code }</code> },
                            } }</td>
                            if let Some(me) = devices {
                                <td>{ { let id = o.device_id.to_string(); device_label(&id, id == me) } }</td>
                            } else {
                                <td>{ &o.conference }</td>
                                <td>{ o.registrant_email.clone().unwrap_or_default() }</td>
                            }
                            <td><span class={classes!("pill", o.status.clone())}>{ o.status.replace('_', " ") }</span></td>
                            <td class="num">{ o.seats }</td>
                            <td class="num">{ format_money(&o.total, &o.currency) }</td>
                            <td>{ o.payment_method.clone().unwrap_or_else(|| "—".into()) }</td>
                            <td>{ short_time(&o.placed_at) }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            <div class="row pager">
                <button class="secondary" id={format!("{}-prev", props.id)} disabled={page.offset == 0}
                    onclick={go(page.offset.saturating_sub(size))}>{ "Previous" }</button>
                <span class="muted" id={format!("{}-range", props.id)}>{ range }</span>
                <button class="secondary" id={format!("{}-next", props.id)} disabled={!page.more}
                    onclick={go(page.offset + size)}>{ "Next" }</button>
            </div>
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
    let change = use_command::<OrderView>();
    let reason = use_state(String::new);
    let attendee = use_reduced(AttendeeDraft::default);
    let on_attendee = attendee.dispatcher().to_callback();
    let cancel = {
        let id = o.id.to_string();
        let reason = reason.clone();
        let change = change.clone();
        Callback::from(move |_| {
            change.run(
                cmd::CANCEL_ORDER,
                CancelArgs {
                    id: id.clone(),
                    reason: (*reason).clone(),
                },
            );
        })
    };
    let assign = {
        let id = o.id.to_string();
        let AttendeeDraft { position, person } = (**attendee).clone();
        let on_attendee = on_attendee.clone();
        let change = change.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(position) = position else { return };
            let on_attendee = on_attendee.clone();
            change.run_then(
                cmd::ASSIGN_SEAT,
                AssignArgs {
                    id: id.clone(),
                    position,
                    attendee: person.clone(),
                },
                move |answer| {
                    if answer.is_ok() {
                        on_attendee.emit(AttendeeAction::Assigned);
                    }
                },
            );
        })
    };
    let set = |f: Setter<RegistrantForm>| {
        on_attendee.reform(move |e: InputEvent| AttendeeAction::Set(f, input_value(&e)))
    };
    html! {
        <section class="panel" id="order-detail" data-access-code={o.access_code.clone()}>
            <div class="row between">
                <h2>{ format!("Order {}", o.access_code) }</h2>
                <span id="order-status" class={classes!("pill", o.status.clone())}>{ o.status.replace('_', " ") }</span>
            </div>
            { form_error(&change.error, "order-error", &[]) }
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
                        let on_attendee = on_attendee.clone();
                        let position = a.position;
                        html! {
                            <tr data-position={a.position.to_string()}>
                                <td>{ format!("Seat {} · {}", a.position + 1, a.seat_type) }</td>
                                <td>{ a.attendee.as_ref().map_or("Unassigned".to_string(), |p| format!("{} {} · {}", p.first_name, p.last_name, p.email)) }</td>
                                <td><button class="link" onclick={on_attendee.reform(move |_| AttendeeAction::Pick(position))}>{ "Assign" }</button></td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            if let AttendeeDraft { position: Some(position), person } = &**attendee {
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
            if o.cancellable {
                <div class="row danger-zone">
                    <input id="cancel-reason" type="text" placeholder="Reason (optional)" value={(*reason).clone()}
                        oninput={ let reason = reason.clone(); Callback::from(move |e: InputEvent| reason.set(input_value(&e))) } />
                    <button id="cancel-order" class="danger" onclick={cancel}>
                        { if o.refund_on_cancel { "Cancel and refund" } else { "Cancel order" } }
                    </button>
                </div>
            }
        </section>
    }
}
