//! Who is calling: API keys scoped to one guild, checked against the registry.
//!
//! Services keep the registry's active keys in a [`KeyCache`], refreshed every couple of
//! seconds, so a revoked key stops working on every running service within one period.
//! A presented key is hashed at once and looked up by its digest (an attacker cannot
//! steer a SHA-256 digest), then confirmed with a constant-time comparison; no service
//! ever holds a plaintext key.

use crate::keys::{self, Permission};
use crate::registry::{ApiKeyRow, GuildRow, Registry, RegistryError};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use wowlogs_http::{ApiError, Identified, RequestLog};
use wowlogs_schemas::GuildId;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub guild_id: GuildId,
    pub guild_name: String,
    /// Identifies the key in logs and audits (never the key itself).
    pub key_id: String,
    pub permissions: Vec<Permission>,
    /// Events the key may publish per minute (uploads).
    pub events_per_minute: u32,
    /// WebSocket connections the key may hold at once.
    pub max_connections: u32,
    /// False once the guild is deactivated: its keys are refused (403) until it is
    /// reactivated.
    pub guild_active: bool,
    /// When the key stops working, ms since the epoch; 0: never.
    pub expires_ms: i64,
}

impl Principal {
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// An instance administrator's key: it belongs to no guild.
    pub fn is_instance_admin(&self) -> bool {
        self.guild_id.0 == crate::registry::NO_GUILD && self.may(Permission::InstanceAdmin)
    }

    /// The principal of a registry key and its guild.
    pub fn of(key: &ApiKeyRow, guild: &GuildRow) -> Self {
        Principal {
            guild_id: GuildId(guild.guild_id),
            guild_name: guild.name.clone(),
            key_id: key.key_id.clone(),
            permissions: key.permissions(),
            events_per_minute: key.events_per_minute,
            max_connections: key.max_connections,
            guild_active: guild.is_active(),
            expires_ms: key.expires_ms,
        }
    }

    /// Whether the key has expired at `now_ms` (it is then refused as a revoked key is).
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_ms > 0 && now_ms >= self.expires_ms
    }
}

/// Why a key admitted earlier no longer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapsed {
    /// Revoked, or expired.
    Revoked,
    GuildDeactivated(GuildId),
}

/// Looks keys up.
pub trait KeyStore: Send + Sync {
    /// The principal of a presented key, if it is valid and not revoked.
    fn authenticate(&self, presented: &str) -> Option<Principal>;

    /// The principal of an active key by its public id (a caller already proven to hold
    /// it: a WebSocket ticket, an open connection checked again).
    fn by_key_id(&self, key_id: &str) -> Option<Principal>;

    /// Why the key with this public id, admitted earlier, no longer is (`None`: it still
    /// is): what long work by a key (an upload, an open connection) checks as it goes.
    fn lapsed(&self, key_id: &str) -> Option<Lapsed> {
        match self.by_key_id(key_id) {
            None => Some(Lapsed::Revoked),
            Some(principal) if !principal.guild_active => Some(Lapsed::GuildDeactivated(principal.guild_id)),
            Some(_) => None,
        }
    }

    /// Time since the keys were last read from their source (`None`: never).
    fn age(&self) -> Option<Duration> {
        None
    }

    /// Past this age the keys are not trusted: a revoked key must not stay valid for as
    /// long as the registry cannot be read (`None`: no limit).
    fn max_staleness(&self) -> Option<Duration> {
        None
    }

    /// How much longer the keys are trusted (`None`: no limit; zero: no longer).
    fn trusted_for(&self) -> Option<Duration> {
        let max = self.max_staleness()?;
        Some(self.age().map_or(Duration::ZERO, |age| max.saturating_sub(age)))
    }

    /// Whether the keys are trusted now: callers are authenticated, not refused for keys
    /// unread too long ([`Self::max_staleness`]).
    fn trusted(&self) -> bool {
        !self.trusted_for().is_some_and(|left| left.is_zero())
    }

    /// Whether the keys were read from the registry lately ([`STALE_KEYS`]).
    fn fresh(&self) -> bool {
        self.age().is_some_and(|age| age < STALE_KEYS)
    }

