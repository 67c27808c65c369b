//! Text for people: short summaries and aligned tables.
use conference_protocol as p;
use std::fmt::Write;

/// Left-aligned columns separated by two spaces.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| (*h).to_string()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

pub fn device(d: &p::DeviceView) -> String {
    format!(
        "Store ready: {}\nDevice: {} ({})\nSeat pool: {}\n",
        d.store,
        d.name,
        d.device_id,
        if d.owns_pool {
            "owned by this device (standalone box office)"
        } else {
            "from the sync server"
        }
    )
}

pub fn conference(c: &p::ConferenceView) -> String {
    let mut out = format!(
        "{} ({}) — {}\n{} to {}{}\nOwner: {} <{}>  Currency: {}\n",
        c.name,
        c.slug,
        c.publication,
        c.start,
        c.end,
        if c.location.is_empty() {
            String::new()
        } else {
            format!(" at {}", c.location)
        },
        c.owner_name,
        c.owner_email,
        c.currency
    );
    if !c.seat_types.is_empty() {
        out.push('\n');
        let rows: Vec<_> = c
            .seat_types
            .iter()
            .map(|s| vec![s.name.clone(), s.price.clone(), s.quantity.to_string()])
            .collect();
        out.push_str(&table(&["seat type", "price", "quantity"], &rows));
    }
    if !c.promo_codes.is_empty() {
        out.push('\n');
        let rows: Vec<_> = c
            .promo_codes
            .iter()
            .map(|p| {
                vec![
                    p.code.clone(),
                    if p.kind == "percent" {
                        format!("{}%", p.value)
                    } else {
                        format!("{} off", p.value)
                    },
                    if p.scope.is_empty() {
                        "all".into()
                    } else {
                        p.scope.join(", ")
                    },
                    p.max_uses
                        .map_or("unlimited".into(), |m| format!("{} of {m}", p.redeemed)),
                    if p.exclusive {
                        "exclusive".into()
                    } else {
                        "combinable".into()
                    },
                ]
            })
            .collect();
        out.push_str(&table(
            &["promo code", "discount", "scope", "used", "combine"],
            &rows,
        ));
    }
    out
}

pub fn conferences(list: &[p::ConferenceView]) -> String {
    if list.is_empty() {
        return "No conferences yet. Create one with `conference conference create --help`.\n"
            .into();
    }
    let rows: Vec<_> = list
        .iter()
        .map(|c| {
            vec![
                c.slug.clone(),
                c.name.clone(),
                c.start.clone(),
                c.publication.clone(),
            ]
        })
        .collect();
    table(&["slug", "name", "start", "status"], &rows)
}

pub fn seats(s: &p::SeatsView) -> String {
    let with_allotment = s.seat_types.iter().any(|t| t.allotment_remaining.is_some());
    let mut header = vec!["name", "price", "quantity", "reserved", "sold", "remaining"];
    if with_allotment {
        header.push("my allotment");
    }
    let rows: Vec<_> = s
        .seat_types
        .iter()
        .map(|t| {
            let mut row = vec![
                t.name.clone(),
                t.price.clone(),
                t.quantity.to_string(),
                t.reserved.to_string(),
                t.sold.to_string(),
                t.remaining.max(0).to_string(),
            ];
            if with_allotment {
                row.push(t.allotment_remaining.map_or("-".into(), |a| a.to_string()));
            }
            row
        })
        .collect();
    if rows.is_empty() {
        return format!("{} has no seat types yet.\n", s.conference);
    }
    table(&header, &rows)
}

