//! The Tauri commands: each converts what the UI sent into a call on the application layer
//! and its answer (or its `{code, message}` error) back. No rules live here.
use crate::{Shared, internal, store_changed};
use conference_app::{App, AppError, Ctx, NewConference, NewPromoCode, PaymentInput, SaleInput};
use conference_desktop_ipc::{
    ConferenceForm, HeaderView, PromoForm, QuoteRequest, SaleForm, SeatTypeChange, SeatTypeForm,
    ServerForm, SyncSummary,
};
use conference_domain::Timestamp;
use conference_protocol::{
    ConferenceView, DeviceView, ErrorBody, OrderPage, OrderQuery, OrderView, Quote, SeatsView,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tauri::{AppHandle, State};

pub(crate) type Reply<T> = Result<T, ErrorBody>;

/// Runs `f` on the blocking pool with the application layer.
pub(crate) async fn blocking<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&mut App) -> Result<T, AppError> + Send + 'static,
) -> Reply<T> {
    let shared = Arc::clone(shared);
    tauri::async_runtime::spawn_blocking(move || shared.with_app(f).map_err(|e| e.body()))
        .await
        .map_err(|e| internal(format!("The command stopped unexpectedly ({e}); try again")))?
}

/// Like [`blocking`], for commands that change the store: screens are told afterwards.
pub(crate) async fn changing<T: Send + 'static>(
    shared: &Arc<Shared>,
    handle: &AppHandle,
    f: impl FnOnce(&mut App) -> Result<T, AppError> + Send + 'static,
) -> Reply<T> {
    let result = blocking(shared, f).await;
    if result.is_ok() {
        store_changed(handle);
    }
    result
}

pub(crate) fn ctx() -> Ctx {
    Ctx::new(chrono::Utc::now())
}

/// Which of a conference's days a form field holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Day {
    Start,
    End,
}

impl Day {
    fn invalid(self, message: String) -> AppError {
        match self {
            Self::Start => AppError::invalid("invalid_start", message).with_field("start"),
            Self::End => AppError::invalid("invalid_end", message).with_field("end"),
        }
    }
}

/// `2026-12-01` (or a full RFC 3339 time) → a time; empty → none (the app says it is missing).
pub(crate) fn parse_day(text: &str, day: Day) -> Result<Option<Timestamp>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    conference_app::input::parse_time(text)
        .map(Some)
        .ok_or_else(|| day.invalid(format!("`{text}` is not a date; write it like 2026-12-01")))
}

pub(crate) fn parse_quantity(text: &str) -> Result<u32, AppError> {
    text.trim().parse::<u32>().map_err(|_| {
        AppError::invalid(
            "invalid_quantity",
            format!(
                "`{}` is not a number of seats; write a whole number like 50",
                text.trim()
            ),
        )
        .with_field("quantity")
    })
}

fn parse_max_uses(text: &str) -> Result<Option<u32>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u32>().map(Some).map_err(|_| {
        AppError::invalid(
            "invalid_max_uses",
            format!("`{text}` is not a number of uses; write a whole number, or leave it empty for unlimited"),
        )
        .with_field("max_uses")
    })
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

pub(crate) fn sale_input(form: SaleForm) -> SaleInput {
    SaleInput {
        slug: form.slug,
        seats: form
            .seats
            .iter()
            .filter(|s| s.quantity > 0)
            .map(|s| format!("{}={}", s.name, s.quantity))
            .collect(),
        promo_codes: form
            .promo_codes
            .iter()
            .filter_map(|c| non_empty(c))
            .collect(),
        registrant: form
            .registrant
            .map(|r| (r.first_name, r.last_name, r.email)),
        payment: form.payment.map(|p| PaymentInput {
            method: p.method,
            tendered: non_empty(&p.tendered),
            reference: non_empty(&p.reference),
        }),
        allow_override: false,
    }
}

// ------------------------------------------------------------------ startup

/// How far opening the store is; answers at once, also while a V1 upgrade runs.
#[tauri::command(rename_all = "snake_case")]
pub async fn startup(shared: State<'_, Arc<Shared>>) -> Reply<conference_desktop_ipc::StartupView> {
    Ok(shared.startup())
}

// ------------------------------------------------------------------ header

