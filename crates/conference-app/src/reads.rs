//! Queries over the read models: conferences, seats left, orders, the CSV export, and
//! rebuilding read models from the log.
use crate::export;
use crate::{App, AppError, Result};
use conference_domain::OrderId;
use conference_protocol as p;
use conference_store::queries;

impl App {
    pub fn conferences(&self) -> Result<Vec<p::ConferenceView>> {
        Ok(queries::conferences(self.store.reader())?)
    }

    pub fn conference(&self, slug: &str) -> Result<p::ConferenceView> {
        self.conference_view(self.conference_id(slug)?)
    }

    /// Remaining seats per seat type: what every selling screen shows.
    pub fn seats(&self, slug: &str) -> Result<p::SeatsView> {
        let id = self.conference_id(slug)?;
        let device = self
            .store
            .device()?
            .filter(|d| !d.owns_pool)
            .map(|d| d.device_id.as_uuid());
        let mut view =
            queries::seats(self.store.reader(), id.as_uuid(), device)?.ok_or_else(|| {
                AppError::not_found("unknown_conference", "The conference does not exist")
            })?;
        if device.is_some() {
            // A device that sells from an allotment has one, even if it is still empty.
            for row in &mut view.seat_types {
                row.allotment_remaining.get_or_insert(0);
            }
        }
        Ok(view)
    }

    pub fn order(&self, id: OrderId) -> Result<p::OrderView> {
        queries::order(self.store.reader(), id.as_uuid())?.ok_or_else(|| {
            AppError::not_found(
                "unknown_order",
                format!("No order has the id {id}; `orders` lists them"),
            )
        })
    }

    pub fn order_by_text(&self, id: &str) -> Result<p::OrderView> {
        self.order(self.order_id(id)?)
    }

    pub fn find_order(&self, email: &str, access_code: &str) -> Result<p::OrderView> {
        let id = queries::find_order(self.store.reader(), email, access_code)?.ok_or_else(|| {
            AppError::not_found(
                "order_not_found",
                "No order has that email and access code; check both (access codes are 6 characters, like K7M2PX)",
            )
        })?;
        self.order(OrderId::from_uuid(id))
    }

    pub fn orders(&self, slug: Option<&str>) -> Result<Vec<p::OrderSummary>> {
        let conference = slug.map(|s| self.conference_id(s)).transpose()?;
        Ok(queries::orders(
            self.store.reader(),
            conference.map(|c| c.as_uuid()),
        )?)
    }

    /// Every order of a conference as CSV, one row per order line.
    pub fn export_orders_csv(&self, slug: &str) -> Result<String> {
        self.export_orders_csv_with(slug, &mut |_, _| {})
    }

    /// [`App::export_orders_csv`], telling `progress` (orders read, orders in all) as it goes.
    pub fn export_orders_csv_with(
        &self,
        slug: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<String> {
        let id = self.conference_id(slug)?;
        let orders = queries::orders_full_with(self.store.reader(), id.as_uuid(), progress)?;
        Ok(export::orders_csv(&orders))
    }

    /// Rebuilds every read model from the log.
    pub fn rebuild(&mut self, progress: impl FnMut(u64, u64)) -> Result<u64> {
        Ok(self.store.rebuild_read_models(progress)?)
    }

    /// Rebuilds one read model by name (`conferences`, `seats`, `promos`, `orders`).
    pub fn rebuild_one(&mut self, name: &str, progress: impl FnMut(u64, u64)) -> Result<u64> {
        let model = conference_store::ReadModel::parse(name).ok_or_else(|| {
            AppError::invalid(
                "unknown_read_model",
                format!(
                    "There is no read model `{name}`; rebuild one of {}, or all with no name",
                    conference_store::ReadModel::ALL
                        .iter()
                        .map(|m| format!("`{}`", m.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        Ok(self.store.rebuild_read_model(model, progress)?)
    }
}