pub fn order(o: &p::OrderView) -> String {
    let mut out = format!(
        "Order {}  access code {}\nConference: {}  Status: {}\n",
        o.id, o.access_code, o.conference, o.status
    );
    let partial = o.seats.iter().any(|s| s.reserved < s.requested);
    if partial && o.status != "pending_reservation" {
        out.push_str(
            "Could not reserve all the requested seats; the order holds what was available.\n",
        );
    }
    out.push('\n');
    let rows: Vec<_> = o
        .seats
        .iter()
        .map(|s| {
            vec![
                s.seat_type.clone(),
                s.requested.to_string(),
                s.reserved.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(&["seat type", "requested", "reserved"], &rows));
    if !o.lines.is_empty() {
        out.push('\n');
        let mut rows: Vec<_> = o
            .lines
            .iter()
            .map(|l| {
                vec![
                    l.description.clone(),
                    l.quantity.to_string(),
                    l.unit_price.clone(),
                    l.total.clone(),
                ]
            })
            .collect();
        rows.push(vec![
            "Total".into(),
            String::new(),
            String::new(),
            format!("{} {}", o.total, o.currency),
        ]);
        out.push_str(&table(&["line", "qty", "unit price", "total"], &rows));
    }
    if o.is_free_of_charge
        && o.status != "confirmed"
        && o.status != "expired"
        && o.status != "cancelled"
    {
        out.push_str(
            "\nThis order is free: confirm it with `order confirm` (no payment needed).\n",
        );
    }
    if let Some(r) = &o.registrant {
        let _ = writeln!(
            out,
            "\nRegistrant: {} {} <{}>",
            r.first_name, r.last_name, r.email
        );
    }
    if let Some(pay) = &o.payment {
        let _ = write!(out, "Payment: {} {} {}", pay.method, pay.status, pay.amount);
        if let (Some(t), Some(c)) = (&pay.tendered, &pay.change) {
            let _ = write!(out, " (tendered {t}, change {c})");
        }
        if let Some(r) = &pay.reference {
            let _ = write!(out, " ref {r}");
        }
        out.push('\n');
    }
    if !o.assignments.is_empty() {
        out.push('\n');
        let rows: Vec<_> = o
            .assignments
            .iter()
            .map(|a| {
                vec![
                    a.position.to_string(),
                    a.seat_type.clone(),
                    a.attendee.as_ref().map_or("(unassigned)".into(), |p| {
                        format!("{} {} <{}>", p.first_name, p.last_name, p.email)
                    }),
                ]
            })
            .collect();
        out.push_str(&table(&["position", "seat type", "attendee"], &rows));
    }
    if matches!(o.status.as_str(), "reserved" | "partially_reserved") {
        let _ = writeln!(out, "\nReserved until {}.", o.reservation_expires_at);
    }
    out
}

pub fn orders(list: &[p::OrderSummary]) -> String {
    if list.is_empty() {
        return "No orders yet.\n".into();
    }
    let rows: Vec<_> = list
        .iter()
        .map(|o| {
            vec![
                o.id.to_string(),
                o.access_code.clone(),
                o.conference.clone(),
                o.status.clone(),
                o.seats.to_string(),
                format!("{} {}", o.total, o.currency),
                o.payment_method.clone().unwrap_or_else(|| "-".into()),
                o.registrant_email.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &[
            "id",
            "code",
            "conference",
            "status",
            "seats",
            "total",
            "paid by",
            "registrant",
        ],
        &rows,
    )
}

pub fn sync_report(r: &conference_app::sync::SyncReport) -> String {
    let mut out = format!(
        "Pushed {} command(s): {} applied, {} rebased, {} rejected. Pulled {} event(s); now at position {}.\n",
        r.pushed, r.applied, r.rebased, r.rejected, r.pulled, r.position
    );
    for x in &r.rejections {
        let _ = writeln!(
            out,
            "Rejected by the server: {} ({}): {}",
            x.command_type, x.code, x.message
        );
    }
    out
}

pub fn allotment(
    granted: &conference_protocol::sync::AllotmentResponse,
    seats: &p::SeatsView,
    report: &conference_app::sync::SyncReport,
) -> String {
    let total: u32 = granted.seats.iter().map(|s| s.quantity).sum();
    format!(
        "The pool granted {total} seat(s) to this device.\n{}{}",
        self::seats(seats),
        sync_report(report)
    )
}

pub fn status(s: &conference_app::sync::StatusView) -> String {
    let mut out = format!(
        "Device: {} ({})\nServer: {}\nPending commands: {}\nLast sync: {}\n",
        s.device.name,
        s.device.device_id,
        s.server_url
            .as_deref()
            .unwrap_or("none (standalone box office)"),
        s.pending_commands,
        s.last_sync_at.as_deref().unwrap_or("never"),
    );
    if let Some(e) = &s.last_error {
        let _ = writeln!(out, "Last sync failed: {e}");
    }
    if !s.allotments.is_empty() {
        out.push('\n');
        let rows: Vec<_> = s
            .allotments
            .iter()
            .map(|a| {
                vec![
                    a.conference.clone(),
                    a.seat_type.clone(),
                    a.remaining.to_string(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["conference", "seat type", "allotment left"],
            &rows,
        ));
    }
    if !s.rejections.is_empty() {
        out.push('\n');
        for x in &s.rejections {
            let _ = writeln!(
                out,
                "Rejected by the server: {} ({}): {}",
                x.command_type, x.code, x.message
            );
        }
    }
    if !s.set_aside.is_empty() {
        let _ = writeln!(
            out,
            "\n{} event(s) from the sync server are kept but not shown; sync goes on (tell the server's admin):",
            s.set_aside.len()
        );
        for x in &s.set_aside {
            let _ = writeln!(
                out,
                "  position {}: {} on {}: {}",
                x.server_position,
                x.event_type,
                x.stream,
                printable(&x.reason)
            );
        }
    }
    out
}

/// Text from elsewhere (a server's event) with its control characters left out, so it
/// cannot move the cursor or recolour the terminal.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

pub fn reconciliation(items: &[conference_protocol::sync::ReconciliationItem]) -> String {
    if items.is_empty() {
        return "Nothing to reconcile.\n".into();
    }
    let rows: Vec<_> = items
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.kind.clone(),
                i.device_id.to_string(),
                i.created_at.clone(),
                i.detail.to_string(),
            ]
        })
        .collect();
    table(&["id", "kind", "device", "when", "detail"], &rows)
}
