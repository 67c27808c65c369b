//! CSV export of a conference's orders for the back office: one row per order line, so a
//! spreadsheet can sum seats, discounts and payments per device and method.
use conference_protocol::OrderView;

const HEADER: &[&str] = &[
    "order_id",
    "access_code",
    "status",
    "placed_at",
    "device_id",
    "registrant_first_name",
    "registrant_last_name",
    "registrant_email",
    "payment_method",
    "payment_status",
    "payment_reference",
    "line_kind",
    "line_description",
    "quantity",
    "unit_price",
    "line_total",
    "order_total",
    "currency",
];

/// Quotes a field when it holds a separator, a quote or a line break (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub(crate) fn orders_csv(orders: &[OrderView]) -> String {
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    for order in orders {
        let registrant = order.registrant.as_ref();
        let payment = order.payment.as_ref();
        let head = [
            order.id.to_string(),
            order.access_code.clone(),
            order.status.clone(),
            order.placed_at.clone(),
            order.device_id.to_string(),
            registrant.map(|r| r.first_name.clone()).unwrap_or_default(),
            registrant.map(|r| r.last_name.clone()).unwrap_or_default(),
            registrant.map(|r| r.email.clone()).unwrap_or_default(),
            payment.map(|p| p.method.clone()).unwrap_or_default(),
            payment.map(|p| p.status.clone()).unwrap_or_default(),
            payment
                .and_then(|p| p.reference.clone())
                .unwrap_or_default(),
        ];
        let lines: Vec<[String; 5]> = if order.lines.is_empty() {
            vec![[
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]]
        } else {
            order
                .lines
                .iter()
                .map(|l| {
                    [
                        l.kind.clone(),
                        l.description.clone(),
                        l.quantity.to_string(),
                        l.unit_price.clone(),
                        l.total.clone(),
                    ]
                })
                .collect()
        };
        for line in lines {
            let row: Vec<String> = head
                .iter()
                .chain(line.iter())
                .chain([order.total.clone(), order.currency.clone()].iter())
                .map(|f| field(f))
                .collect();
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
