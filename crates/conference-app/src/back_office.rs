//! The back office's queries: every device's orders of a conference as this store has them
//! after sync, the cash-drawer check (totals per device and per payment method), sales over
//! time, and the server's reconciliation queue with what this store knows about each item.
//!
//! Only confirmed orders count towards totals: a cancelled order was refunded and an
//! expired or unpaid one took no money.
use crate::sync::Transport;
use crate::{App, Result};
use chrono::{DateTime, Duration, DurationRound, Utc};
use conference_protocol::OrderSummary;
use conference_protocol::sync::ReconciliationItem;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use uuid::Uuid;

/// What one device took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTotals {
    pub device_id: Uuid,
    /// The device this store belongs to.
    pub this_device: bool,
    /// Confirmed orders.
    pub orders: u32,
    pub seats: u32,
    pub cash: String,
    pub card: String,
    pub total: String,
    /// Orders cancelled (and refunded) or expired: not in the totals.
    pub not_counted: u32,
}

/// What one payment method took (`cash`, `card`, or `free` for orders without payment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodTotals {
    pub method: String,
    pub orders: u32,
    pub total: String,
}

/// Confirmed sales placed in `[start, start + width)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesBucket {
    /// RFC 3339.
    pub start: String,
    pub orders: u32,
    pub seats: u32,
    pub amount: String,
}

/// The back office's view of one conference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackOfficeSummary {
    pub conference: String,
    pub currency: String,
    /// Every device's orders, newest first.
    pub orders: Vec<OrderSummary>,
    pub devices: Vec<DeviceTotals>,
    pub methods: Vec<MethodTotals>,
    pub total: String,
    /// Consecutive buckets from the first confirmed sale to the last (empty ones included).
    pub sales_over_time: Vec<SalesBucket>,
    pub bucket_minutes: u32,
}

/// A reconciliation item with what this store knows about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReconciliationEntry {
    pub item: ReconciliationItem,
    /// The conference's slug, when this store has the conference.
    pub conference: Option<String>,
    /// The access code of the order it is about, when this store has the order.
    pub access_code: Option<String>,
    pub this_device: bool,
}

/// Bucket widths a chart of a day's sales reads well with, smallest first.
const WIDTHS_MINUTES: [u32; 8] = [1, 5, 15, 30, 60, 180, 720, 1440];
/// At most this many buckets.
const MAX_BUCKETS: i64 = 24;

fn amount(text: &str) -> Decimal {
    Decimal::from_str(text.trim()).unwrap_or_default()
}

/// Money as the store writes it: as many decimals as the currency's amounts have.
fn money(value: Decimal, scale: u32) -> String {
    let mut value = value.round_dp(scale);
    value.rescale(scale);
    value.to_string()
}

fn scale_of(text: &str) -> u32 {
    text.split_once('.')
        .map_or(0, |(_, d)| u32::try_from(d.len()).unwrap_or(2))
}

/// Groups confirmed sales by time: the smallest width that needs at most 24 buckets.
pub(crate) fn sales_over_time(
    sales: &[(DateTime<Utc>, u32, Decimal)],
    scale: u32,
) -> (Vec<SalesBucket>, u32) {
    let (Some(first), Some(last)) = (
        sales.iter().map(|s| s.0).min(),
        sales.iter().map(|s| s.0).max(),
    ) else {
        return (Vec::new(), WIDTHS_MINUTES[0]);
    };
    let minutes = WIDTHS_MINUTES
        .iter()
        .copied()
        .find(|w| (last - first).num_minutes() / i64::from(*w) < MAX_BUCKETS)
        .unwrap_or(WIDTHS_MINUTES[WIDTHS_MINUTES.len() - 1]);
    let width = Duration::minutes(i64::from(minutes));
    let start = first.duration_trunc(width).unwrap_or(first);
    let count = usize::try_from((last - start).num_minutes() / i64::from(minutes) + 1).unwrap_or(1);
    let mut buckets: Vec<(u32, u32, Decimal)> = vec![(0, 0, Decimal::ZERO); count];
    for (at, seats, total) in sales {
        let index = usize::try_from((*at - start).num_minutes() / i64::from(minutes))
            .unwrap_or(0)
            .min(count - 1);
        let bucket = &mut buckets[index];
        bucket.0 += 1;
        bucket.1 += seats;
        bucket.2 += total;
    }
    let buckets = buckets
        .into_iter()
        .enumerate()
        .map(|(i, (orders, seats, total))| SalesBucket {
            start: (start + width * i32::try_from(i).unwrap_or(0))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            orders,
            seats,
            amount: money(total, scale),
        })
        .collect();
    (buckets, minutes)
}