#[tauri::command(rename_all = "snake_case")]
pub async fn header(shared: State<'_, Arc<Shared>>) -> Reply<HeaderView> {
    let syncing = shared.syncing.load(Ordering::Relaxed);
    let sync_progress = shared
        .sync_progress()
        .map(|p| conference_desktop_ipc::SyncProgressView {
            pulled: p.pulled,
            position: p.position,
            head: p.head,
        });
    blocking(&shared, move |app| {
        let status = app.status()?;
        Ok(HeaderView {
            online: status.is_online(),
            device: status.device,
            server_url: status.server_url,
            syncing,
            sync_progress,
            pending_commands: status.pending_commands,
            last_sync_at: status.last_sync_at,
            last_error: status.last_error,
            rejections: status.rejections.into_iter().filter(|r| !r.seen).collect(),
            set_aside: status.set_aside,
        })
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn mark_rejections_read(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
) -> Reply<usize> {
    changing(&shared, &handle, |app| app.mark_rejections_read()).await
}

// ------------------------------------------------------------------ setup

#[tauri::command(rename_all = "snake_case")]
pub async fn conferences(shared: State<'_, Arc<Shared>>) -> Reply<Vec<ConferenceView>> {
    blocking(&shared, |app| app.conferences()).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn create_conference(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    form: ConferenceForm,
) -> Reply<ConferenceView> {
    changing(&shared, &handle, move |app| {
        let input = NewConference {
            slug: form.slug,
            name: form.name,
            description: form.description,
            location: form.location,
            start: parse_day(&form.start, Day::Start)?,
            end: parse_day(&form.end, Day::End)?,
            owner_name: form.owner_name,
            owner_email: form.owner_email,
            currency: non_empty(&form.currency),
        };
        app.create_conference(&ctx(), input)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_seat_type(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    slug: String,
    form: SeatTypeForm,
) -> Reply<ConferenceView> {
    changing(&shared, &handle, move |app| {
        let quantity = parse_quantity(&form.quantity)?;
        app.add_seat_type(
            &ctx(),
            &slug,
            &form.name,
            &form.description,
            &form.price,
            quantity,
        )
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn update_seat_type(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    slug: String,
    change: SeatTypeChange,
) -> Reply<ConferenceView> {
    changing(&shared, &handle, move |app| {
        let quantity = parse_quantity(&change.form.quantity)?;
        let new_name = Some(change.form.name.trim().to_string())
            .filter(|n| !n.is_empty() && *n != change.current_name);
        app.update_seat_type(
            &ctx(),
            &slug,
            &change.current_name,
            new_name,
            Some(change.form.description.trim().to_string()),
            Some(change.form.price.as_str()),
            Some(quantity),
        )
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_promo_code(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    slug: String,
    form: PromoForm,
) -> Reply<ConferenceView> {
    changing(&shared, &handle, move |app| {
        let (percent, amount) = match form.kind.as_str() {
            "amount" => (None, Some(form.value.clone())),
            _ => (Some(form.value.clone()), None),
        };
        let input = NewPromoCode {
            code: form.code,
            percent,
            amount,
            scope: form.scope,
            max_uses: parse_max_uses(&form.max_uses)?,
            exclusive: form.exclusive,
        };
        app.add_promo_code(&ctx(), &slug, &input)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_published(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    slug: String,
    published: bool,
) -> Reply<ConferenceView> {
    changing(&shared, &handle, move |app| {
        app.publish(&ctx(), &slug, published)
    })
    .await
}

// ------------------------------------------------------------------ door sales

#[tauri::command(rename_all = "snake_case")]
pub async fn seats(shared: State<'_, Arc<Shared>>, slug: String) -> Reply<SeatsView> {
    blocking(&shared, move |app| app.seats(&slug)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn quote(shared: State<'_, Arc<Shared>>, request: QuoteRequest) -> Reply<Quote> {
    blocking(&shared, move |app| {
        let picks: Vec<(String, u32)> = request
            .seats
            .into_iter()
            .map(|s| (s.name, s.quantity))
            .collect();
        app.quote(&request.slug, &picks, &request.promo_codes)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sell(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    sale: SaleForm,
) -> Reply<OrderView> {
    changing(&shared, &handle, move |app| {
        app.sell(&ctx(), &sale_input(sale))
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn order(shared: State<'_, Arc<Shared>>, id: String) -> Reply<OrderView> {
    blocking(&shared, move |app| app.order_by_text(&id)).await
}

// ------------------------------------------------------------------ orders

/// One page of orders, the newest first or as a search finds them (in the store).
#[tauri::command(rename_all = "snake_case")]
pub async fn find_orders(shared: State<'_, Arc<Shared>>, query: OrderQuery) -> Reply<OrderPage> {
    blocking(&shared, move |app| app.search_orders(&query)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn cancel_order(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    id: String,
    reason: String,
) -> Reply<OrderView> {
    changing(&shared, &handle, move |app| {
        app.cancel(&ctx(), &id, Some(reason.as_str()))
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn assign_seat(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    id: String,
    position: u32,
    attendee: conference_desktop_ipc::RegistrantForm,
) -> Reply<OrderView> {
    changing(&shared, &handle, move |app| {
        app.assign_seat(
            &ctx(),
            &id,
            position,
            &attendee.first_name,
            &attendee.last_name,
            &attendee.email,
        )
    })
    .await
}

// ------------------------------------------------------------------ settings and sync

#[tauri::command(rename_all = "snake_case")]
pub async fn save_server(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    form: ServerForm,
) -> Reply<()> {
    let saved = changing(&shared, &handle, move |app| {
        app.enroll(&form.code, form.insecure_http).map(drop)
    })
    .await;
    if saved.is_ok() {
        crate::sync_loop::settings_changed(&shared);
    }
    saved
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(shared: State<'_, Arc<Shared>>, handle: AppHandle) -> Reply<SyncSummary> {
    let shared = Arc::clone(&shared);
    tauri::async_runtime::spawn_blocking(move || crate::sync_loop::sync_once(&handle, &shared, 3))
        .await
        .map_err(|e| internal(format!("The sync stopped unexpectedly ({e}); try again")))?
}

#[tauri::command(rename_all = "snake_case")]
pub async fn rename_device(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    name: String,
) -> Reply<DeviceView> {
    changing(&shared, &handle, move |app| app.rename_device(&name)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_desktop_ipc::{PaymentForm, RegistrantForm, SeatPick};

    #[test]
    fn days_parse_and_say_how_to_write_them() {
        assert_eq!(
            parse_day("2026-12-01", Day::Start)
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(parse_day("  ", Day::Start).unwrap(), None);
        let error = parse_day("12/01/2026", Day::Start).unwrap_err();
        assert_eq!(error.code(), "invalid_start");
        assert_eq!(error.field(), Some("start"));
        let error = parse_day("tomorrow", Day::End).unwrap_err();
        assert_eq!((error.code(), error.field()), ("invalid_end", Some("end")));
        assert!(error.to_string().contains("2026-12-01"));
    }

    #[test]
    fn quantities_and_uses_are_whole_numbers() {
        assert_eq!(parse_quantity(" 50 ").unwrap(), 50);
        assert_eq!(
            parse_quantity("lots").unwrap_err().code(),
            "invalid_quantity"
        );
        assert_eq!(parse_max_uses("").unwrap(), None);
        assert_eq!(parse_max_uses("3").unwrap(), Some(3));
        assert_eq!(parse_max_uses("-1").unwrap_err().code(), "invalid_max_uses");
        assert_eq!(parse_quantity("x").unwrap_err().field(), Some("quantity"));
        assert_eq!(parse_max_uses("x").unwrap_err().field(), Some("max_uses"));
    }

    #[test]
    fn a_sale_form_becomes_the_app_input() {
        let input = sale_input(SaleForm {
            slug: "devconf".into(),
            seats: vec![
                SeatPick {
                    name: "Full".into(),
                    quantity: 2,
                },
                SeatPick {
                    name: "Student".into(),
                    quantity: 0,
                },
            ],
            promo_codes: vec![" ".into(), "EARLY".into()],
            registrant: Some(RegistrantForm {
                first_name: "Grace".into(),
                last_name: "Hopper".into(),
                email: "grace@example.com".into(),
            }),
            payment: Some(PaymentForm {
                method: "cash".into(),
                tendered: "250".into(),
                reference: String::new(),
            }),
        });
        assert_eq!(input.seats, vec!["Full=2".to_string()]);
        assert_eq!(input.promo_codes, vec!["EARLY".to_string()]);
        let payment = input.payment.unwrap();
        assert_eq!(payment.tendered.as_deref(), Some("250"));
        assert_eq!(payment.reference, None);
        assert!(!input.allow_override);
    }
}
