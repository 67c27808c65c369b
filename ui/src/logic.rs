//! The UI's state and formatting, with no browser in sight: the door's cart reducer, money
//! arithmetic on the protocol's decimal strings, and how errors read to a person. Tested
//! natively; the components only render it.
//!
//! tidy: long because it holds all of the UI's natively tested logic (cart reducer, money,
//! error text) and its tests, about a third of the file.
use conference_desktop_ipc::protocol::ErrorBody;
use conference_desktop_ipc::{PaymentForm, RegistrantForm, SaleForm, SeatPick};
use conference_domain::{Money, payment};
use rust_decimal::Decimal;
use std::str::FromStr;

// ------------------------------------------------------------------ money

/// `"120.00"` + `"EUR"` → `"EUR 120.00"`, keeping the minor unit the server sent, with
/// thousands grouped (`"EUR 12,000,000.00"`).
#[must_use]
pub fn format_money(amount: &str, currency: &str) -> String {
    let amount = amount.trim();
    let grouped = |digits: &str| -> String {
        let (whole, minor) = match digits.split_once('.') {
            Some((whole, minor)) => (whole, Some(minor)),
            None => (digits, None),
        };
        let whole = whole.parse::<u64>().map_or(whole.to_string(), thousands);
        match minor {
            Some(minor) => format!("{whole}.{minor}"),
            None => whole,
        }
    };
    match Decimal::from_str(amount) {
        Ok(value) if value.is_sign_negative() && !value.is_zero() => {
            format!("− {currency} {}", grouped(amount.trim_start_matches('-')))
        }
        Ok(_) => format!("{currency} {}", grouped(amount)),
        Err(_) => format!("{currency} {amount}"),
    }
}

/// Money typed by a person (`"250"`, `"250,50"`, `" 99.9 "`).
pub fn parse_amount(text: &str) -> Result<Decimal, String> {
    let cleaned = text.trim().replace(',', ".");
    match Decimal::from_str(&cleaned) {
        Ok(value) if value.is_sign_negative() => Err(format!(
            "{} is negative; enter the cash handed over, like 50",
            text.trim()
        )),
        Ok(value) => Ok(value),
        Err(_) => Err(format!(
            "`{}` is not an amount; enter it like 50 or 49.50",
            text.trim()
        )),
    }
}

/// The change to give for `tendered` cash on `total`, with as many decimals as the total.
/// Empty `tendered` means exactly the total. The rule is the domain's
/// ([`payment::cash_change`], what the payment itself decides when it completes); only
/// reading what was typed and the words are the screen's.
pub fn change_due(total: &str, tendered: &str) -> Result<String, String> {
    let total_value = Decimal::from_str(total.trim())
        .map_err(|_| format!("The total {total} could not be read"))?;
    let given = match tendered.trim() {
        "" => None,
        typed => Some(Money::new(parse_amount(typed)?)),
    };
    match payment::cash_change(Money::new(total_value), given) {
        Ok((_, change)) => Ok(with_scale(change.amount(), total)),
        Err(payment::Error::TenderedTooLow { tendered, amount }) => Err(format!(
            "Cash tendered is {} short of the total; ask for at least {}",
            with_scale(amount.amount() - tendered.amount(), total),
            total.trim()
        )),
        Err(other) => Err(other.to_string()),
    }
}

fn scale_of(reference: &str) -> u32 {
    reference
        .trim()
        .split_once('.')
        .map_or(0, |(_, d)| u32::try_from(d.len()).unwrap_or(2))
}

fn with_scale(value: Decimal, reference: &str) -> String {
    let mut value = value.round_dp(scale_of(reference));
    value.rescale(scale_of(reference));
    value.to_string()
}

// ------------------------------------------------------------------ errors

