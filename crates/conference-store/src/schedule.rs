//! Commands scheduled to run later (a reservation's expiry): kept by the unit that
//! schedules them until it commits, so one it drops again is never written.
use crate::{Result, ScheduledCommand, StoreError, Tx, format_time, parse_time};
use conference_domain::Timestamp;
use rusqlite::params;

impl Tx<'_> {
    /// Schedules a command to run once `due` has passed.
    pub fn schedule(
        &mut self,
        due: Timestamp,
        kind: &str,
        key: uuid::Uuid,
        payload: &serde_json::Value,
    ) -> Result<()> {
        self.scheduled
            .get_mut()
            .push((due, kind.to_string(), key, payload.to_string()));
        Ok(())
    }

    /// Writes the commands this unit scheduled and still holds.
    pub(crate) fn flush_scheduled(&self) -> Result<()> {
        for (due, kind, key, payload) in self.scheduled.borrow_mut().drain(..) {
            self.tx
                .prepare_cached("INSERT INTO scheduled_commands (due_at, kind, key, payload) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![format_time(due), kind, key, payload])?;
        }
        Ok(())
    }

    /// Drops the pending scheduled commands about `key` (they became moot): those this
    /// unit holds are never written, those of earlier units are marked done.
    pub fn cancel_scheduled(&mut self, key: uuid::Uuid) -> Result<()> {
        self.scheduled.get_mut().retain(|s| s.2 != key);
        self.tx
            .prepare_cached(
                "UPDATE scheduled_commands SET done_at = ?2 WHERE key = ?1 AND done_at IS NULL",
            )?
            .execute(params![key, format_time(self.now)])?;
        Ok(())
    }

    /// Scheduled commands due at `now` or before, oldest first, not yet done.
    pub fn due_commands(&self, now: Timestamp, limit: usize) -> Result<Vec<ScheduledCommand>> {
        self.flush_scheduled()?;
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, due_at, kind, payload FROM scheduled_commands
             WHERE done_at IS NULL AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![format_time(now), limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, due, kind, payload) = row?;
            out.push(ScheduledCommand {
                id,
                due: parse_time(&due)?,
                kind,
                payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt {
                    what: format!("scheduled command {id}"),
                    reason: e.to_string(),
                })?,
            });
        }
        Ok(out)
    }

    pub fn mark_done(&mut self, scheduled_id: i64) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE scheduled_commands SET done_at = ?2 WHERE id = ?1")?
            .execute(params![scheduled_id, format_time(self.now)])?;
        Ok(())
    }
}
