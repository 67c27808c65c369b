//! The domain's one integration-test binary: given/when/then tables for every aggregate and
//! the registration process, pricing, property tests and frozen upcaster fixtures.
mod arb;
mod support;

mod assignments;
mod conference;
mod discounts;
mod error_codes;
mod flow;
mod limits;
mod order;
mod payment;
mod pricing;
mod process;
mod properties;
mod round_trip;
mod seats;
mod upcast;