/// How an error reads to a person at the desktop. The application layer's messages are
/// shared with the CLI; the few that name command-line flags are said the desktop's way.
#[must_use]
pub fn friendly(error: &ErrorBody) -> String {
    let replacement = match error.code.as_str() {
        "missing_start" => "Pick the day the conference starts",
        "missing_end" => "Pick the day the conference ends",
        "end_before_start" => "The conference ends before it starts; check the start and end days",
        "no_seats" => "Pick at least one seat with the + buttons",
        "discount_kind" => "Choose percent or amount and enter its value",
        "sold_out" => "None of the requested seats are left; pick another seat type",
        "allotment_exhausted" => {
            "This device's allotment has none of these seats left; request more in Settings"
        }
        "conference_not_published" => {
            "This conference is not published, so it cannot sell seats; publish it in Setup"
        }
        "payment_required" => "This order costs money; choose cash or card",
        "order_is_free" => "This order costs nothing, so it takes no payment",
        "server_unreachable" => {
            "The sync server did not answer; sales go on offline and sync tries again later"
        }
        "no_server" => {
            "This device has no sync server yet; paste the enrollment code from the server's admin in Settings"
        }
        "forbidden_role" => {
            "This device's token is for a door; only organizer and back-office devices see the reconciliation queue"
        }
        "nothing_to_return" => "This device's allotment has none of those seats left to give back",
        _ => return error.message.clone(),
    };
    replacement.to_string()
}

/// The form input an error belongs to, by the names the forms give their inputs, from the
/// input the application says it is about (`None`: it is about no input).
#[must_use]
pub fn field_of(error: &ErrorBody) -> Option<&str> {
    let field = error.field.as_deref()?;
    Some(match field {
        // The promo form's "Code" and the server form's "Enrollment code".
        "promo_code" | "enrollment_code" => "code",
        // The promo form's one "Value" input holds a percentage or an amount.
        "percent" | "amount" | "discount" => "value",
        other => other,
    })
}

/// Whether a form whose inputs are `fields` shows the error above itself: it belongs to
/// none of them, so it is never lost.
#[must_use]
pub fn shows_above(error: &ErrorBody, fields: &[&str]) -> bool {
    field_of(error).is_none_or(|field| !fields.contains(&field))
}

// ------------------------------------------------------------------ the door's cart

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    #[default]
    Cash,
    Card,
}

impl Method {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Card => "card",
        }
    }
}

/// What the door has picked for the sale being made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cart {
    /// Seat type name → quantity, in the order the cards show.
    pub quantities: Vec<(String, u32)>,
    /// The promo code as being typed.
    pub promo_text: String,
    /// The codes applied to the quote (after Apply or Enter).
    pub promo_codes: Vec<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub method: Method,
    pub tendered: String,
    pub reference: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CartField {
    FirstName,
    LastName,
    Email,
    Tendered,
    Reference,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CartAction {
    /// Seat types offered now (keeps the quantities of names that stay).
    Offer(Vec<String>),
    Increment(String),
    Decrement(String),
    SetQuantity(String, u32),
    TypePromo(String),
    ApplyPromo,
    RemovePromo(String),
    Set(CartField, String),
    Method(Method),
    /// After a sale: a fresh cart with the same seat types.
    Clear,
}

impl Cart {
    #[must_use]
    pub fn reduce(mut self, action: CartAction) -> Self {
        match action {
            CartAction::Offer(names) => {
                let old = std::mem::take(&mut self.quantities);
                self.quantities = names
                    .into_iter()
                    .map(|n| {
                        let q = old.iter().find(|(o, _)| *o == n).map_or(0, |(_, q)| *q);
                        (n, q)
                    })
                    .collect();
            }
            CartAction::Increment(name) => {
                if let Some((_, q)) = self.quantities.iter_mut().find(|(n, _)| *n == name) {
                    *q = q.saturating_add(1);
                }
            }
            CartAction::Decrement(name) => {
                if let Some((_, q)) = self.quantities.iter_mut().find(|(n, _)| *n == name) {
                    *q = q.saturating_sub(1);
                }
            }
            CartAction::SetQuantity(name, quantity) => {
                if let Some((_, q)) = self.quantities.iter_mut().find(|(n, _)| *n == name) {
                    *q = quantity;
                }
            }
            CartAction::TypePromo(text) => self.promo_text = text,
            CartAction::ApplyPromo => {
                let code = self.promo_text.trim().to_uppercase();
                if !code.is_empty() && !self.promo_codes.contains(&code) {
                    self.promo_codes.push(code);
                }
                self.promo_text.clear();
            }
            CartAction::RemovePromo(code) => self.promo_codes.retain(|c| *c != code),
            CartAction::Set(field, value) => match field {
                CartField::FirstName => self.first_name = value,
                CartField::LastName => self.last_name = value,
                CartField::Email => self.email = value,
                CartField::Tendered => self.tendered = value,
                CartField::Reference => self.reference = value,
            },
            CartAction::Method(method) => self.method = method,
            CartAction::Clear => {
                let names = self.quantities.iter().map(|(n, _)| n.clone()).collect();
                self = Self::default().reduce(CartAction::Offer(names));
            }
        }
        self
    }

    #[must_use]
    pub fn quantity(&self, name: &str) -> u32 {
        self.quantities
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, q)| *q)
    }

    #[must_use]
    pub fn picks(&self) -> Vec<SeatPick> {
        self.quantities
            .iter()
            .filter(|(_, q)| *q > 0)
            .map(|(name, quantity)| SeatPick {
                name: name.clone(),
                quantity: *quantity,
            })
            .collect()
    }

    #[must_use]
    pub fn seat_count(&self) -> u32 {
        self.quantities.iter().map(|(_, q)| q).sum()
    }

    /// The sale to send; `free` orders take no payment.
    #[must_use]
    pub fn sale(&self, slug: &str, free: bool) -> SaleForm {
        let registrant = [&self.first_name, &self.last_name, &self.email]
            .iter()
            .any(|f| !f.trim().is_empty())
            .then(|| RegistrantForm {
                first_name: self.first_name.trim().to_string(),
                last_name: self.last_name.trim().to_string(),
                email: self.email.trim().to_string(),
            });
        let payment = (!free).then(|| PaymentForm {
            method: self.method.as_str().to_string(),
            tendered: match self.method {
                Method::Cash => self.tendered.trim().replace(',', "."),
                Method::Card => String::new(),
            },
            reference: match self.method {
                Method::Card => self.reference.trim().to_string(),
                Method::Cash => String::new(),
            },
        });
        SaleForm {
            slug: slug.to_string(),
            seats: self.picks(),
            promo_codes: self.promo_codes.clone(),
            registrant,
            payment,
        }
    }
}