    /// The keys as a component of a service's `/health`: `up` (fresh), `stale` (trusted
    /// but not read lately) or `refusing` (no longer trusted), their age and how long they
    /// stay trusted.
    fn health(&self) -> serde_json::Value {
        let (age, trusted_for) = (self.age(), self.trusted_for());
        serde_json::json!({
            "status": match (self.trusted(), self.fresh()) {
                (false, _) => "refusing",
                (true, true) => "up",
                (true, false) => "stale",
            },
            "age_ms": age.map(|a| a.as_millis() as u64),
            "fails_closed_in_ms": trusted_for.map(|t| t.as_millis() as u64),
        })
    }
}

/// Keys older than this mean the registry has not been read for a while: a service's
/// health says so (degraded), though it still authenticates with them.
pub const STALE_KEYS: Duration = Duration::from_secs(30);

/// The registry's active keys, by the digest of the key.
#[derive(Default)]
pub struct KeyCache {
    snapshot: RwLock<Snapshot>,
    /// See [`KeyStore::max_staleness`].
    max_staleness: Option<Duration>,
    /// Keys admitted since the usage was last written: `(guild, key id)` to the last time.
    used: std::sync::Mutex<HashMap<(i64, String), i64>>,
}

/// Keeps the later of a key's noted use and `at`.
fn latest(used: &mut HashMap<(i64, String), i64>, key: (i64, String), at: i64) {
    let last = used.entry(key).or_default();
    *last = (*last).max(at);
}

/// How often a service writes when its keys were last used.
pub const USAGE_PERIOD: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Snapshot {
    by_digest: HashMap<[u8; 32], Principal>,
    /// Each key's public id, to its digest.
    by_id: HashMap<String, [u8; 32]>,
    refreshed: Option<Instant>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snapshot = self.snapshot.read().expect("key cache lock");
        f.debug_struct("KeyCache").field("keys", &snapshot.by_digest.len()).finish()
    }
}

impl KeyCache {
    /// An empty cache whose keys stop being trusted `max_staleness` after their last
    /// successful read.
    pub fn failing_closed_after(max_staleness: Duration) -> Self {
        KeyCache { max_staleness: Some(max_staleness), ..KeyCache::default() }
    }

    /// A cache holding these keys (each with its active guild).
    pub fn with_keys(keys: impl IntoIterator<Item = (ApiKeyRow, GuildRow)>) -> Self {
        let cache = KeyCache::default();
        cache.replace(keys);
        cache
    }

    /// Replaces every key at once.
    pub fn replace(&self, keys: impl IntoIterator<Item = (ApiKeyRow, GuildRow)>) {
        let by_digest: HashMap<[u8; 32], Principal> = keys
            .into_iter()
            .filter_map(|(key, guild)| {
                let digest: [u8; 32] = hex::decode(&key.key_hash).ok()?.try_into().ok()?;
                Some((digest, Principal::of(&key, &guild)))
            })
            .collect();
        let by_id = by_digest.iter().map(|(digest, p)| (p.key_id.clone(), *digest)).collect();
        *self.snapshot.write().expect("key cache lock") =
            Snapshot { by_digest, by_id, refreshed: Some(Instant::now()) };
    }

    /// Reloads the active keys from the registry; on failure the previous keys stay.
    pub async fn refresh(&self, registry: &Registry) -> Result<usize, RegistryError> {
        let keys = registry.active_keys().await?;
        let count = keys.len();
        self.replace(keys);
        Ok(count)
    }

