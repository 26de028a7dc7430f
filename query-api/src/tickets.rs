//! WebSocket tickets for browsers, which cannot set headers on a WebSocket: a key holder
//! asks `POST /api/v1/ws/ticket` (with its key in the header, as always) and connects to
//! `/ws?ticket=…` within [`TICKET_TTL`]. A ticket is never the key itself: it names the
//! key by its public id, an expiry and a random nonce, signed (HMAC-SHA256) with the
//! secret every replica shares (`WOWLOGS_WS_TICKET_SECRET`). So any replica behind a load
//! balancer without session affinity accepts a ticket another issued, and checks the key
//! again when it does (a key revoked meanwhile is refused).
//!
//! A ticket opens one connection per replica: each replica remembers the nonces it has
//! accepted until they expire. Replicas share no memory, so within its 30 s a ticket
//! copied out of a URL could open one more connection on each other replica; its holder
//! could open those with the key anyway, and the key's connection limit still applies.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use wowlogs_http::ApiError;
use wowlogs_schemas::now_ms;

/// How long a ticket can be used.
pub const TICKET_TTL: Duration = Duration::from_secs(30);
/// Tickets a key may be issued by one replica within [`TICKET_TTL`].
pub const TICKETS_PER_KEY: usize = 10;
/// Every ticket starts with this.
const PREFIX: &str = "wst_";

type Signer = Hmac<Sha256>;

/// The secret tickets are signed with (never printed).
#[derive(Clone, Default)]
pub struct TicketSecret(pub Option<String>);

impl std::fmt::Debug for TicketSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "TicketSecret(set)" } else { "TicketSecret(per process)" })
    }
}

/// Issues and redeems signed tickets.
pub struct Tickets {
    /// The signing key: SHA-256 of the shared secret.
    key: [u8; 32],
    /// Per key id, when each of its recent tickets expires (issue limit).
    issued: Mutex<HashMap<String, Vec<i64>>>,
    /// Nonces this replica accepted, with their expiry (single use here).
    redeemed: Mutex<HashMap<String, i64>>,
}

impl Default for Tickets {
    /// Tickets signed with a secret of this process only: they work on this replica.
    fn default() -> Self {
        Tickets::with_secret(&uuid::Uuid::new_v4().to_string())
    }
}

/// Why a ticket is refused: always 401 to the caller, whichever it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    Forged,
    Expired,
    Used,
}

impl Tickets {
    /// Tickets signed with the configured secret, or one of this process only (then
    /// `/ws?ticket=` needs the replica that issued the ticket).
    pub fn new(secret: &TicketSecret) -> Self {
        match &secret.0 {
            Some(secret) => Tickets::with_secret(secret),
            None => Tickets::default(),
        }
    }

    /// Tickets signed with `secret` (shared by every replica that must accept them).
    pub fn with_secret(secret: &str) -> Self {
        Tickets {
            key: Sha256::digest(secret.as_bytes()).into(),
            issued: Mutex::default(),
            redeemed: Mutex::default(),
        }
    }