/// "3 of 5 Student" lines for seats the sale could not get.
#[must_use]
pub fn shortage_text(seat_type: &str, requested: u32, available: u32) -> String {
    match available {
        0 => format!("No {seat_type} seats are left; none of the {requested} can be sold"),
        n => format!("Only {n} of the {requested} {seat_type} seats are left; the sale takes {n}"),
    }
}

/// What a seat card says is left, and whether the door can sell from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    pub text: String,
    /// Nothing this device can sell.
    pub sold_out: bool,
    /// This device's allotment is empty while seats are left elsewhere: ask for more.
    pub needs_allotment: bool,
}

/// `allotment` is what this device's own allotment has left (`None`: it sells from the
/// pool); `overall` is what is left over every holder.
#[must_use]
pub fn availability(allotment: Option<i64>, overall: i64) -> Availability {
    let mine = allotment.unwrap_or(overall);
    if mine > 0 {
        return Availability {
            text: format!("{mine} left"),
            sold_out: false,
            needs_allotment: false,
        };
    }
    if allotment.is_some() && overall > 0 {
        return Availability {
            text: "None on this device: request an allotment in Settings".into(),
            sold_out: true,
            needs_allotment: true,
        };
    }
    Availability {
        text: "Sold out".into(),
        sold_out: true,
        needs_allotment: false,
    }
}

// ------------------------------------------------------------------ back office

/// How the back office names a device: its own, or the start of its id.
#[must_use]
pub fn device_label(device_id: &str, this_device: bool) -> String {
    if this_device {
        "This device".into()
    } else {
        format!("Device {}", device_id.get(..8).unwrap_or(device_id))
    }
}

/// What a reconciliation item is, for a person.
#[must_use]
pub fn reconciliation_title(kind: &str) -> String {
    match kind {
        "over_allotment" => "Sold beyond an allotment".into(),
        "promo_overuse" => "Promo code used past its limit".into(),
        "rejected_command" => "Command refused by the server".into(),
        "event_neutralised" => "Event neutralised by the server's admin".into(),
        other => other.replace('_', " "),
    }
}

