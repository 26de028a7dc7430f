//! The authentication extractor: a request becomes a [`Scope`], the caller's guild-scoped
//! view of the data, or an error answer (401 without a valid key, 403 without the
//! endpoint's permission, 429 over the key's request budget).

use crate::scope::GuildDb;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::marker::PhantomData;
use wowlogs_http::ApiError;
use wowlogs_tenancy::{Permission, Principal, authorize};

/// The permission an endpoint needs.
pub trait Needs: Send + Sync + 'static {
    const PERMISSION: Permission;
}

/// Endpoints that read a guild's data.
pub struct Query;
/// The live WebSocket feed.
pub struct Stream;
/// Guild administration.
pub struct Admin;

impl Needs for Query {
    const PERMISSION: Permission = Permission::Query;
}
impl Needs for Stream {
    const PERMISSION: Permission = Permission::Stream;
}
impl Needs for Admin {
    const PERMISSION: Permission = Permission::Admin;
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
        let caller = authorize(state.keys.as_ref(), &parts.headers, &[P::PERMISSION])?;
        caller.identify(&parts.extensions);
        state.admit(&caller.principal)?;
        let db = GuildDb::new(
            state.client.clone(),
            caller.principal.guild_id,
            caller.principal.key_id.clone(),
            state.gate.clone(),
            state.caches.clone(),
        );
        Ok(Scope { principal: caller.principal, db, _needs: PhantomData })
    }
}
