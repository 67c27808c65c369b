//! The back office: every device's orders after sync, the cash-drawer check per device and
//! per payment method, sales over time as a chart, the server's reconciliation queue with a
//! button to resolve each item, and a CSV export to a file.
use super::orders::OrderList;
use super::{NoArgs, field_error, form_error, input_value};
use crate::bridge;
use crate::hooks::{use_command, use_reduced};
use crate::logic::{
    bucket_label, chart, device_label, export_text, format_money, friendly, reconciliation_title,
    short_time,
};
use crate::state::{Export, ExportAction, Queue, QueueAction};
use conference_desktop_ipc::protocol::{BackOfficeSummary, ConferenceView, SalesBucket};
use conference_desktop_ipc::{
    BackOfficeView, ExportDone, ExportForm, ExportProgressView, ReconciliationView, cmd,
};
use serde::Serialize;
use yew::prelude::*;

#[derive(Serialize)]
struct SlugArgs {
    slug: String,
}

#[derive(Serialize)]
struct IdArgs {
    id: i64,
}

#[derive(Serialize)]
struct ChooseArgs {
    suggested: String,
}

#[derive(Serialize)]
struct ExportArgs {
    form: ExportForm,
}

#[derive(Properties, PartialEq)]
pub struct OfficeProps {
    pub conferences: Vec<ConferenceView>,
    pub selected: Option<String>,
    pub on_select: Callback<String>,
    pub changes: u64,
    /// How far the running export is (the shell tells as it reads orders).
    pub export_progress: Option<ExportProgressView>,
}

