//! WebSocket tickets for browsers, which cannot set headers on a WebSocket: a key holder
//! asks `POST /api/v1/ws/ticket` (with its key in the header, as always) and connects to
//! `/ws?ticket=…` within [`TICKET_TTL`]. A ticket works once, is never the key itself, and
//! lives in this API instance's memory only (with several replicas, `/ws` needs the
//! instance that issued the ticket: sticky sessions, or the header from non-browser
//! clients).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wowlogs_http::ApiError;

/// How long a ticket can be used.
pub const TICKET_TTL: Duration = Duration::from_secs(30);
/// Unused tickets a key may hold at once.
pub const TICKETS_PER_KEY: usize = 10;

struct Ticket {
    key: String,
    key_id: String,
    expires: Instant,
}

/// The tickets issued by this instance and not used yet.
#[derive(Default)]
pub struct Tickets {
    issued: Mutex<HashMap<String, Ticket>>,
}

impl Tickets {
    /// A new ticket for the key (`key_id` is its public id), or 429 when the key holds
    /// its maximum of unused tickets.
    pub fn issue(&self, key: &str, key_id: &str) -> Result<String, ApiError> {
        let mut issued = self.issued.lock().expect("tickets lock");
        let now = Instant::now();
        issued.retain(|_, t| t.expires > now);
        if issued.values().filter(|t| t.key_id == key_id).count() >= TICKETS_PER_KEY {
            return Err(ApiError::rate_limited(
                format!(
                    "this key holds {TICKETS_PER_KEY} unused WebSocket tickets; use one or let them expire"
                ),
                TICKET_TTL,
            ));
        }
        let ticket = format!("wst_{}", uuid::Uuid::new_v4().simple());
        let entry = Ticket { key: key.to_string(), key_id: key_id.to_string(), expires: now + TICKET_TTL };
        issued.insert(ticket.clone(), entry);
        Ok(ticket)
    }

    /// The key a ticket stands for, once: a used, expired or unknown ticket is `None`.
    pub fn redeem(&self, ticket: &str) -> Option<String> {
        let entry = self.issued.lock().expect("tickets lock").remove(ticket)?;
        (entry.expires > Instant::now()).then_some(entry.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_works_once_and_stands_for_its_key() {
        let tickets = Tickets::default();
        let ticket = tickets.issue("wl_secret", "key-1").unwrap();
        assert!(ticket.starts_with("wst_") && !ticket.contains("secret"));
        assert_eq!(tickets.redeem(&ticket).as_deref(), Some("wl_secret"));
        assert_eq!(tickets.redeem(&ticket), None, "single use");
        assert_eq!(tickets.redeem("wst_made_up"), None);
    }

    #[test]
    fn an_expired_ticket_is_refused_and_a_key_cannot_hoard_them() {
        let tickets = Tickets::default();
        let ticket = tickets.issue("wl_a", "key-a").unwrap();
        tickets.issued.lock().unwrap().get_mut(&ticket).unwrap().expires = Instant::now();
        assert_eq!(tickets.redeem(&ticket), None, "expired");
        for _ in 0..TICKETS_PER_KEY {
            tickets.issue("wl_a", "key-a").unwrap();
        }
        assert_eq!(tickets.issue("wl_a", "key-a").unwrap_err().status, 429);
        assert!(tickets.issue("wl_b", "key-b").is_ok(), "another key has its own");
    }
}
