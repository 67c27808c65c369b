//! The back office's queries: every device's orders of a conference as this store has them
//! after sync, the cash-drawer check (totals per device and per payment method), sales over
//! time, and the server's reconciliation queue with what this store knows about each item.
//!
//! Only confirmed orders count towards totals: a cancelled order was refunded and an
//! expired or unpaid one took no money.
use crate::sync::Transport;
use crate::{App, Result};
use chrono::{DateTime, Duration, DurationRound, Utc};
use conference_domain::Currency;
use conference_protocol::sync::ReconciliationItem;
use conference_protocol::{BackOfficeSummary, DeviceTotals, MethodTotals, SalesBucket};
use conference_store::queries;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use uuid::Uuid;

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

/// The sum of totals as the store keeps them, space-separated decimal text.
fn sum(totals: &str) -> Decimal {
    totals.split_whitespace().map(amount).sum()
}

/// How to chart confirmed sales from `first` to `last`: the smallest bucket width (in
/// minutes) that needs at most 24 buckets, the first bucket's start and how many buckets.
fn buckets_for(first: DateTime<Utc>, last: DateTime<Utc>) -> (u32, DateTime<Utc>, usize) {
    let minutes = WIDTHS_MINUTES
        .iter()
        .copied()
        .find(|w| (last - first).num_minutes() / i64::from(*w) < MAX_BUCKETS)
        .unwrap_or(WIDTHS_MINUTES[WIDTHS_MINUTES.len() - 1]);
    let width = Duration::minutes(i64::from(minutes));
    let start = first.duration_trunc(width).unwrap_or(first);
    let count = usize::try_from((last - start).num_minutes() / i64::from(minutes) + 1).unwrap_or(1);
    (minutes, start, count)
}

/// Consecutive buckets from `start`, `minutes` wide, the empty ones included, from the sums
/// of the buckets that had sales: (bucket number, orders, seats, amount).
fn fill_buckets(
    start: DateTime<Utc>,
    minutes: u32,
    count: usize,
    sums: &[(i64, u32, u32, Decimal)],
    scale: u32,
) -> Vec<SalesBucket> {
    let width = Duration::minutes(i64::from(minutes));
    let mut buckets: Vec<(u32, u32, Decimal)> = vec![(0, 0, Decimal::ZERO); count];
    for (number, orders, seats, amount) in sums {
        let index = usize::try_from(*number).unwrap_or(0).min(count - 1);
        let bucket = &mut buckets[index];
        bucket.0 += orders;
        bucket.1 += seats;
        bucket.2 += amount;
    }
    buckets
        .into_iter()
        .enumerate()
        .map(|(i, (orders, seats, total))| SalesBucket {
            start: (start + width * i32::try_from(i).unwrap_or(0))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            orders,
            seats,
            amount: money(total, scale),
        })
        .collect()
}

fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl App {
    /// What every device took for a conference, per device, per payment method and over
    /// time (its orders come a page at a time from `search_orders`). The store groups the orders
    /// (one read of an index, however many orders there are); amounts are added up here as
    /// decimals.
    pub fn back_office(&self, slug: &str) -> Result<BackOfficeSummary> {
        let conference = self.conference(slug)?;
        let me = self.device()?.device_id;
        let conn = self.store.reader();
        let groups = queries::order_groups(conn, conference.id)?;
        // Totals are written with the currency's minor unit (or a price's, if it has more).
        let scale = conference
            .seat_types
            .first()
            .map_or(2, |s| scale_of(&s.price))
            .max(Currency::parse(&conference.currency).map_or(2, |c| c.minor_units()));

        let mut devices: Vec<(Uuid, u32, u32, Decimal, Decimal, Decimal, u32)> = Vec::new();
        let mut methods: Vec<(String, u32, Decimal)> = Vec::new();
        let mut total = Decimal::ZERO;
        for group in &groups {
            let index = match devices.iter().position(|d| d.0 == group.device_id) {
                Some(i) => i,
                None => {
                    devices.push((
                        group.device_id,
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
            if group.status != "confirmed" {
                if group.status == "cancelled" || group.status == "expired" {
                    device.6 += group.orders;
                }
                continue;
            }
            let value = sum(&group.totals);
            device.1 += group.orders;
            device.2 += group.seats;
            let method = group
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
                    m.1 += group.orders;
                    m.2 += value;
                }
                None => methods.push((method, group.orders, value)),
            }
        }
        // This device first, then the others by what they took.
        devices.sort_by(|a, b| (b.0 == me).cmp(&(a.0 == me)).then(b.5.cmp(&a.5)));
        methods.sort_by(|a, b| a.0.cmp(&b.0));
        let (sales_over_time, bucket_minutes) = match queries::sales_span(conn, conference.id)?
            .and_then(|(first, last)| time(&first).zip(time(&last)))
        {
            None => (Vec::new(), WIDTHS_MINUTES[0]),
            Some((first, last)) => {
                let (minutes, start, count) = buckets_for(first, last);
                let sums: Vec<_> = queries::sales_buckets(
                    conn,
                    conference.id,
                    start.timestamp(),
                    i64::from(minutes) * 60,
                )?
                .into_iter()
                .map(|(number, orders, seats, totals)| (number, orders, seats, sum(&totals)))
                .collect();
                (fill_buckets(start, minutes, count, &sums, scale), minutes)
            }
        };
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
        let conn = self.store.reader();
        let mut entries = Vec::new();
        for item in self.reconciliation(transport)? {
            let order_id = item
                .detail
                .get("order_id")
                .and_then(|v| v.as_str())
                .and_then(|v| Uuid::parse_str(v).ok());
            let access_code = match order_id {
                Some(id) => queries::access_code(conn, id)?,
                None => None,
            };
            entries.push(ReconciliationEntry {
                conference: item.conference_id.and_then(|id| {
                    conferences
                        .iter()
                        .find(|c| c.id == id)
                        .map(|c| c.slug.clone())
                }),
                access_code,
                this_device: item.device_id == me,
                item,
            });
        }
        Ok(entries)
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
        let (minutes, start, count) =
            buckets_for(at("2026-12-01T09:00:10Z"), at("2026-12-01T09:02:05Z"));
        assert_eq!((minutes, count), (1, 3));
        assert_eq!(start, at("2026-12-01T09:00:00Z"));
        let sums = [
            (0, 2, 3, Decimal::new(28000, 2)),
            (2, 1, 1, Decimal::new(12000, 2)),
        ];
        let buckets = fill_buckets(start, minutes, count, &sums, 2);
        assert_eq!(buckets.len(), 3);
        assert_eq!(buckets[0].start, "2026-12-01T09:00:00Z");
        assert_eq!((buckets[0].orders, buckets[0].seats), (2, 3));
        assert_eq!(buckets[0].amount, "280.00");
        assert_eq!((buckets[1].orders, buckets[1].amount.as_str()), (0, "0.00"));
        assert_eq!(buckets[2].start, "2026-12-01T09:02:00Z");
        assert_eq!(buckets[2].amount, "120.00");
    }

    #[test]
    fn a_long_day_takes_wider_buckets() {
        let (minutes, start, count) =
            buckets_for(at("2026-12-01T08:10:00Z"), at("2026-12-01T18:40:00Z"));
        assert_eq!(minutes, 30);
        assert_eq!(count, 22);
        assert_eq!(start, at("2026-12-01T08:00:00Z"));
        assert!(count as i64 <= MAX_BUCKETS);
        assert_eq!(fill_buckets(start, minutes, count, &[], 0).len(), 22);
    }

    #[test]
    fn stored_totals_add_up_as_decimals() {
        assert_eq!(sum("120.00 40.10 0.20"), Decimal::new(16030, 2));
        assert_eq!(sum(""), Decimal::ZERO);
    }
}
