//! The tests' clock: fixed readings, so that what a test writes does not depend on when it
//! runs. `minute(n)` steps from one start, 2026-11-27 10:00 UTC.
use chrono::{DateTime, Utc};
use conference_app::Ctx;

/// The time an RFC 3339 text names.
#[must_use]
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

/// A clock reading for tests: 2026-11-27 10:00 UTC plus `minutes`.
#[must_use]
pub fn minute(minutes: i64) -> DateTime<Utc> {
    at("2026-11-27T10:00:00Z") + chrono::Duration::minutes(minutes)
}

/// A command context (a fresh command id) at [`minute`]`(minutes)`.
#[must_use]
pub fn ctx(minutes: i64) -> Ctx {
    Ctx::new(minute(minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_step_from_one_start_and_contexts_get_fresh_ids() {
        assert_eq!(minute(0), at("2026-11-27T10:00:00Z"));
        assert_eq!(minute(90), at("2026-11-27T11:30:00Z"));
        let (a, b) = (ctx(1), ctx(1));
        assert_eq!(a.now, b.now);
        assert_ne!(a.command_id, b.command_id);
    }
}