impl App {
    /// Every device's orders of a conference and what they took, per device, per payment
    /// method and over time.
    pub fn back_office(&self, slug: &str) -> Result<BackOfficeSummary> {
        let conference = self.conference(slug)?;
        let me = self.device()?.device_id;
        let mut orders = self.orders(Some(slug))?;
        orders.sort_by(|a, b| b.placed_at.cmp(&a.placed_at));
        let scale = conference
            .seat_types
            .first()
            .map_or(2, |s| scale_of(&s.price))
            .max(orders.first().map_or(0, |o| scale_of(&o.total)));

        let mut devices: Vec<(Uuid, u32, u32, Decimal, Decimal, Decimal, u32)> = Vec::new();
        let mut methods: Vec<(String, u32, Decimal)> = Vec::new();
        let mut sales = Vec::new();
        let mut total = Decimal::ZERO;
        for order in &orders {
            let index = match devices.iter().position(|d| d.0 == order.device_id) {
                Some(i) => i,
                None => {
                    devices.push((
                        order.device_id,
                        0,
                        0,
                        Decimal::ZERO,
                        Decimal::ZERO,
                        Decimal::ZERO,
                        0,
                    ));
                    devices.len() - 1
                }
            };
            let device = &mut devices[index];
            if order.status != "confirmed" {
                if order.status == "cancelled" || order.status == "expired" {
                    device.6 += 1;
                }
                continue;
            }
            let value = amount(&order.total);
            device.1 += 1;
            device.2 += order.seats;
            let method = order
                .payment_method
                .clone()
                .unwrap_or_else(|| "free".into());
            match method.as_str() {
                "cash" => device.3 += value,
                "card" => device.4 += value,
                _ => {}
            }
            device.5 += value;
            total += value;
            match methods.iter_mut().find(|m| m.0 == method) {
                Some(m) => {
                    m.1 += 1;
                    m.2 += value;
                }
                None => methods.push((method, 1, value)),
            }
            if let Ok(at) = DateTime::parse_from_rfc3339(&order.placed_at) {
                sales.push((at.with_timezone(&Utc), order.seats, value));
            }
        }
        // This device first, then the others by what they took.
        devices.sort_by(|a, b| (b.0 == me).cmp(&(a.0 == me)).then(b.5.cmp(&a.5)));
        methods.sort_by(|a, b| a.0.cmp(&b.0));
        let (sales_over_time, bucket_minutes) = sales_over_time(&sales, scale);
        Ok(BackOfficeSummary {
            conference: conference.slug,
            currency: conference.currency,
            devices: devices
                .into_iter()
                .map(|d| DeviceTotals {
                    device_id: d.0,
                    this_device: d.0 == me,
                    orders: d.1,
                    seats: d.2,
                    cash: money(d.3, scale),
                    card: money(d.4, scale),
                    total: money(d.5, scale),
                    not_counted: d.6,
                })
                .collect(),
            methods: methods
                .into_iter()
                .map(|m| MethodTotals {
                    method: m.0,
                    orders: m.1,
                    total: money(m.2, scale),
                })
                .collect(),
            total: money(total, scale),
            orders,
            sales_over_time,
            bucket_minutes,
        })
    }

    /// The server's reconciliation queue, each item with the conference and order this store
    /// knows it by.
    pub fn reconciliation_queue(
        &self,
        transport: &dyn Transport,
    ) -> Result<Vec<ReconciliationEntry>> {
        let me = self.device()?.device_id;
        let conferences = self.conferences()?;
        let orders = self.orders(None)?;
        Ok(self
            .reconciliation(transport)?
            .into_iter()
            .map(|item| {
                let order_id = item
                    .detail
                    .get("order_id")
                    .and_then(|v| v.as_str())
                    .and_then(|v| Uuid::parse_str(v).ok());
                ReconciliationEntry {
                    conference: item.conference_id.and_then(|id| {
                        conferences
                            .iter()
                            .find(|c| c.id == id)
                            .map(|c| c.slug.clone())
                    }),
                    access_code: order_id.and_then(|id| {
                        orders
                            .iter()
                            .find(|o| o.id == id)
                            .map(|o| o.access_code.clone())
                    }),
                    this_device: item.device_id == me,
                    item,
                }
            })
            .collect())
    }

    /// Marks a reconciliation item resolved on the server (again is fine).
    pub fn resolve_reconciliation(
        &self,
        transport: &dyn Transport,
        id: i64,
    ) -> Result<ReconciliationItem> {
        Ok(transport.resolve_reconciliation(id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn sales_within_minutes_go_in_minute_buckets_with_the_gaps() {
        let sales = [
            (at("2026-12-01T09:00:10Z"), 2, Decimal::new(24000, 2)),
            (at("2026-12-01T09:00:50Z"), 1, Decimal::new(4000, 2)),
            (at("2026-12-01T09:02:05Z"), 1, Decimal::new(12000, 2)),
        ];
        let (buckets, minutes) = sales_over_time(&sales, 2);
        assert_eq!(minutes, 1);
        assert_eq!(buckets.len(), 3);
        assert_eq!(buckets[0].start, "2026-12-01T09:00:00Z");
        assert_eq!((buckets[0].orders, buckets[0].seats), (2, 3));
        assert_eq!(buckets[0].amount, "280.00");
        assert_eq!((buckets[1].orders, buckets[1].amount.as_str()), (0, "0.00"));
        assert_eq!(buckets[2].amount, "120.00");
    }

    #[test]
    fn a_long_day_takes_wider_buckets() {
        let sales = [
            (at("2026-12-01T08:10:00Z"), 1, Decimal::ONE),
            (at("2026-12-01T18:40:00Z"), 1, Decimal::ONE),
        ];
        let (buckets, minutes) = sales_over_time(&sales, 0);
        assert_eq!(minutes, 30);
        assert_eq!(buckets.len(), 22);
        assert_eq!(buckets[0].start, "2026-12-01T08:00:00Z");
        assert!(buckets.len() as i64 <= MAX_BUCKETS);
        assert!(sales_over_time(&[], 2).0.is_empty());
    }
}
