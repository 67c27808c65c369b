//! Orders at a real conference's size: lists of order lines, one page at a time, found by
//! the store's indexes (the newest first, or a prefix search), and the back office's totals
//! grouped in SQL. Nothing here reads every order's row: a test holds every query to an
//! index plan.
use crate::Result;
use conference_protocol as p;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

/// The columns of an order list's line, from `rm_orders o JOIN rm_conferences c`.
const SUMMARY_COLUMNS: &str = "o.id, c.slug, o.access_code, o.status, o.total, c.currency, \
     o.seat_count, o.registrant_email, o.payment_method, o.placed_at, o.device_id";

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<p::OrderSummary> {
    Ok(p::OrderSummary {
        id: r.get(0)?,
        conference: r.get(1)?,
        access_code: r.get(2)?,
        status: r.get(3)?,
        total: r.get(4)?,
        currency: r.get(5)?,
        seats: r.get(6)?,
        registrant_email: r.get(7)?,
        payment_method: r.get(8)?,
        placed_at: r.get(9)?,
        device_id: r.get(10)?,
    })
}

/// Orders, newest first; all conferences when `conference` is `None`.
pub fn orders(conn: &Connection, conference: Option<Uuid>) -> Result<Vec<p::OrderSummary>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS}
         FROM rm_orders o JOIN rm_conferences c ON c.id = o.conference_id
         WHERE ?1 IS NULL OR o.conference_id = ?1
         ORDER BY o.placed_at DESC, o.id DESC"
    ))?;
    let rows = stmt
        .query_map([conference], summary)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A search's branches: each finds the orders whose access code, email, first name or last
/// name starts with `?1` (`?2` is `?1` followed by the last character there is), ignoring
/// ASCII case, of conference `?3` or of all, the first `?4` of them in the order of its
/// key (the first column) and id: a range of one index, read in order.
const SEARCHES: [&str; 4] = [
    // Access codes are upper case.
    "SELECT lower(access_code), id FROM rm_orders
     WHERE access_code >= upper(?1) AND access_code < upper(?2)
       AND (?3 IS NULL OR conference_id = ?3)
     ORDER BY access_code, id LIMIT ?4",
    "SELECT lower(registrant_email), id FROM rm_orders
     WHERE registrant_email >= ?1 COLLATE NOCASE AND registrant_email < ?2 COLLATE NOCASE
       AND (?3 IS NULL OR conference_id = ?3)
     ORDER BY registrant_email COLLATE NOCASE, id LIMIT ?4",
    "SELECT lower(registrant_first || ' ' || registrant_last), id FROM rm_orders
     WHERE registrant_first >= ?1 COLLATE NOCASE AND registrant_first < ?2 COLLATE NOCASE
       AND (?3 IS NULL OR conference_id = ?3)
     ORDER BY registrant_first COLLATE NOCASE, registrant_last COLLATE NOCASE, id LIMIT ?4",
    "SELECT lower(registrant_last), id FROM rm_orders
     WHERE registrant_last >= ?1 COLLATE NOCASE AND registrant_last < ?2 COLLATE NOCASE
       AND (?3 IS NULL OR conference_id = ?3)
     ORDER BY registrant_last COLLATE NOCASE, id LIMIT ?4",
];

/// "first last": the first name is `?1`, the last name starts with `?2` (`?3` as above);
/// keyed like the first-name branch.
const FULL_NAME_SEARCH: &str = "SELECT lower(registrant_first || ' ' || registrant_last), id
     FROM rm_orders
     WHERE registrant_first = ?1 COLLATE NOCASE
       AND registrant_last >= ?2 COLLATE NOCASE AND registrant_last < ?3 COLLATE NOCASE
       AND (?4 IS NULL OR conference_id = ?4)
     ORDER BY registrant_first COLLATE NOCASE, registrant_last COLLATE NOCASE, id LIMIT ?5";

