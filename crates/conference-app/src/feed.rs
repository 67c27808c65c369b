//! Following the server's live feed (`GET /v1/feed`: server-sent `head` events carrying the
//! newest global position). An online device syncs as soon as the head moves past what it
//! has pulled, so it sees other devices' sales within a second instead of on its next poll.
use crate::transport::SyncError;
use crate::{App, Result};
use conference_store::sync::ServerLink;
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

/// The server sends a keep-alive at least this often (its default is 15 s); a connection
/// silent for longer than `IDLE` is taken for dead and opened again.
const IDLE: Duration = Duration::from_secs(45);

/// An open feed: each item is the server's head position.
pub struct Feed {
    reader: BufReader<reqwest::blocking::Response>,
    server: String,
}

/// The longest line a feed may send (its events are a few dozen bytes).
const MAX_LINE: u64 = 64 * 1024;

impl Feed {
    /// Opens the feed. Refusals (a revoked token) come back as [`SyncError::Refused`].
    pub fn connect(link: &ServerLink) -> Result<Self, SyncError> {
        let client = crate::http::client(
            link,
            reqwest::blocking::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                // For a blocking response this bounds each read, so it is an idle timeout.
                .timeout(IDLE),
        )?;
        let url = format!("{}/v1/feed", link.url.trim_end_matches('/'));
        let response = client
            .get(&url)
            .bearer_auth(&link.token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .map_err(|e| crate::http::not_sent(&e))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let text = response.text().unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(conference_protocol::ErrorBody {
                code: format!("http_{status}"),
                message: text,
                field: None,
            });
            return Err(SyncError::Refused { status, body });
        }
        Ok(Self {
            reader: BufReader::new(response),
            server: link.url.clone(),
        })
    }
}

impl Iterator for Feed {
    type Item = Result<i64, SyncError>;

    /// The next head, or the error that ended the connection (`None` when the server closed
    /// it, as it does when it shuts down).
    fn next(&mut self) -> Option<Self::Item> {
        let mut event = String::new();
        loop {
            let mut bytes = Vec::new();
            match std::io::Read::take(&mut self.reader, MAX_LINE + 1).read_until(b'\n', &mut bytes)
            {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(SyncError::Unreachable(e.to_string()))),
            }
            if !bytes.ends_with(b"\n") && bytes.len() as u64 > MAX_LINE {
                return Some(Err(SyncError::Untrusted(format!(
                    "The server at {} sent a live-feed line over {} KiB; this device closed the feed. Tell the server's admin",
                    self.server,
                    MAX_LINE / 1024
                ))));
            }
            let line = String::from_utf8_lossy(&bytes);
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            if line.is_empty() {
                event.clear();
                continue;
            }
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_string();
            } else if let Some(data) = line.strip_prefix("data:")
                && event == "head"
                && let Some(head) = parse_head(data)
            {
                return Some(Ok(head));
            }
            // Anything else (keep-alive comments, unknown fields) only shows the line lives.
        }
    }
}

fn parse_head(data: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Head {
        head: i64,
    }
    serde_json::from_str::<Head>(data.trim())
        .ok()
        .map(|h| h.head)
}

/// What a following device hears from its feed listener.
enum Heard {
    Head(i64),
    Lost(String),
    /// The server refused the token: the listener has stopped.
    Refused,
}

/// Why [`App::follow`] stopped.
#[derive(Debug)]
pub enum Stopped {
    /// The caller's `on_sync` asked to stop.
    Asked,
    /// The server refused the device (a revoked or wrong token): retrying cannot help.
    Refused(crate::AppError),
}

impl App {
    /// Keeps this device in sync while it is online: syncs, then listens to the server's
    /// feed and syncs whenever the head moves past what this device has pulled, and at
    /// least every `poll` (so its own new commands go out too). A lost connection is opened
    /// again after a pause; a failed sync is reported and tried again at the next news.
    /// `now` reads the clock for each sync; `on_sync` hears each sync's outcome and
    /// returns `false` to stop.
    pub fn follow(
        &mut self,
        link: &ServerLink,
        poll: Duration,
        mut now: impl FnMut() -> conference_domain::Timestamp,
        mut on_sync: impl FnMut(&Result<crate::sync::SyncReport>) -> bool,
    ) -> Stopped {
        let transport = match crate::http::HttpTransport::new(link) {
            Ok(t) => t,
            Err(e) => return Stopped::Refused(e.into()),
        };
        let (heard, hear) = mpsc::channel();
        {
            let link = link.clone();
            std::thread::spawn(move || listen(&link, &heard));
        }
        loop {
            let outcome = self.sync(&transport, now());
            if let Err(e) = &outcome
                && e.code() == conference_protocol::sync::UNAUTHORIZED
            {
                let _ = on_sync(&outcome);
                return Stopped::Refused(e.clone());
            }
            if !on_sync(&outcome) {
                return Stopped::Asked;
            }
            let position = outcome.as_ref().map_or(i64::MIN, |r| r.position);
            // Wait for news: a head past what this device has, or the poll interval.
            loop {
                match hear.recv_timeout(poll) {
                    Ok(Heard::Head(head)) if head <= position => {}
                    Ok(Heard::Lost(reason)) => {
                        tracing::info!(%reason, "the live feed was lost; reconnecting");
                    }
                    Ok(Heard::Head(_) | Heard::Refused) | Err(mpsc::RecvTimeoutError::Timeout) => {
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        // The listener stopped (refused): polling is all that is left.
                        std::thread::sleep(poll);
                        break;
                    }
                }
            }
        }
    }
}

/// Listens to the feed for as long as the receiver is there, reconnecting after losses.
fn listen(link: &ServerLink, heard: &mpsc::Sender<Heard>) {
    let mut pause = Duration::from_millis(200);
    loop {
        let lost = match Feed::connect(link) {
            Ok(feed) => {
                pause = Duration::from_millis(200);
                let mut reason = "the server closed the feed".to_string();
                for head in feed {
                    match head {
                        Ok(head) => {
                            if heard.send(Heard::Head(head)).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            reason = e.to_string();
                            break;
                        }
                    }
                }
                reason
            }
            Err(SyncError::Refused { status: 401, .. }) => {
                let _ = heard.send(Heard::Refused);
                return;
            }
            Err(e) => e.to_string(),
        };
        if heard.send(Heard::Lost(lost)).is_err() {
            return;
        }
        // Not a synchronisation: a pause before dialling a server that is down again.
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::parse_head;

    #[test]
    fn a_head_event_carries_the_position() {
        assert_eq!(parse_head(r#" {"head":42}"#), Some(42));
        assert_eq!(parse_head("{}"), None);
        assert_eq!(parse_head("not json"), None);
    }
}