    /// Refreshes every `period` until the process ends, each read bounded by `period`
    /// (at least a second). Failures are logged and retried at the next period; the last
    /// keys read stay in force meanwhile, up to the cache's maximum staleness.
    pub fn keep_fresh(self: Arc<Self>, registry: Registry, period: Duration) -> tokio::task::JoinHandle<()> {
        let bound = period.max(Duration::from_secs(1));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut usage_written = Instant::now();
            loop {
                ticker.tick().await;
                if usage_written.elapsed() >= USAGE_PERIOD {
                    usage_written = Instant::now();
                    match tokio::time::timeout(bound, self.write_usage(&registry)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "writing when keys were last used failed; kept for the next write")
                        }
                        Err(_) => tracing::warn!(
                            "writing when keys were last used took too long; those uses are not recorded"
                        ),
                    }
                }
                let error = match tokio::time::timeout(bound, self.refresh(&registry)).await {
                    Ok(Ok(_)) => continue,
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => format!("no answer within {} ms", bound.as_millis()),
                };
                tracing::warn!(
                    %error,
                    stale_seconds = self.age().map(|a| a.as_secs()),
                    trusted_for_seconds = self.trusted_for().map(|t| t.as_secs()),
                    "API key refresh failed"
                );
            }
        })
    }

    /// Notes that `principal`'s key was admitted at `now_ms`.
    fn used_now(&self, principal: &Principal, now_ms: i64) {
        let mut used = self.used.lock().expect("key usage lock");
        latest(&mut used, (principal.guild_id.0, principal.key_id.clone()), now_ms);
    }

    /// Writes when the keys admitted since the last write were last used
    /// (`api_key_usage`); on failure they are kept for the next write. Returns the keys
    /// written.
    pub async fn write_usage(&self, registry: &Registry) -> Result<usize, clickhouse::error::Error> {
        let mut taken = std::mem::take(&mut *self.used.lock().expect("key usage lock"));
        {
            // Only keys still held: a key revoked, or a guild purged, since its last use
            // leaves no row behind.
            let snapshot = self.snapshot.read().expect("key cache lock");
            taken.retain(|(_, key_id), _| snapshot.by_id.contains_key(key_id));
        }
        if taken.is_empty() {
            return Ok(0);
        }
        let rows: Vec<crate::KeyUsageRow> = taken
            .iter()
            .map(|((guild_id, key_id), last_used_ms)| crate::KeyUsageRow {
                guild_id: *guild_id,
                key_id: key_id.clone(),
                last_used_ms: *last_used_ms,
            })
            .collect();
        if let Err(error) = registry.record_usage(&rows).await {
            let mut used = self.used.lock().expect("key usage lock");
            for (key, at) in taken {
                latest(&mut used, key, at);
            }
            return Err(error);
        }
        Ok(rows.len())
    }

    /// Time since the keys were last read, `None` before the first read.
    pub fn age(&self) -> Option<Duration> {
        self.snapshot.read().expect("key cache lock").refreshed.map(|at| at.elapsed())
    }

    /// Number of active keys held.
    pub fn len(&self) -> usize {
        self.snapshot.read().expect("key cache lock").by_digest.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl KeyStore for KeyCache {
    fn authenticate(&self, presented: &str) -> Option<Principal> {
        let digest = keys::digest(presented);
        let snapshot = self.snapshot.read().expect("key cache lock");
        let (known, principal) = snapshot.by_digest.get_key_value(&digest)?;
        let now = wowlogs_schemas::now_ms();
        let admitted = keys::constant_time_eq(known, &digest) && !principal.expired(now);
        admitted.then(|| {
            if principal.guild_active {
                self.used_now(principal, now);
            }
            principal.clone()
        })
    }

    fn by_key_id(&self, key_id: &str) -> Option<Principal> {
        let snapshot = self.snapshot.read().expect("key cache lock");
        let now = wowlogs_schemas::now_ms();
        snapshot
            .by_id
            .get(key_id)
            .and_then(|digest| snapshot.by_digest.get(digest))
            .filter(|principal| !principal.expired(now))
            .cloned()
    }

    fn age(&self) -> Option<Duration> {
        KeyCache::age(self)
    }

    fn max_staleness(&self) -> Option<Duration> {
        self.max_staleness
    }
}

/// How the key was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// `Authorization: Bearer <key>`.
    Bearer(String),
    /// The legacy `X-API-Key` header, answered with a `Deprecation` header.
    Legacy(String),
}

impl Presented {
    /// The key itself, however it came.
    pub fn key(&self) -> &str {
        match self {
            Presented::Bearer(key) | Presented::Legacy(key) => key,
        }
    }
}

/// The key of a request, if any.
pub fn presented_key(headers: &HeaderMap) -> Option<Presented> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(key) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))
    {
        return Some(Presented::Bearer(key.trim().to_string()));
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(|k| Presented::Legacy(k.trim().to_string()))
}

/// An authenticated and authorized request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    /// The key came in the legacy `X-API-Key` header.
    pub legacy: bool,
}

impl Caller {
    /// Records the caller in the request's log line and metrics (and, for a legacy
    /// caller, has the response marked deprecated): see [`wowlogs_http::observe`].
    pub fn identify(&self, extensions: &Extensions) {
        let identified = Identified {
            guild_id: self.principal.guild_id.0,
            key_id: self.principal.key_id.clone(),
            legacy: self.legacy,
        };
        RequestLog::identify(extensions, identified);
    }
}