/// One page of orders: the newest first when the query's text is empty; otherwise the
/// orders it finds, in the order of what matched, then by id. A search compares access
/// codes, emails, first and last names by prefix ([`SEARCHES`]), "first last" as a first
/// name and the start of a last name, and an order id finds that order. Every branch reads its own index and stops
/// after the page, so a page costs about the same with 100 orders as with 100,000.
pub fn search_orders(
    conn: &Connection,
    conference: Option<Uuid>,
    text: &str,
    offset: u32,
    limit: u32,
) -> Result<p::OrderPage> {
    let text = text.trim();
    if text.is_empty() {
        return newest_orders(conn, conference, offset, limit);
    }
    let end = offset as usize + limit as usize;
    // Each branch returns the first `end + 1` of its matches.
    let wanted = i64::try_from(end + 1).unwrap_or(i64::MAX);
    let mut found: Vec<(String, Uuid)> = Vec::new();
    if let Ok(id) = Uuid::parse_str(text) {
        let hit: Option<Uuid> = conn
            .prepare_cached(
                "SELECT id FROM rm_orders WHERE id = ?1 AND (?2 IS NULL OR conference_id = ?2)",
            )?
            .query_row(params![id, conference], |r| r.get(0))
            .optional()?;
        found.extend(hit.map(|id| (String::new(), id)));
    }
    let mut branch = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<()> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        for row in rows {
            found.push(row?);
        }
        Ok(())
    };
    let upper = format!("{text}{}", char::MAX);
    for sql in SEARCHES {
        branch(sql, params![text, upper, conference, wanted])?;
    }
    if let Some((first, last)) = text.split_once(char::is_whitespace) {
        let last = last.trim();
        let upper = format!("{last}{}", char::MAX);
        branch(
            FULL_NAME_SEARCH,
            params![first, last, upper, conference, wanted],
        )?;
    }
    // The first `end + 1` of the merge, each order kept at its smallest key, are the true
    // ones: an order before them in some branch would come before them here too.
    found.sort();
    let mut seen = std::collections::HashSet::new();
    found.retain(|(_, id)| seen.insert(*id));
    let more = found.len() > end;
    let mut orders = Vec::with_capacity(limit as usize);
    for (_, id) in found.into_iter().take(end).skip(offset as usize) {
        orders.extend(order_summary(conn, id)?);
    }
    Ok(p::OrderPage {
        orders,
        offset,
        total: None,
        more,
    })
}

fn newest_orders(
    conn: &Connection,
    conference: Option<Uuid>,
    offset: u32,
    limit: u32,
) -> Result<p::OrderPage> {
    let (total, conferences): (u64, Vec<Uuid>) = match conference {
        Some(id) => (
            conn.prepare_cached(COUNT_OF_CONFERENCE)?
                .query_row([id], |r| r.get(0))?,
            vec![id],
        ),
        None => (
            conn.prepare_cached(COUNT_ALL)?
                .query_row([], |r| r.get(0))?,
            conn.prepare_cached("SELECT id FROM rm_conferences")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
        ),
    };
    // Each conference's newest from its own index, merged: a conference holds few orders
    // of another, and a store holds few conferences, so no index of its own orders every
    // order by time (one less for every sale to write).
    let end = offset as usize + limit as usize;
    let mut newest: Vec<(String, Uuid)> = Vec::new();
    for id in conferences {
        let rows = conn
            .prepare_cached(NEWEST_OF_CONFERENCE)?
            .query_map(params![id, i64::try_from(end).unwrap_or(i64::MAX)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<Vec<(String, Uuid)>, _>>()?;
        newest.extend(rows);
    }
    newest.sort_by(|a, b| b.cmp(a));
    let mut orders = Vec::with_capacity(limit as usize);
    for (_, id) in newest.into_iter().take(end).skip(offset as usize) {
        orders.extend(order_summary(conn, id)?);
    }
    Ok(p::OrderPage {
        more: u64::from(offset) + (orders.len() as u64) < total,
        orders,
        offset,
        total: Some(total),
    })
}

/// Every order, counted from the smallest index (one statement each: a `?1 IS NULL OR`
/// would read every order's row).
const COUNT_ALL: &str = "SELECT count(*) FROM rm_orders";
const COUNT_OF_CONFERENCE: &str = "SELECT count(*) FROM rm_orders WHERE conference_id = ?1";

/// The first `?2` of conference `?1`'s orders, newest first: its index read backwards.
const NEWEST_OF_CONFERENCE: &str = "SELECT placed_at, id FROM rm_orders WHERE conference_id = ?1
     ORDER BY conference_id DESC, placed_at DESC, id DESC LIMIT ?2";

fn order_summary(conn: &Connection, id: Uuid) -> Result<Option<p::OrderSummary>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS}
             FROM rm_orders o JOIN rm_conferences c ON c.id = o.conference_id
             WHERE o.id = ?1"
        ))?
        .query_row([id], summary)
        .optional()?)
}

const ORDER_GROUPS: &str = "SELECT device_id, status, payment_method, count(*), sum(seat_count),
            group_concat(total, ' ')
     FROM rm_orders WHERE conference_id = ?1
     GROUP BY device_id, status, payment_method";