#[function_component(BackOffice)]
pub fn back_office(props: &OfficeProps) -> Html {
    let slug = props
        .selected
        .clone()
        .filter(|s| props.conferences.iter().any(|c| &c.slug == s))
        .or_else(|| props.conferences.first().map(|c| c.slug.clone()));
    let summary = use_command::<BackOfficeView>();
    let queue = use_command::<Vec<ReconciliationView>>();
    let queue_state = use_reduced(Queue::default);
    let resolve = use_command::<bool>();
    let export = use_reduced(Export::default);
    let export_run = use_command::<ExportDone>();
    let choose = use_command::<Option<String>>();

    let asked_at = use_mut_ref(|| 0.0f64);
    let drawer = use_node_ref();
    {
        let summary = summary.clone();
        let asked_at = asked_at.clone();
        use_effect_with((slug.clone(), props.changes), move |(slug, _)| {
            let slug = slug.clone();
            *asked_at.borrow_mut() = bridge::now_ms();
            match slug {
                None => summary.forget(),
                Some(slug) => summary.run(cmd::BACK_OFFICE, SlugArgs { slug: slug.clone() }),
            }
        });
    }
    // Once the totals are on screen: `data-timing="slug|ms"`, the time from asking to
    // showing them (the e2e test prints it).
    let answer = summary.answer().map(|a| a.cloned().map_err(Clone::clone));
    {
        let drawer = drawer.clone();
        use_effect_with(answer.clone(), move |summary| {
            if let (Some(Ok(v)), Some(element)) = (summary, drawer.cast::<web_sys::Element>()) {
                let timing = format!(
                    "{}|{:.1}",
                    v.summary.conference,
                    bridge::now_ms() - *asked_at.borrow()
                );
                let _ = element.set_attribute("data-timing", &timing);
            }
        });
    }
    {
        let queue = queue.clone();
        use_effect_with((props.changes, queue_state.round), move |_| {
            queue.run(cmd::RECONCILIATION, NoArgs {});
        });
    }

    let Some(slug) = slug else {
        return html! {
            <section class="empty-state" id="office-empty">
                <h2>{ "No conference yet" }</h2>
                <p>{ "Create a conference in Setup, or sync with the server to see its sales here." }</p>
            </section>
        };
    };

    let on_pick_conference = {
        let on_select = props.on_select.clone();
        Callback::from(move |e: Event| {
            if let Some(select) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
                on_select.emit(select.value());
            }
        })
    };
    let on_queue = queue_state.dispatcher().to_callback();
    let refresh_queue = on_queue.reform(|_| QueueAction::Refresh);
    let resolve_item = |id: i64| {
        let resolve = resolve.clone();
        let on_queue = on_queue.clone();
        Callback::from(move |_| {
            on_queue.emit(QueueAction::Resolve(id));
            let on_queue = on_queue.clone();
            resolve.run_then(cmd::RESOLVE_RECONCILIATION, IdArgs { id }, move |_| {
                on_queue.emit(QueueAction::Resolved);
            });
        })
    };

    let shown = match &answer {
        Some(Ok(v)) if v.summary.conference == slug => Some(v),
        _ => None,
    };
    let view: Option<BackOfficeSummary> = shown.map(|v| v.summary.clone());
    let path_value = export
        .path
        .clone()
        .or_else(|| shown.map(|v| v.default_export_path.clone()))
        .unwrap_or_default();
    let on_export = export.dispatcher().to_callback();
    let exporting = export_run.busy;
    let run_export = {
        let export_run = export_run.clone();
        let on_export = on_export.clone();
        let form = ExportForm {
            slug: slug.clone(),
            path: path_value.clone(),
        };
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if exporting {
                return;
            }
            on_export.emit(ExportAction::Start);
            let on_export = on_export.clone();
            export_run.run_then(
                cmd::EXPORT_ORDERS,
                ExportArgs { form: form.clone() },
                move |answer| on_export.emit(ExportAction::Done(answer.clone())),
            );
        })
    };
    let choose_file = {
        let choose = choose.clone();
        let on_export = on_export.clone();
        let suggested = path_value.clone();
        Callback::from(move |_| {
            let on_export = on_export.clone();
            choose.run_then(
                cmd::CHOOSE_EXPORT_FILE,
                ChooseArgs {
                    suggested: suggested.clone(),
                },
                move |answer| match answer {
                    Ok(Some(path)) => on_export.emit(ExportAction::Path(path.clone())),
                    Ok(None) => {}
                    Err(e) => on_export.emit(ExportAction::ChooseFailed(e.clone())),
                },
            );
        })
    };
    let export_error = export.error();

    html! {
        <div class="office" id="back-office">
            <div class="row between">
                <h2>{ "Back office" }</h2>
                if props.conferences.len() > 1 {
                    <label class="inline">{ "Conference " }
                        <select id="office-conference" onchange={on_pick_conference}>
                            { for props.conferences.iter().map(|c| html! {
                                <option value={c.slug.clone()} selected={c.slug == slug}>{ &c.name }</option>
                            }) }
                        </select>
                    </label>
                }
            </div>
            { match &answer {
                Some(Err(e)) => html! { <div class="banner error" id="office-error" role="alert">{ friendly(e) }</div> },
                _ if view.is_none() => html! { <p class="muted"><span class="spinner small"></span>{ "Adding up the orders…" }</p> },
                _ => html! {},
            } }
            if let Some(v) = &view {
                <div class="office-grid">
                    <section class="panel" id="drawer-check" ref={drawer}>
                        <h3>{ "Cash drawer check" }</h3>
                        <p class="muted">{ "Confirmed orders per device, as synced to this device." }</p>
                        <table class="table" id="device-totals">
                            <thead><tr><th>{ "Device" }</th><th class="num">{ "Orders" }</th><th class="num">{ "Seats" }</th><th class="num">{ "Cash" }</th><th class="num">{ "Card" }</th><th class="num">{ "Total" }</th></tr></thead>
                            <tbody>
                                { for v.devices.iter().map(|d| html! {
                                    <tr data-device-id={d.device_id.to_string()} class={classes!(d.this_device.then_some("mine"))}>
                                        <td title={d.device_id.to_string()}>{ device_label(&d.device_id.to_string(), d.this_device) }
                                            if d.not_counted > 0 { <span class="muted">{ format!(" ({} cancelled or expired)", d.not_counted) }</span> }
                                        </td>
                                        <td class="num orders">{ d.orders }</td>
                                        <td class="num">{ d.seats }</td>
                                        <td class="num cash-amount">{ format_money(&d.cash, &v.currency) }</td>
                                        <td class="num card-amount">{ format_money(&d.card, &v.currency) }</td>
                                        <td class="num total">{ format_money(&d.total, &v.currency) }</td>
                                    </tr>
                                }) }
                                <tr class="sum"><td>{ "All devices" }</td><td></td><td></td><td></td><td></td><td class="num" id="grand-total">{ format_money(&v.total, &v.currency) }</td></tr>
                            </tbody>
                        </table>
                        <table class="table" id="method-totals">
                            <thead><tr><th>{ "Payment method" }</th><th class="num">{ "Orders" }</th><th class="num">{ "Total" }</th></tr></thead>
                            <tbody>
                                { for v.methods.iter().map(|m| html! {
                                    <tr data-method={m.method.clone()}>
                                        <td>{ &m.method }</td>
                                        <td class="num">{ m.orders }</td>
                                        <td class="num total">{ format_money(&m.total, &v.currency) }</td>
                                    </tr>
                                }) }
                            </tbody>
                        </table>
                    </section>
                    <section class="panel" id="sales-over-time">
                        <h3>{ "Sales over time" }</h3>
                        <SalesChart buckets={v.sales_over_time.clone()} bucket_minutes={v.bucket_minutes} currency={v.currency.clone()} />
                    </section>
                </div>
            }

            <section class="panel" id="reconciliation">
                <div class="row between">
                    <h3>{ "Reconciliation queue" }</h3>
                    <button id="queue-refresh" class="secondary" onclick={refresh_queue}>{ "Refresh" }</button>
                </div>
                { form_error(&resolve.error, "resolve-error", &[]) }
                { match queue.answer() {
                    None => html! { <p class="muted"><span class="spinner small"></span>{ "Asking the server…" }</p> },
                    Some(Err(e)) => html! { <p class="banner warning" id="queue-error">{ friendly(e) }</p> },
                    Some(Ok(items)) if items.is_empty() => html! { <p class="muted" id="queue-empty">{ "Nothing to reconcile." }</p> },
                    Some(Ok(items)) => html! {
                        <ul class="queue" id="queue-items">
                            { for items.iter().map(|item| {
                                let busy = queue_state.resolving == Some(item.id);
                                html! {
                                    <li class={classes!("queue-item", item.resolved.then_some("resolved"))} data-id={item.id.to_string()} data-kind={item.kind.clone()}>
                                        <div class="queue-head">
                                            <strong>{ reconciliation_title(&item.kind) }</strong>
                                            <span class="muted">{ format!(" · {} · {}", device_label(&item.device_id, item.this_device), short_time(&item.created_at)) }</span>
                                        </div>
                                        <div class="queue-detail">
                                            if let Some(code) = &item.access_code { <span class="pill">{ format!("Order {code}") }</span> }
                                            { for item.details.iter().filter(|(k, _)| !(k == "order_id" && item.access_code.is_some())).map(|(k, v)| html! {
                                                <span class="kv"><span class="muted">{ format!("{}: ", k.replace('_', " ")) }</span>{ v }</span>
                                            }) }
                                        </div>
                                        if item.resolved {
                                            <span class="pill confirmed">{ "Resolved" }</span>
                                        } else {
                                            <button class="primary resolve" disabled={busy} onclick={resolve_item(item.id)}>
                                                if busy { <span class="spinner small"></span> }
                                                { "Mark resolved" }
                                            </button>
                                        }
                                    </li>
                                }
                            }) }
                        </ul>
                    },
                } }
            </section>

            if let Some(v) = &view {
                <section class="panel" id="all-orders">
                    <h3>{ "Every device's orders" }</h3>
                    <OrderList id="office-orders" empty_id="office-no-orders" empty="No orders yet."
                        conference={Some(v.conference.clone())} changes={props.changes}
                        this_device={Some(v.devices.iter().find(|d| d.this_device).map(|d| d.device_id.to_string()).unwrap_or_default())} />
                </section>
            }

            <form class="panel" id="export-form" onsubmit={run_export}>
                <h3>{ "Export orders as CSV" }</h3>
                <p class="muted">{ "One row per order line, every device's orders, for a spreadsheet." }</p>
                <div class="row path-row">
                    <label class="grow">{ "File" }
                        <input id="export-path" type="text" value={path_value}
                            oninput={on_export.reform(|e: InputEvent| ExportAction::Path(input_value(&e)))} />
                    </label>
                    <button id="export-choose" class="secondary" type="button" onclick={choose_file}>{ "Choose…" }</button>
                </div>
                { field_error(&export_error, "path", "export") }
                { form_error(&export_error, "export-error", &["path"]) }
                <div class="row">
                    <button id="export-run" class="primary" type="submit" disabled={exporting}>
                        if exporting { <span class="spinner small"></span>{ export_text(props.export_progress.as_ref()) } } else { { "Export CSV" } }
                    </button>
                    if let Some(Ok(done)) = &export.outcome {
                        <span class="muted" id="export-done">{ format!("Wrote {} rows ({} bytes) to {}", done.rows, done.bytes, done.path) }</span>
                    }
                </div>
            </form>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ChartProps {
    buckets: Vec<SalesBucket>,
    bucket_minutes: u32,
    currency: String,
}

/// Seats sold per stretch of time, as an inline SVG bar chart.
#[function_component(SalesChart)]
fn sales_chart(props: &ChartProps) -> Html {
    if props.buckets.is_empty() {
        return html! { <p class="muted" id="chart-empty">{ "No confirmed sales yet." }</p> };
    }
    let values: Vec<(String, u32)> = props
        .buckets
        .iter()
        .map(|b| (bucket_label(&b.start, props.bucket_minutes), b.seats))
        .collect();
    let c = chart(&values, 560.0, 220.0);
    let width = if props.bucket_minutes >= 60 {
        format!("{} h", props.bucket_minutes / 60)
    } else {
        format!("{} min", props.bucket_minutes)
    };
    html! {
        <>
        <svg id="sales-chart" class="chart" viewBox={format!("0 0 {} {}", c.width, c.height)} role="img"
            aria-label={format!("Seats sold per {width}")}>
            { for c.ticks.iter().map(|(y, label)| html! {
                <g class="tick">
                    <line x1="36" x2={c.width.to_string()} y1={y.to_string()} y2={y.to_string()} />
                    <text x="30" y={(y + 4.0).to_string()} text-anchor="end">{ label }</text>
                </g>
            }) }
            { for c.bars.iter().zip(&props.buckets).enumerate().map(|(i, (bar, bucket))| html! {
                <g class="bar" data-seats={bar.value.to_string()}>
                    <rect x={bar.x.to_string()} y={bar.y.to_string()} width={bar.width.to_string()} height={bar.height.to_string()}>
                        <title>{ format!("{}: {} seats, {} orders, {}", bar.label, bucket.seats, bucket.orders, format_money(&bucket.amount, &props.currency)) }</title>
                    </rect>
                    if i % c.label_every == 0 {
                        <text x={(bar.x + bar.width / 2.0).to_string()} y={(c.baseline + 16.0).to_string()} text-anchor="middle">{ &bar.label }</text>
                    }
                </g>
            }) }
            <line class="axis" x1="36" x2={c.width.to_string()} y1={c.baseline.to_string()} y2={c.baseline.to_string()} />
        </svg>
        <p class="muted chart-note">{ format!("Seats sold per {width}; hover a bar for orders and takings.") }</p>
        </>
    }
}