/// When a caller refused for stale keys is told to come back.
const STALE_KEYS_RETRY: Duration = Duration::from_secs(5);

/// The caller, checked for one of `permissions`: 401 without a valid key, 403 when the
/// key lacks every one of them, 503 when the keys are too stale to be trusted (fail
/// closed: a key revoked while the registry cannot be read must stop working).
pub fn authorize(
    keys: &dyn KeyStore,
    headers: &HeaderMap,
    permissions: &[Permission],
) -> Result<Caller, ApiError> {
    let presented = presented_key(headers)
        .ok_or_else(|| ApiError::unauthorized("missing API key: send `Authorization: Bearer <key>`"))?;
    authorize_presented(keys, &presented, permissions)
}

/// [`authorize`] for a key already taken from its request (a header, or a WebSocket
/// ticket redeemed for it).
pub fn authorize_presented(
    keys: &dyn KeyStore,
    presented: &Presented,
    permissions: &[Permission],
) -> Result<Caller, ApiError> {
    let (key, legacy) = (presented.key(), matches!(presented, Presented::Legacy(_)));
    admit(keys, || keys.authenticate(key), legacy, permissions)
}

/// [`authorize`] for a caller already proven to hold the key with this public id (a
/// WebSocket ticket this service signed): the same checks, found by the id.
pub fn authorize_key_id(
    keys: &dyn KeyStore,
    key_id: &str,
    permissions: &[Permission],
) -> Result<Caller, ApiError> {
    admit(keys, || keys.by_key_id(key_id), false, permissions)
}