/// A conference's orders grouped by device, status and payment method: how many, their
/// seats, and their totals as stored, space-separated (decimal text the caller adds up:
/// money is never summed as floats).
pub fn order_groups(conn: &Connection, conference: Uuid) -> Result<Vec<OrderGroup>> {
    Ok(conn
        .prepare_cached(ORDER_GROUPS)?
        .query_map([conference], |r| {
            Ok(OrderGroup {
                device_id: r.get(0)?,
                status: r.get(1)?,
                payment_method: r.get(2)?,
                orders: r.get(3)?,
                seats: r.get(4)?,
                totals: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Orders of one device, status and payment method (see [`order_groups`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderGroup {
    pub device_id: Uuid,
    pub status: String,
    pub payment_method: Option<String>,
    pub orders: u32,
    pub seats: u32,
    /// The orders' totals as stored, separated by spaces.
    pub totals: String,
}

const SALES_BUCKETS: &str =
    "SELECT (CAST(strftime('%s', placed_at) AS INTEGER) - ?2) / ?3 AS bucket,
            count(*), sum(seat_count), group_concat(total, ' ')
     FROM rm_orders WHERE conference_id = ?1 AND status = 'confirmed'
     GROUP BY bucket ORDER BY bucket";

/// A conference's confirmed sales in buckets of `width_seconds` from `start` (Unix
/// seconds): the bucket's number, its orders, seats and totals (as in [`OrderGroup`]).
pub fn sales_buckets(
    conn: &Connection,
    conference: Uuid,
    start: i64,
    width_seconds: i64,
) -> Result<Vec<(i64, u32, u32, String)>> {
    Ok(conn
        .prepare_cached(SALES_BUCKETS)?
        .query_map(params![conference, start, width_seconds], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?)
}

/// The first and last time a confirmed order of the conference was placed (RFC 3339).
pub fn sales_span(conn: &Connection, conference: Uuid) -> Result<Option<(String, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT min(placed_at), max(placed_at) FROM rm_orders
             WHERE conference_id = ?1 AND status = 'confirmed'",
        )?
        .query_row([conference], |r| {
            Ok(r.get::<_, Option<String>>(0)?
                .zip(r.get::<_, Option<String>>(1)?))
        })?)
}

/// The access code of an order this store has.
pub fn access_code(conn: &Connection, order: Uuid) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT access_code FROM rm_orders WHERE id = ?1")?
        .query_row([order], |r| r.get(0))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SQLite plans for `sql`, one step per line.
    fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan");
        let count = stmt.parameter_count();
        let nulls: Vec<Option<String>> = vec![None; count];
        stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .expect("plan rows")
            .collect::<Result<Vec<_>, _>>()
            .expect("plan rows")
            .join("\n")
    }

    /// Every search and every back-office total reads an index, never the whole table, and
    /// the pages come in index order (no sort of every match), so their cost does not grow
    /// with the number of orders.
    #[test]
    fn searches_and_totals_read_indexes_not_every_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::Store::open(dir.path().join("store.db")).expect("store");
        let conn = store.reader();
        let mut checked = vec![
            (FULL_NAME_SEARCH.to_string(), "rm_orders_by_name"),
            (NEWEST_OF_CONFERENCE.to_string(), "rm_orders_by_conference"),
            (ORDER_GROUPS.to_string(), "rm_orders_by_conference"),
            (SALES_BUCKETS.to_string(), "rm_orders_by_conference"),
        ];
        let indexes = [
            "rm_orders_by_access_code",
            "rm_orders_by_email",
            "rm_orders_by_name",
            "rm_orders_by_last",
        ];
        for (sql, index) in SEARCHES.iter().zip(indexes) {
            checked.push(((*sql).to_string(), index));
        }
        for (sql, index) in checked {
            let plan = plan(conn, &sql);
            assert!(plan.contains(index), "{sql}\nplans\n{plan}");
            assert!(
                !plan
                    .lines()
                    .any(|l| l.starts_with("SCAN") && !l.contains("INDEX")),
                "{sql}\nreads every row:\n{plan}"
            );
        }
        let mut ordered = vec![
            FULL_NAME_SEARCH.to_string(),
            NEWEST_OF_CONFERENCE.to_string(),
        ];
        ordered.extend(SEARCHES.iter().map(|s| (*s).to_string()));
        for sql in ordered {
            let plan = plan(conn, &sql);
            assert!(
                !plan.contains("ORDER BY"),
                "{sql}\nsorts every match:\n{plan}"
            );
        }
        // The totals and the counts read only an index, not the orders' rows.
        for sql in [
            ORDER_GROUPS,
            SALES_BUCKETS,
            COUNT_ALL,
            COUNT_OF_CONFERENCE,
            NEWEST_OF_CONFERENCE,
        ] {
            let plan = plan(conn, sql);
            assert!(
                plan.contains("COVERING INDEX"),
                "{sql}\nreads rows:\n{plan}"
            );
        }
    }
}
