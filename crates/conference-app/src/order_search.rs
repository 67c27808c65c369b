//! Finding orders at a real conference's size: one page at a time, searched by the store's
//! indexes (see `conference_store::queries::search_orders`), never every order at once.
use crate::{App, Result};
use conference_protocol::{OrderPage, OrderQuery};
use conference_store::queries;

impl App {
    /// One page of orders: the newest first, or those the query's text finds by the prefix
    /// of an access code, email, first or last name ("first last"), or by an order id.
    pub fn search_orders(&self, query: &OrderQuery) -> Result<OrderPage> {
        let conference = query
            .conference
            .as_deref()
            .filter(|slug| !slug.trim().is_empty())
            .map(|slug| self.conference_id(slug))
            .transpose()?;
        Ok(queries::search_orders(
            self.store().reader(),
            conference.map(|c| c.as_uuid()),
            &query.text,
            query.offset,
            query.page_size(),
        )?)
    }
}