    fn signature(&self, body: &str) -> String {
        let mut mac = Signer::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(body.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A new ticket for the key with this public id, or 429 when this replica issued
    /// the key [`TICKETS_PER_KEY`] tickets within the last [`TICKET_TTL`].
    pub fn issue(&self, key_id: &str) -> Result<String, ApiError> {
        self.issue_at(key_id, now_ms())
    }

    fn issue_at(&self, key_id: &str, now: i64) -> Result<String, ApiError> {
        let expires = now + TICKET_TTL.as_millis() as i64;
        {
            let mut issued = self.issued.lock().expect("tickets lock");
            issued.retain(|_, expiries| {
                expiries.retain(|&e| e > now);
                !expiries.is_empty()
            });
            let recent = issued.entry(key_id.to_string()).or_default();
            if recent.len() >= TICKETS_PER_KEY {
                return Err(ApiError::rate_limited(
                    format!(
                        "this key was issued {TICKETS_PER_KEY} WebSocket tickets in the last 30 s; use one"
                    ),
                    TICKET_TTL,
                ));
            }
            recent.push(expires);
        }
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let body = format!("{key_id}.{expires}.{nonce}");
        Ok(format!("{PREFIX}{body}.{}", self.signature(&body)))
    }

    /// The public id of the key a ticket stands for, once on this replica.
    pub fn redeem(&self, ticket: &str) -> Result<String, Refused> {
        self.redeem_at(ticket, now_ms())
    }

    fn redeem_at(&self, ticket: &str, now: i64) -> Result<String, Refused> {
        let rest = ticket.strip_prefix(PREFIX).ok_or(Refused::Malformed)?;
        let (body, signature) = rest.rsplit_once('.').ok_or(Refused::Malformed)?;
        let mut parts = body.split('.');
        let (Some(key_id), Some(expires), Some(nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refused::Malformed);
        };
        let expected = self.signature(body);
        if !wowlogs_tenancy::constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
            return Err(Refused::Forged);
        }
        let expires: i64 = expires.parse().map_err(|_| Refused::Malformed)?;
        if expires <= now {
            return Err(Refused::Expired);
        }
        let mut redeemed = self.redeemed.lock().expect("tickets lock");
        redeemed.retain(|_, &mut e| e > now);
        if redeemed.insert(nonce.to_string(), expires).is_some() {
            return Err(Refused::Used);
        }
        Ok(key_id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_ticket_names_its_key_by_id_and_works_once_per_replica() {
        let tickets = Tickets::with_secret("shared");
        let ticket = tickets.issue_at("key-0123456789ab", NOW).unwrap();
        assert!(ticket.starts_with("wst_key-0123456789ab.") && !ticket.contains("wl_"));
        assert_eq!(tickets.redeem_at(&ticket, NOW + 1), Ok("key-0123456789ab".into()));
        assert_eq!(tickets.redeem_at(&ticket, NOW + 2), Err(Refused::Used), "single use");
        assert_eq!(tickets.redeem_at("wst_made_up", NOW), Err(Refused::Malformed));
        assert_eq!(tickets.redeem_at("nonsense", NOW), Err(Refused::Malformed));
    }

    #[test]
    fn another_replica_with_the_same_secret_accepts_it_and_one_without_does_not() {
        let ticket = Tickets::with_secret("shared").issue_at("key-a", NOW).unwrap();
        assert_eq!(Tickets::with_secret("shared").redeem_at(&ticket, NOW), Ok("key-a".into()));
        assert_eq!(Tickets::with_secret("other").redeem_at(&ticket, NOW), Err(Refused::Forged));
        assert_eq!(Tickets::default().redeem_at(&ticket, NOW), Err(Refused::Forged));
    }

    #[test]
    fn a_changed_key_id_or_expiry_breaks_the_signature() {
        let tickets = Tickets::with_secret("shared");
        let ticket = tickets.issue_at("key-a", NOW).unwrap();
        let other_key = ticket.replacen("key-a", "key-b", 1);
        assert_eq!(tickets.redeem_at(&other_key, NOW), Err(Refused::Forged));
        let expires = (NOW + TICKET_TTL.as_millis() as i64).to_string();
        let later = ticket.replacen(&expires, &(NOW + 86_400_000).to_string(), 1);
        assert_eq!(tickets.redeem_at(&later, NOW), Err(Refused::Forged));
    }

    #[test]
    fn an_expired_ticket_is_refused_and_a_key_cannot_hoard_them() {
        let tickets = Tickets::with_secret("shared");
        let ticket = tickets.issue_at("key-a", NOW).unwrap();
        let expiry = NOW + TICKET_TTL.as_millis() as i64;
        assert_eq!(tickets.redeem_at(&ticket, expiry), Err(Refused::Expired));
        for _ in 1..TICKETS_PER_KEY {
            tickets.issue_at("key-a", NOW).unwrap();
        }
        assert_eq!(tickets.issue_at("key-a", NOW).unwrap_err().status, 429);
        assert!(tickets.issue_at("key-b", NOW).is_ok(), "another key has its own");
        assert!(tickets.issue_at("key-a", expiry).is_ok(), "30 s later the key may have more");
    }
}