/// Sums money strings (`"120.00"`), keeping the decimals of the first.
#[must_use]
pub fn sum_money(amounts: &[&str]) -> String {
    let total: Decimal = amounts
        .iter()
        .filter_map(|a| Decimal::from_str(a.trim()).ok())
        .sum();
    with_scale(total, amounts.first().copied().unwrap_or("0.00"))
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1): a chart's top line.
#[must_use]
pub fn nice_ceiling(value: u32) -> u32 {
    let mut step = 1u32;
    loop {
        for m in [1, 2, 5] {
            let candidate = step.saturating_mul(m);
            if candidate >= value {
                return candidate;
            }
        }
        if step > u32::MAX / 10 {
            return u32::MAX;
        }
        step *= 10;
    }
}

/// One bar of the sales chart, in the chart's own coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub value: u32,
    pub label: String,
}

/// A bar chart laid out in a `width` × `height` box, with room for axis labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// The y of the baseline and of the top line.
    pub baseline: f64,
    pub top: f64,
    pub max: u32,
    pub bars: Vec<Bar>,
    /// (y, label) of the horizontal grid lines.
    pub ticks: Vec<(f64, String)>,
    /// Which bars get a time label under them (every n-th, so labels never overlap).
    pub label_every: usize,
}

const CHART_LEFT: f64 = 36.0;
const CHART_BOTTOM: f64 = 22.0;
const CHART_TOP: f64 = 8.0;
const CHART_MAX_BAR: f64 = 56.0;

/// Lays out `values` (with their labels) as bars scaled to a nice maximum.
#[must_use]
pub fn chart(values: &[(String, u32)], width: f64, height: f64) -> Chart {
    let max = nice_ceiling(values.iter().map(|(_, v)| *v).max().unwrap_or(0));
    let baseline = height - CHART_BOTTOM;
    let plot_height = baseline - CHART_TOP;
    let slot = if values.is_empty() {
        0.0
    } else {
        (width - CHART_LEFT) / values.len() as f64
    };
    let bars = values
        .iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let h = plot_height * f64::from(*value) / f64::from(max);
            // Bars fill most of their slot, but a few buckets do not make slabs.
            let bar_width = (slot * 0.7).min(CHART_MAX_BAR);
            Bar {
                x: CHART_LEFT + slot * i as f64 + (slot - bar_width) / 2.0,
                y: baseline - h,
                width: bar_width,
                height: h,
                value: *value,
                label: label.clone(),
            }
        })
        .collect();
    let steps = if max >= 4 && max % 4 == 0 {
        4
    } else if max >= 2 && max % 2 == 0 {
        2
    } else {
        1
    };
    let ticks = (0..=steps)
        .map(|i| {
            let value = max / steps * i;
            (
                baseline - plot_height * f64::from(value) / f64::from(max),
                tick_label(value),
            )
        })
        .collect();
    // About 56 px per time label.
    let label_every = if slot <= 0.0 {
        1
    } else {
        ((56.0 / slot).ceil() as usize).max(1)
    };
    Chart {
        width,
        height,
        baseline,
        top: CHART_TOP,
        max,
        bars,
        ticks,
        label_every,
    }
}

/// A bucket's start as a chart label: the time of day, or the day for day-wide buckets.
#[must_use]
pub fn bucket_label(start: &str, bucket_minutes: u32) -> String {
    let text = short_time(start);
    if bucket_minutes >= 1440 {
        text.get(..10).unwrap_or(&text).to_string()
    } else {
        text.get(11..).unwrap_or(&text).to_string()
    }
}

/// Seat quantities typed per seat type (for allotment requests and returns).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Picks(pub Vec<(String, String)>);

impl Picks {
    /// Keeps what was typed for names that stay.
    #[must_use]
    pub fn offer(&self, names: &[String]) -> Self {
        Self(
            names
                .iter()
                .map(|n| {
                    let typed = self
                        .0
                        .iter()
                        .find(|(o, _)| o == n)
                        .map(|(_, t)| t.clone())
                        .unwrap_or_default();
                    (n.clone(), typed)
                })
                .collect(),
        )
    }

    #[must_use]
    pub fn with(&self, name: &str, text: String) -> Self {
        let mut next = self.clone();
        if let Some((_, t)) = next.0.iter_mut().find(|(n, _)| n == name) {
            *t = text;
        }
        next
    }

    #[must_use]
    pub fn typed(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    }

