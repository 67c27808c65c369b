//! Explicit error codes. Every domain error says which stable snake-case code it has and,
//! when it is about one input, which input, in neutral terms (`email`, `quantity`,
//! `promo_code`), so an adapter marks the field without reading the message.
//!
//! Codes are a public API (the CLI's JSON, the sync server's answers, stored rejections):
//! each is written out per variant, never derived from a type's name, and
//! `docs/error-codes.md` lists every one (a test in `conference-exec` compares them, and
//! `cargo xtask tidy` checks every code literal in the source against that list).

/// A domain error's stable code and the input it is about.
pub trait ErrorCode {
    /// The stable snake-case code, like `order_expired`.
    fn code(&self) -> &'static str;

    /// The input the error is about, when it is about one: `email`, `slug`, `start`,
    /// `end`, `name`, `quantity`, `price`, `promo_code`, `tendered`, ….
    fn field(&self) -> Option<&'static str> {
        None
    }
}
