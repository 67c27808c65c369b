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

/// What a feed listener passes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// The server's newest position.
    Head(i64),
    /// The connection was lost (or could not be made); the listener dials again.
    Lost(String),
    /// The server refused this device (a revoked or changed token) or was not the one
    /// pinned; the listener looks again only slowly, in case new settings come.
    Refused(String),
}

/// Whether a head heard is news: past what this device has pulled (`None`: it has never
/// pulled, so anything is).
#[must_use]
pub fn is_news(head: i64, pulled: Option<i64>) -> bool {
    pulled.is_none_or(|pulled| head > pulled)
}

/// The first pause before dialling the feed again, doubled after each loss up to
/// [`MAX_PAUSE`].
pub const FIRST_PAUSE: Duration = Duration::from_millis(200);
/// The longest pause between attempts, and the pause after a refusal.
pub const MAX_PAUSE: Duration = Duration::from_secs(10);

/// Follows the live feed of the server `link()` names at each (re)connection, passing on
/// what it hears, for as long as someone receives it. Between connections it calls
/// `pause(how_long)`, which returns true when the settings changed meanwhile (the next
/// attempt then comes at once); with no server yet it only pauses and looks again.
pub fn listen(
    mut link: impl FnMut() -> Option<ServerLink>,
    heard: &mpsc::Sender<Heard>,
    mut pause: impl FnMut(Duration) -> bool,
) {
    let mut wait = FIRST_PAUSE;
    loop {
        let news = match link() {
            None => None,
            Some(link) => match Feed::connect(&link) {
                Ok(feed) => {
                    tracing::info!(server = %link.url, "following the live feed");
                    wait = FIRST_PAUSE;
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
                    Some(Heard::Lost(reason))
                }
                Err(SyncError::Refused { status, body }) => {
                    wait = MAX_PAUSE;
                    Some(Heard::Refused(format!(
                        "the server refused the feed ({status} {})",
                        body.code
                    )))
                }
                Err(e @ SyncError::Untrusted(_)) => {
                    wait = MAX_PAUSE;
                    Some(Heard::Refused(e.to_string()))
                }
                Err(e) => Some(Heard::Lost(e.to_string())),
            },
        };
        if let Some(news) = news
            && heard.send(news).is_err()
        {
            return;
        }
        if pause(wait) {
            wait = FIRST_PAUSE;
        } else {
            wait = (wait * 2).min(MAX_PAUSE);
        }
    }
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
            // Not a synchronisation: the pause between dialling attempts.
            std::thread::spawn(move || {
                listen(
                    || Some(link.clone()),
                    &heard,
                    |pause| {
                        std::thread::sleep(pause);
                        false
                    },
                );
            });
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
            let pulled = outcome.as_ref().ok().map(|r| r.position);
            // Wait for news: a head past what this device has, a refusal, or the poll.
            loop {
                match hear.recv_timeout(poll) {
                    Ok(Heard::Head(head)) if !is_news(head, pulled) => {}
                    Ok(Heard::Lost(reason)) => {
                        tracing::info!(%reason, "the live feed was lost; reconnecting");
                    }
                    Ok(Heard::Head(_) | Heard::Refused(_))
                    | Err(mpsc::RecvTimeoutError::Timeout) => {
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        // The listener is gone: polling is all that is left. Not a
                        // synchronisation: the poll interval itself.
                        std::thread::sleep(poll);
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_news, parse_head};

    #[test]
    fn a_head_past_what_was_pulled_is_news() {
        assert!(is_news(12, Some(10)));
        assert!(is_news(3, None), "a device that never pulled");
        assert!(!is_news(10, Some(10)));
        assert!(!is_news(9, Some(10)));
    }

    #[test]
    fn a_head_event_carries_the_position() {
        assert_eq!(parse_head(r#" {"head":42}"#), Some(42));
        assert_eq!(parse_head("{}"), None);
        assert_eq!(parse_head("not json"), None);
    }
}