    /// The seats asked for, or what was not a whole number.
    pub fn seats(&self) -> Result<Vec<SeatPick>, String> {
        let mut out = Vec::new();
        for (name, text) in &self.0 {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let quantity: u32 = text.parse().map_err(|_| {
                format!("`{text}` is not a number of {name} seats; write a whole number like 10")
            })?;
            if quantity > 0 {
                out.push(SeatPick {
                    name: name.clone(),
                    quantity,
                });
            }
        }
        if out.is_empty() {
            return Err("Enter how many seats of at least one seat type".into());
        }
        Ok(out)
    }
}

/// A timestamp as people read it: `2026-11-27T10:00:00.123Z` → `2026-11-27 10:00`.
#[must_use]
pub fn short_time(rfc3339: &str) -> String {
    let text = rfc3339.replace('T', " ");
    text.get(..16).map_or(text.clone(), str::to_string)
}

/// Which orders a page shows: `1–50 of 100,000`, or `51–100 and more` for a search (a
/// search does not count what it finds).
#[must_use]
pub fn page_range(offset: u32, shown: usize, total: Option<u64>, more: bool) -> String {
    let first = u64::from(offset) + 1;
    let last = u64::from(offset) + shown as u64;
    let span = if shown == 0 {
        "None".to_string()
    } else {
        format!("{}–{}", thousands(first), thousands(last))
    };
    match total {
        Some(total) => format!("{span} of {}", thousands(total)),
        None if more => format!("{span} and more"),
        None => span,
    }
}

/// A chart's axis label, short enough for its margin: `2500` → `2.5k`, `10000` → `10k`.
fn tick_label(value: u32) -> String {
    match value {
        v if v >= 1000 && v % 1000 == 0 => format!("{}k", v / 1000),
        v if v >= 1000 && v % 100 == 0 => format!("{}.{}k", v / 1000, v % 1000 / 100),
        v => thousands(u64::from(v)),
    }
}

/// `100000` → `100,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ------------------------------------------------------------------ startup

/// The header's words for a running sync: with how far a long catch-up is, once known.
pub fn sync_text(progress: Option<&conference_desktop_ipc::SyncProgressView>) -> String {
    match progress {
        Some(p) if p.head > 0 && p.position < p.head => format!(
            "Syncing… {}% ({} events)",
            upgrade_percent(
                u64::try_from(p.position.max(0)).unwrap_or(0),
                u64::try_from(p.head).unwrap_or(0)
            ),
            p.pulled
        ),
        _ => "Syncing…".to_string(),
    }
}

/// The export button's words while it runs: with how far it is, once known.
pub fn export_text(progress: Option<&conference_desktop_ipc::ExportProgressView>) -> String {
    match progress {
        Some(p) if p.total > 0 && p.done < p.total => format!(
            "Exporting… {}% ({} of {} orders)",
            upgrade_percent(p.done, p.total),
            p.done,
            p.total
        ),
        _ => "Exporting…".to_string(),
    }
}

/// How far a V1 upgrade is, in whole percent (0 to 100).
#[must_use]
pub fn upgrade_percent(done: u64, total: u64) -> u64 {
    if total == 0 {
        return 0;
    }
    (done.min(total) * 100) / total
}