/// The checks every caller passes: keys fresh enough to trust, a key found (`find`),
/// its guild active, one of `permissions`.
fn admit(
    keys: &dyn KeyStore,
    find: impl FnOnce() -> Option<Principal>,
    legacy: bool,
    permissions: &[Permission],
) -> Result<Caller, ApiError> {
    if !keys.trusted() {
        let age = keys.age().map_or_else(
            || "never been read".to_string(),
            |a| format!("not been read for {} s", a.as_secs()),
        );
        return Err(ApiError::unavailable_for(
            format!(
                "the API key registry has {age}, longer than WOWLOGS_KEY_MAX_STALENESS_MS allows: \
                 authentication is refused until it can be read again"
            ),
            STALE_KEYS_RETRY,
        ));
    }
    let principal = find().ok_or_else(|| ApiError::unauthorized("invalid, revoked or expired API key"))?;
    if !principal.guild_active {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "guild_deactivated",
            format!(
                "guild {} ({}) is deactivated: its keys are refused until an instance administrator \
                 reactivates it; its data is kept",
                principal.guild_id.0, principal.guild_name
            ),
        ));
    }
    if !permissions.iter().any(|&p| principal.may(p)) {
        if principal.is_instance_admin() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "an instance-admin key is accepted on /api/v1/admin/* only: it belongs to no guild",
            ));
        }
        let wanted: Vec<String> = permissions.iter().map(|p| format!("`{p}`")).collect();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this key lacks the {} permission", wanted.join(" or ")),
        ));
    }
    Ok(Caller { principal, legacy })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_row(plaintext: &str, guild_id: i64, permissions: &[&str]) -> ApiKeyRow {
        let permissions = permissions.iter().map(|p| p.parse().unwrap()).collect();
        let spec = crate::KeySpec {
            guild_id,
            description: String::new(),
            permissions,
            events_per_minute: 1000,
            max_connections: 2,
        };
        ApiKeyRow::active(plaintext, &spec, 1)
    }

    fn guild_row(guild_id: i64, name: &str) -> GuildRow {
        GuildRow::active(guild_id, name, 1)
    }

    #[test]
    fn an_expired_key_is_refused_as_a_revoked_one_and_one_expiring_later_still_works() {
        let now = wowlogs_schemas::now_ms();
        let expired = ApiKeyRow { expires_ms: now - 1, ..key_row("wl_old", 2, &["query"]) };
        let later = ApiKeyRow { expires_ms: now + 3_600_000, ..key_row("wl_new", 2, &["query"]) };
        let (old_id, new_id) = (expired.key_id.clone(), later.key_id.clone());
        let cache =
            KeyCache::with_keys([(expired, guild_row(2, "Loothing")), (later, guild_row(2, "Loothing"))]);
        assert!(cache.authenticate("wl_old").is_none(), "past its expiry");
        assert_eq!(cache.lapsed(&old_id), Some(Lapsed::Revoked), "long work by it stops");
        let refused = authorize_key_id(&cache, &old_id, &[Permission::Query]).unwrap_err();
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.message.contains("expired"), "{}", refused.message);
        assert!(cache.authenticate("wl_new").is_some() && cache.lapsed(&new_id).is_none(), "not yet");
    }

    #[test]
    fn keys_authenticate_to_their_guild_only() {
        let cache = KeyCache::with_keys([
            (key_row("wl_aaaa", 2, &["upload", "query"]), guild_row(2, "Loothing")),
            (key_row("wl_bbbb", 3, &["query"]), guild_row(3, "Other")),
        ]);
        let loothing = cache.authenticate("wl_aaaa").unwrap();
        assert_eq!((loothing.guild_id, loothing.guild_name.as_str()), (GuildId(2), "Loothing"));
        assert!(loothing.may(Permission::Upload));
        assert!(!cache.authenticate("wl_bbbb").unwrap().may(Permission::Upload));
        assert!(cache.authenticate("wl_cccc").is_none());
        assert!(!format!("{cache:?}").contains("wl_a"), "keys never reach logs");
    }

    #[test]
    fn a_key_is_found_by_its_public_id_with_the_same_checks_while_it_is_active() {
        let cache = KeyCache::with_keys([(key_row("wl_aaaa", 2, &["query"]), guild_row(2, "Loothing"))]);
        let id = crate::key_id("wl_aaaa");
        assert_eq!(cache.by_key_id(&id), cache.authenticate("wl_aaaa"));
        assert_eq!(
            authorize_key_id(&cache, &id, &[Permission::Query]).unwrap().principal.guild_id,
            GuildId(2)
        );
        assert_eq!(authorize_key_id(&cache, &id, &[Permission::Stream]).unwrap_err().status, 403);
        assert_eq!(
            authorize_key_id(&cache, "key-000000000000", &[Permission::Query]).unwrap_err().status,
            401
        );
        assert_eq!(cache.lapsed(&id), None);
        let mut inactive = guild_row(2, "Loothing");
        inactive.active = 0;
        cache.replace([(key_row("wl_aaaa", 2, &["query"]), inactive)]);
        assert_eq!(cache.lapsed(&id), Some(Lapsed::GuildDeactivated(GuildId(2))));
        cache.replace([]);
        assert_eq!(authorize_key_id(&cache, &id, &[Permission::Query]).unwrap_err().status, 401, "revoked");
        assert_eq!(cache.lapsed(&id), Some(Lapsed::Revoked));
    }

    #[test]
    fn a_key_missing_from_a_refresh_stops_working() {
        let cache = KeyCache::with_keys([(key_row("wl_aaaa", 2, &["query"]), guild_row(2, "Loothing"))]);
        assert!(cache.authenticate("wl_aaaa").is_some());
        cache.replace([]);
        assert!(cache.authenticate("wl_aaaa").is_none());
    }

    #[test]
    fn missing_keys_are_401_and_missing_permissions_403() {
        let cache = KeyCache::with_keys([(key_row("wl_aaaa", 2, &["query"]), guild_row(2, "Loothing"))]);
        let mut headers = HeaderMap::new();
        assert_eq!(authorize(&cache, &headers, &[Permission::Query]).unwrap_err().status, 401);
        headers.insert("authorization", "Bearer wl_nope".parse().unwrap());
        assert_eq!(authorize(&cache, &headers, &[Permission::Query]).unwrap_err().status, 401);
        headers.insert("authorization", "Bearer wl_aaaa".parse().unwrap());
        let refused = authorize(&cache, &headers, &[Permission::Admin]).unwrap_err();
        assert_eq!((refused.status, refused.message.contains("`admin`")), (StatusCode::FORBIDDEN, true));
        assert!(!authorize(&cache, &headers, &[Permission::Query]).unwrap().legacy);
    }

    #[test]
    fn bearer_is_preferred_and_x_api_key_is_legacy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", "legacy".parse().unwrap());
        assert_eq!(presented_key(&headers), Some(Presented::Legacy("legacy".into())));
        headers.insert("authorization", "Bearer modern".parse().unwrap());
        assert_eq!(presented_key(&headers), Some(Presented::Bearer("modern".into())));
    }

    #[test]
    fn keys_older_than_the_maximum_staleness_fail_closed_with_503() {
        let cache = KeyCache::failing_closed_after(Duration::from_millis(50));
        cache.replace([(key_row("wl_aaaa", 2, &["query"]), guild_row(2, "Loothing"))]);
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer wl_aaaa".parse().unwrap());
        assert!(authorize(&cache, &headers, &[Permission::Query]).is_ok(), "fresh keys are trusted");
        std::thread::sleep(Duration::from_millis(80));
        let refused = authorize(&cache, &headers, &[Permission::Query]).unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.message.contains("WOWLOGS_KEY_MAX_STALENESS_MS"), "{}", refused.message);
        assert_eq!(cache.trusted_for(), Some(Duration::ZERO));
        cache.replace([(key_row("wl_aaaa", 2, &["query"]), guild_row(2, "Loothing"))]);
        assert!(
            authorize(&cache, &headers, &[Permission::Query]).is_ok(),
            "a successful read trusts them again"
        );
    }

    /// A key store of a given age and staleness bound, for the health of its keys.
    struct Aged(Option<Duration>, Option<Duration>);

    impl KeyStore for Aged {
        fn authenticate(&self, _: &str) -> Option<Principal> {
            None
        }
        fn by_key_id(&self, _: &str) -> Option<Principal> {
            None
        }
        fn age(&self) -> Option<Duration> {
            self.0
        }
        fn max_staleness(&self) -> Option<Duration> {
            self.1
        }
    }

    #[test]
    fn keys_are_up_when_fresh_stale_when_old_and_refusing_once_no_longer_trusted() {
        let status = |keys: Aged| keys.health()["status"].as_str().unwrap().to_string();
        let minute = Some(Duration::from_secs(60));
        assert_eq!(status(Aged(Some(Duration::from_secs(1)), None)), "up");
        assert_eq!(status(Aged(Some(STALE_KEYS), Some(Duration::from_secs(90)))), "stale");
        assert_eq!(status(Aged(Some(Duration::from_secs(61)), minute)), "refusing");
        assert_eq!(status(Aged(None, None)), "stale");
        let never_read = Aged(None, minute);
        assert!(!never_read.trusted() && !never_read.fresh());
        assert_eq!(never_read.health()["fails_closed_in_ms"], 0);
        assert_eq!(Aged(Some(Duration::from_secs(20)), minute).health()["fails_closed_in_ms"], 40_000);
    }

    #[test]
    fn keys_of_a_deactivated_guild_are_refused_with_the_reason() {
        let mut inactive = guild_row(2, "Loothing");
        inactive.active = 0;
        let cache = KeyCache::with_keys([(key_row("wl_aaaa", 2, &["query"]), inactive)]);
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer wl_aaaa".parse().unwrap());
        let refused = authorize(&cache, &headers, &[Permission::Query]).unwrap_err();
        assert_eq!((refused.status, refused.code), (StatusCode::FORBIDDEN, "guild_deactivated"));
        assert!(refused.message.contains("Loothing") && refused.message.contains("deactivated"));
    }

    #[test]
    fn instance_admin_keys_are_refused_outside_administration() {
        let cache = KeyCache::with_keys([(
            key_row("wl_root", crate::NO_GUILD, &["instance_admin"]),
            GuildRow::instance(),
        )]);
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer wl_root".parse().unwrap());
        for wanted in [Permission::Query, Permission::Upload, Permission::Stream, Permission::Admin] {
            let refused = authorize(&cache, &headers, &[wanted]).unwrap_err();
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            assert!(refused.message.contains("/api/v1/admin/"), "{}", refused.message);
        }
        let caller = authorize(&cache, &headers, &[Permission::Admin, Permission::InstanceAdmin]).unwrap();
        assert!(caller.principal.is_instance_admin());
    }

    #[test]
    fn a_cache_never_read_trusts_no_key() {
        let cache = KeyCache::failing_closed_after(Duration::from_secs(60));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer wl_aaaa".parse().unwrap());
        assert_eq!(authorize(&cache, &headers, &[Permission::Query]).unwrap_err().status, 503);
    }
}
