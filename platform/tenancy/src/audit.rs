//! The services' audit writer: entries recorded while serving requests (uploads,
//! administration, refused authentication) go through a bounded queue to `audit_log`
//! in batches, so a slow or unreachable ClickHouse never holds a request up. Entries
//! that do not fit the queue are dropped and counted (`dropped`), never blocking.
//!
//! Refused authentication is recorded at most once a minute per client address, so a
//! flood of bad keys costs a few rows, not one row per request.

use crate::auth::{Caller, KeyStore};
use crate::keys::{self, Permission};
use crate::registry::{Actor, AuditRow, NO_GUILD, Registry};
use axum::extract::MatchedPath;
use axum::http::{Extensions, HeaderMap};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use wowlogs_http::{ApiError, ClientAddr, RequestId};

/// Entries waiting to be written, at most.
const QUEUE: usize = 4096;
/// Entries written in one INSERT, at most.
const BATCH: usize = 256;
/// How long an entry waits for others to share its INSERT.
const LINGER: Duration = Duration::from_millis(500);
/// One refused-authentication entry per client address per this period.
pub const AUTH_FAILURE_EVERY: Duration = Duration::from_secs(60);
/// Addresses remembered for that; past it, the oldest half is forgotten.
const AUTH_FAILURE_ADDRESSES: usize = 10_000;

/// Writes audit entries in the background; see the module's documentation.
#[derive(Debug)]
pub struct Auditor {
    queue: Option<mpsc::Sender<AuditRow>>,
    failures: Mutex<HashMap<String, Instant>>,
    dropped: AtomicU64,
}

impl Auditor {
    /// An auditor writing to the registry's `audit_log` from a background task.
    pub fn start(registry: Registry) -> std::sync::Arc<Self> {
        let (queue, entries) = mpsc::channel(QUEUE);
        tokio::spawn(write(registry, entries));
        std::sync::Arc::new(Auditor { queue: Some(queue), ..Auditor::disabled() })
    }

    /// An auditor that writes nothing (unit tests, tools without a registry).
    pub fn disabled() -> Self {
        Auditor { queue: None, failures: Mutex::default(), dropped: AtomicU64::new(0) }
    }

    /// Queues an entry on `guild_id`'s trail ([`NO_GUILD`]: the instance's).
    pub fn record(&self, guild_id: i64, actor: &Actor, action: &str, target: &str, detail: String) {
        let Some(queue) = &self.queue else { return };
        if queue.try_send(AuditRow::now(guild_id, actor, action, target, detail)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a refused authentication (`auth.refused`), at most once per
    /// [`AUTH_FAILURE_EVERY`] per client address: on the key's guild when the key is
    /// known (a missing permission, a deactivated guild), else on the instance's trail.
    /// The presented key is named by its id (a hash prefix), never written.
    pub fn auth_failure(
        &self,
        error: &ApiError,
        guild_id: Option<i64>,
        headers: &HeaderMap,
        extensions: &Extensions,
        route: &str,
    ) {
        let actor = actor_of("anonymous", extensions);
        if !self.first_failure_in_period(&actor.remote_addr) {
            return;
        }
        let target = crate::auth::presented_key(headers).map(|p| keys::key_id(p.key())).unwrap_or_default();
        let detail = format!("status={} code={} route={route}", error.status.as_u16(), error.code);
        self.record(guild_id.unwrap_or(NO_GUILD), &actor, "auth.refused", &target, detail);
    }

    /// [`crate::authorize`], with a refusal (401, 403) recorded by [`Self::auth_failure`].
    pub fn authorize(
        &self,
        keys: &dyn KeyStore,
        headers: &HeaderMap,
        extensions: &Extensions,
        permissions: &[Permission],
    ) -> Result<Caller, ApiError> {
        crate::authorize(keys, headers, permissions).inspect_err(|error| {
            if matches!(error.status.as_u16(), 401 | 403) {
                let guild = crate::auth::presented_key(headers)
                    .and_then(|p| keys.authenticate(p.key()))
                    .map(|p| p.guild_id.0)
                    .filter(|&g| g != NO_GUILD);
                let route = extensions.get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
                self.auth_failure(error, guild, headers, extensions, route);
            }
        })
    }

    fn first_failure_in_period(&self, address: &str) -> bool {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("auth failures lock");
        if failures.len() >= AUTH_FAILURE_ADDRESSES {
            failures.retain(|_, at| now.duration_since(*at) < AUTH_FAILURE_EVERY / 2);
        }
        match failures.get(address) {
            Some(at) if now.duration_since(*at) < AUTH_FAILURE_EVERY => false,
            _ => {
                failures.insert(address.to_string(), now);
                true
            }
        }
    }

    /// Entries dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The actor of a request: `name` (a key id), the client's address as the entry point
/// saw it, and the request's id.
pub fn actor_of(name: &str, extensions: &Extensions) -> Actor {
    let remote_addr = extensions.get::<ClientAddr>().map(|c| c.0.to_string()).unwrap_or_default();
    let request_id = extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    Actor { name: name.to_string(), remote_addr, request_id }
}

/// The background writer: batches of up to [`BATCH`] entries, each retried once.
async fn write(registry: Registry, mut entries: mpsc::Receiver<AuditRow>) {
    let mut batch = Vec::with_capacity(BATCH);
    while entries.recv_many(&mut batch, BATCH).await > 0 {
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            let room = BATCH - batch.len();
            match tokio::time::timeout_at(deadline, entries.recv_many(&mut batch, room)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        for attempt in 1..=2 {
            match registry.insert_audit(&batch).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%error, entries = batch.len(), attempt, "audit entries not written");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_authentication_is_recorded_once_a_period_per_address() {
        let auditor = Auditor::disabled();
        assert!(auditor.first_failure_in_period("203.0.113.9"));
        assert!(!auditor.first_failure_in_period("203.0.113.9"));
        assert!(auditor.first_failure_in_period("198.51.100.1"), "another address has its own period");
    }

    #[test]
    fn actors_carry_the_client_address_and_request_id() {
        let mut extensions = Extensions::new();
        extensions.insert(ClientAddr("203.0.113.9".parse().unwrap()));
        extensions.insert(RequestId("req-1".into()));
        let actor = actor_of("key-abc", &extensions);
        assert_eq!(
            (actor.name.as_str(), actor.remote_addr.as_str(), actor.request_id.as_str()),
            ("key-abc", "203.0.113.9", "req-1")
        );
    }
}