/// The QR code of an access code, as an SVG document.
#[must_use]
pub fn qr_svg(text: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color>()
            .min_dimensions(160, 160)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_page_says_which_orders_it_shows() {
        assert_eq!(page_range(0, 50, Some(100_000), true), "1–50 of 100,000");
        assert_eq!(
            page_range(99_950, 50, Some(100_000), false),
            "99,951–100,000 of 100,000"
        );
        assert_eq!(page_range(50, 50, None, true), "51–100 and more");
        assert_eq!(page_range(0, 3, None, false), "1–3");
        assert_eq!(page_range(50, 0, None, false), "None");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    use super::*;

    fn err(code: &str, message: &str) -> ErrorBody {
        ErrorBody {
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }

    fn at(code: &str, field: &str) -> ErrorBody {
        ErrorBody {
            field: Some(field.into()),
            ..err(code, "x")
        }
    }

    #[test]
    fn an_export_says_how_far_it_is() {
        use conference_desktop_ipc::ExportProgressView;
        assert_eq!(export_text(None), "Exporting…");
        let at = |done, total| ExportProgressView { done, total };
        assert_eq!(
            export_text(Some(&at(250, 1000))),
            "Exporting… 25% (250 of 1000 orders)"
        );
        assert_eq!(export_text(Some(&at(1000, 1000))), "Exporting…");
        assert_eq!(export_text(Some(&at(0, 0))), "Exporting…");
    }

    #[test]
    fn a_long_sync_says_how_far_it_is() {
        use conference_desktop_ipc::SyncProgressView;
        assert_eq!(sync_text(None), "Syncing…");
        let at = |position, head| SyncProgressView {
            pulled: 12_000,
            position,
            head,
        };
        assert_eq!(
            sync_text(Some(&at(30_000, 120_000))),
            "Syncing… 25% (12000 events)"
        );
        assert_eq!(sync_text(Some(&at(120_000, 120_000))), "Syncing…");
        assert_eq!(sync_text(Some(&at(0, 0))), "Syncing…");
    }

    #[test]
    fn an_upgrade_counts_whole_percents() {
        assert_eq!(upgrade_percent(0, 0), 0);
        assert_eq!(upgrade_percent(0, 804), 0);
        assert_eq!(upgrade_percent(401, 804), 49);
        assert_eq!(upgrade_percent(804, 804), 100);
        assert_eq!(upgrade_percent(900, 804), 100);
    }

    #[test]
    fn money_reads_with_its_currency() {
        assert_eq!(format_money("120.00", "EUR"), "EUR 120.00");
        assert_eq!(format_money("-18.00", "EUR"), "− EUR 18.00");
        assert_eq!(format_money("0.00", "USD"), "USD 0.00");
        assert_eq!(format_money("12000000.00", "EUR"), "EUR 12,000,000.00");
        assert_eq!(format_money("1234.5", "EUR"), "EUR 1,234.5");
        assert_eq!(format_money("-1500.00", "EUR"), "− EUR 1,500.00");
        assert_eq!(format_money("999", "JPY"), "JPY 999");
        assert_eq!(tick_label(10_000), "10k");
        assert_eq!(tick_label(7_500), "7.5k");
        assert_eq!(tick_label(250), "250");
    }

    #[test]
    fn change_keeps_the_totals_decimals() {
        assert_eq!(change_due("204.00", "250").unwrap(), "46.00");
        assert_eq!(change_due("204.00", "").unwrap(), "0.00");
        assert_eq!(change_due("99.95", "100,5").unwrap(), "0.55");
        assert_eq!(change_due("120", "120").unwrap(), "0");
        let short = change_due("204.00", "200").unwrap_err();
        assert!(short.contains("4.00 short"), "{short}");
        assert!(
            change_due("204.00", "lots")
                .unwrap_err()
                .contains("not an amount")
        );
        assert!(change_due("10.00", "-5").unwrap_err().contains("negative"));
    }

    #[test]
    fn cli_flavoured_messages_are_said_the_desktop_way() {
        let e = err(
            "missing_start",
            "Say when the conference starts with --start",
        );
        assert_eq!(friendly(&e), "Pick the day the conference starts");
        let e = err(
            "seat_type_name_taken",
            "A seat type named `Full` already exists",
        );
        assert_eq!(friendly(&e), "A seat type named `Full` already exists");
    }

    #[test]
    fn errors_find_their_field() {
        assert_eq!(field_of(&at("slug", "slug")), Some("slug"));
        assert_eq!(field_of(&at("empty", "name")), Some("name"));
        assert_eq!(field_of(&at("empty", "owner_name")), Some("owner_name"));
        assert_eq!(
            field_of(&at("invalid_quantity", "quantity")),
            Some("quantity")
        );
        assert_eq!(
            field_of(&at("promo_code_exhausted", "promo_code")),
            Some("code")
        );
        assert_eq!(
            field_of(&at("invalid_enrollment_code", "enrollment_code")),
            Some("code")
        );
        for (code, field) in [
            ("percent_out_of_range", "percent"),
            ("amount_not_positive", "amount"),
            ("discount_kind", "discount"),
        ] {
            assert_eq!(field_of(&at(code, field)), Some("value"), "{code}");
        }
        assert_eq!(field_of(&err("store_error", "disk full")), None);
        // The message is never read for it.
        assert_eq!(
            field_of(&err("empty", "Conference name must not be empty")),
            None
        );
    }

    #[test]
    fn an_error_no_input_of_the_form_shows_goes_above_it() {
        let seat_form = ["name", "description", "price", "quantity"];
        assert!(!shows_above(&at("price_out_of_range", "price"), &seat_form));
        assert!(shows_above(
            &at("seat_type_not_found", "seat_type"),
            &seat_form
        ));
        assert!(shows_above(&err("store_error", "disk full"), &seat_form));
        assert!(shows_above(&at("email", "email"), &[]));
    }
    fn cart() -> Cart {
        Cart::default().reduce(CartAction::Offer(vec!["Full".into(), "Student".into()]))
    }

    #[test]
    fn quantities_go_up_and_down_but_not_below_zero() {
        let c = cart()
            .reduce(CartAction::Increment("Full".into()))
            .reduce(CartAction::Increment("Full".into()))
            .reduce(CartAction::Decrement("Student".into()));
        assert_eq!(c.quantity("Full"), 2);
        assert_eq!(c.quantity("Student"), 0);
        assert_eq!(c.seat_count(), 2);
        let c = c.reduce(CartAction::SetQuantity("Student".into(), 3));
        assert_eq!(c.picks().len(), 2);
        let c = c.reduce(CartAction::Offer(vec!["Student".into(), "Speaker".into()]));
        assert_eq!(
            c.quantities,
            vec![("Student".into(), 3), ("Speaker".into(), 0)]
        );
    }

    #[test]
    fn promo_codes_apply_once_in_capitals() {
        let c = cart()
            .reduce(CartAction::TypePromo(" early ".into()))
            .reduce(CartAction::ApplyPromo)
            .reduce(CartAction::TypePromo("EARLY".into()))
            .reduce(CartAction::ApplyPromo);
        assert_eq!(c.promo_codes, vec!["EARLY".to_string()]);
        assert!(c.promo_text.is_empty());
        let c = c.reduce(CartAction::RemovePromo("EARLY".into()));
        assert!(c.promo_codes.is_empty());
    }

    #[test]
    fn a_sale_carries_payment_only_when_it_costs_money() {
        let c = cart()
            .reduce(CartAction::Increment("Full".into()))
            .reduce(CartAction::Set(CartField::Tendered, "150,00".into()))
            .reduce(CartAction::Set(
                CartField::Reference,
                "ignored for cash".into(),
            ));
        let sale = c.sale("devconf", false);
        assert_eq!(sale.registrant, None);
        let payment = sale.payment.unwrap();
        assert_eq!(payment.method, "cash");
        assert_eq!(payment.tendered, "150.00");
        assert_eq!(payment.reference, "");
        let free = c
            .clone()
            .reduce(CartAction::Set(CartField::Email, "ada@example.com".into()))
            .sale("devconf", true);
        assert_eq!(free.payment, None);
        assert_eq!(free.registrant.unwrap().email, "ada@example.com");
        let card = c
            .reduce(CartAction::Method(Method::Card))
            .reduce(CartAction::Set(CartField::Reference, " T-1 ".into()))
            .sale("devconf", false)
            .payment
            .unwrap();
        assert_eq!(
            (
                card.method.as_str(),
                card.reference.as_str(),
                card.tendered.as_str()
            ),
            ("card", "T-1", "")
        );
    }

    #[test]
    fn clearing_keeps_the_seat_types() {
        let c = cart()
            .reduce(CartAction::Increment("Full".into()))
            .reduce(CartAction::Set(CartField::FirstName, "Ada".into()))
            .reduce(CartAction::Clear);
        assert_eq!(c, cart());
    }

    #[test]
    fn shortages_say_what_the_sale_takes() {
        assert_eq!(
            shortage_text("Student", 3, 2),
            "Only 2 of the 3 Student seats are left; the sale takes 2"
        );
        assert!(shortage_text("Student", 3, 0).starts_with("No Student seats"));
    }

    #[test]
    fn cards_say_when_to_ask_for_an_allotment() {
        assert_eq!(availability(None, 7).text, "7 left");
        let pool_empty = availability(None, 0);
        assert!(pool_empty.sold_out && !pool_empty.needs_allotment);
        assert_eq!(pool_empty.text, "Sold out");
        let mine_empty = availability(Some(0), 12);
        assert!(mine_empty.sold_out && mine_empty.needs_allotment);
        assert!(mine_empty.text.contains("request an allotment in Settings"));
        assert_eq!(availability(Some(3), 12).text, "3 left");
        assert_eq!(availability(Some(0), 0).text, "Sold out");
        assert_eq!(availability(Some(-1), 0).text, "Sold out");
    }

    #[test]
    fn devices_and_queue_items_read_as_words() {
        assert_eq!(device_label("0192f0c4-aaaa", true), "This device");
        assert_eq!(device_label("0192f0c4-aaaa", false), "Device 0192f0c4");
        assert_eq!(device_label("abc", false), "Device abc");
        assert_eq!(
            reconciliation_title("promo_overuse"),
            "Promo code used past its limit"
        );
        assert_eq!(reconciliation_title("new_kind"), "new kind");
        assert_eq!(sum_money(&["120.00", "40.5", "-10.00"]), "150.50");
        assert_eq!(sum_money(&[]), "0.00");
    }

    #[test]
    fn chart_tops_are_nice_numbers() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(200), 200);
        assert_eq!(nice_ceiling(201), 500);
        assert_eq!(nice_ceiling(u32::MAX), u32::MAX);
    }

    #[test]
    fn bars_scale_to_the_top_line_and_sit_on_the_baseline() {
        let values = vec![
            ("09:00".to_string(), 2),
            ("09:01".into(), 0),
            ("09:02".into(), 8),
        ];
        let c = chart(&values, 636.0, 200.0);
        assert_eq!(c.max, 10);
        assert_eq!(c.bars.len(), 3);
        for bar in &c.bars {
            assert!((bar.y + bar.height - c.baseline).abs() < 1e-9);
            assert!(bar.x >= 36.0 && bar.x + bar.width <= c.width);
        }
        let full = c.baseline - c.top;
        assert!((c.bars[2].height - full * 0.8).abs() < 1e-9);
        assert_eq!(c.bars[1].height, 0.0);
        assert_eq!(c.ticks.first().map(|t| t.1.as_str()), Some("0"));
        assert_eq!(c.ticks.last().map(|t| t.1.as_str()), Some("10"));
        assert!((c.ticks.last().unwrap().0 - c.top).abs() < 1e-9);
        // 200 px per bar: every bar gets its label; 24 narrow bars share them.
        assert_eq!(c.label_every, 1);
        // One bucket is one bar of at most 56 px, centred in the plot.
        let one = chart(&[("09:00".into(), 3)], 636.0, 200.0);
        assert_eq!(one.bars[0].width, 56.0);
        assert!((one.bars[0].x + 28.0 - (36.0 + 300.0)).abs() < 1e-9);
        let many: Vec<(String, u32)> = (0..24).map(|i| (i.to_string(), 1)).collect();
        assert!(chart(&many, 636.0, 200.0).label_every > 1);
        assert!(chart(&[], 636.0, 200.0).bars.is_empty());
    }

    #[test]
    fn bucket_labels_show_the_time_or_the_day() {
        assert_eq!(bucket_label("2026-12-01T09:15:00Z", 15), "09:15");
        assert_eq!(bucket_label("2026-12-01T00:00:00Z", 1440), "2026-12-01");
    }

    #[test]
    fn allotment_picks_are_whole_numbers() {
        let p = Picks::default()
            .offer(&["Full".into(), "Student".into()])
            .with("Full", " 5 ".into());
        assert_eq!(p.typed("Full"), " 5 ");
        assert_eq!(
            p.seats().unwrap(),
            vec![SeatPick {
                name: "Full".into(),
                quantity: 5
            }]
        );
        let kept = p.offer(&["Student".into(), "Full".into()]);
        assert_eq!(kept.typed("Full"), " 5 ");
        assert!(
            p.with("Student", "many".into())
                .seats()
                .unwrap_err()
                .contains("not a number of Student seats")
        );
        assert!(Picks::default().offer(&["Full".into()]).seats().is_err());
    }

    #[test]
    fn times_and_qr_codes() {
        assert_eq!(short_time("2026-11-27T10:00:00.123Z"), "2026-11-27 10:00");
        let svg = qr_svg("K7M2PX").unwrap();
        assert!(svg.contains("<svg"));
    }
}
