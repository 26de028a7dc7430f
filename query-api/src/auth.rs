//! The authentication extractor: a request becomes a [`Scope`], the caller's guild-scoped
//! view of the data, or an error answer (401 without a valid key, 403 without the
//! endpoint's permission, 429 over the key's request budget).

use crate::scope::{GuildDb, Guilds};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::marker::PhantomData;
use wowlogs_http::ApiError;
use wowlogs_schemas::GuildId;
use wowlogs_tenancy::{Permission, Principal};

/// The permissions an endpoint takes (any one of them).
pub trait Needs: Send + Sync + 'static {
    const PERMISSIONS: &'static [Permission];
}

/// Endpoints that read a guild's data.
pub struct Query;
/// The live WebSocket feed.
pub struct Stream;
/// Guild administration.
pub struct Admin;

/// A guild member on the progress plan: reads it (`query`; officers and the guild
/// master read what members read).
pub struct Member;
/// An officer on the progress plan: the overview of every member (`officer`, or the
/// guild master's `admin`).
pub struct Officer;

impl Needs for Query {
    const PERMISSIONS: &'static [Permission] = &[Permission::Query];
}
impl Needs for Stream {
    const PERMISSIONS: &'static [Permission] = &[Permission::Stream];
}
impl Needs for Admin {
    const PERMISSIONS: &'static [Permission] = &[Permission::Admin];
}
impl Needs for Member {
    const PERMISSIONS: &'static [Permission] = &[Permission::Query, Permission::Officer, Permission::Admin];
}
impl Needs for Officer {
    const PERMISSIONS: &'static [Permission] = &[Permission::Officer, Permission::Admin];
}

/// The caller, authenticated (a refusal audited), holding one of `permissions`, recorded
/// in the request's log and within its request rate.
fn admitted(parts: &Parts, state: &AppState, permissions: &[Permission]) -> Result<Principal, ApiError> {
    let caller =
        state.auditor.authorize(state.keys.as_ref(), &parts.headers, &parts.extensions, permissions)?;
    caller.identify(&parts.extensions);
    state.admit(&caller.principal)?;
    Ok(caller.principal)
}

/// The caller's view of `guilds`, its queries bounded by the caller's key.
fn view(state: &AppState, principal: &Principal, guilds: Guilds) -> GuildDb {
    GuildDb::new(
        state.client.clone(),
        guilds,
        principal.key_id.clone(),
        principal.guild_id,
        state.gate.clone(),
        state.caches.clone(),
    )
}

/// An authenticated, authorized and admitted caller, with its guild's view of the data.
/// Every handler that touches guild data takes one: there is no other way to a
/// [`GuildDb`].
pub struct Scope<P> {
    pub principal: Principal,
    pub db: GuildDb,
    _needs: PhantomData<P>,
}

impl<P> Scope<P> {
    pub fn guild_id(&self) -> i64 {
        self.principal.guild_id.0
    }

    pub fn guild_name(&self) -> &str {
        &self.principal.guild_name
    }
}

impl<P: Needs> FromRequestParts<AppState> for Scope<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = admitted(parts, state, P::PERMISSIONS)?;
        let db = view(state, &principal, Guilds::One(principal.guild_id));
        Ok(Scope { principal, db, _needs: PhantomData })
    }
}

/// A caller on a route with the guild in its path (`/api/v1/guilds/{guild_id}/…`): a
/// [`Scope`] whose key belongs to that guild. A key naming another guild is 403 (after
/// the key itself is checked: a bad key is 401 whatever the path names).
pub struct GuildScope<P>(pub Scope<P>);

impl<P: Needs> FromRequestParts<AppState> for GuildScope<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let scope = Scope::<P>::from_request_parts(parts, state).await?;
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::bad_request(format!("invalid path: {}", rejection.body_text())))?;
        let named = params
            .iter()
            .find(|(name, _)| *name == "guild_id")
            .and_then(|(_, value)| value.parse::<i64>().ok())
            .ok_or_else(|| ApiError::bad_request("the path's guild id is not a number"))?;
        if named != scope.guild_id() {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "this key belongs to another guild: a key may only name its own guild",
            ));
        }
        Ok(GuildScope(scope))
    }
}

/// A caller on `/api/v1/admin/*`: a guild's `admin` key, which administers its own
/// guild, or an instance-admin key, which belongs to no guild and administers every
/// guild (and nothing outside `/admin`: see [`wowlogs_tenancy::authorize`]).
pub struct Administrator {
    pub principal: Principal,
    /// The guilds this administrator sees: its own, or every one.
    pub db: GuildDb,
}

impl Administrator {
    pub fn is_instance(&self) -> bool {
        self.principal.is_instance_admin()
    }

    /// One guild's view, if this administrator may see it: any guild for an instance
    /// administrator, the key's own otherwise (another is 404, as if it did not exist).
    pub fn guild(&self, guild_id: i64) -> Result<GuildDb, ApiError> {
        match self.db.guilds() {
            Guilds::Every if guild_id > 0 => Ok(self.db.of(Guilds::One(GuildId(guild_id)))),
            Guilds::One(own) if own.0 == guild_id => Ok(self.db.clone()),
            _ => Err(ApiError::not_found("no such guild")),
        }
    }
}

/// An instance administrator: what changes guilds takes. A guild's `admin` key is 403
/// here, before anything of the request is read.
pub struct InstanceAdmin(pub Administrator);

impl FromRequestParts<AppState> for InstanceAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let admin = Administrator::from_request_parts(parts, state).await?;
        if !admin.is_instance() {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "changing guilds takes an instance-admin key (`wowlogs api-key create --instance-admin`); \
                 a guild's `admin` key reads its own guild",
            ));
        }
        Ok(InstanceAdmin(admin))
    }
}

impl FromRequestParts<AppState> for Administrator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = admitted(parts, state, &[Permission::Admin, Permission::InstanceAdmin])?;
        let guilds =
            if principal.is_instance_admin() { Guilds::Every } else { Guilds::One(principal.guild_id) };
        let db = view(state, &principal, guilds);
        Ok(Administrator { principal, db })
    }
}
