//! `GET /ws`: the live feed of the caller's guild over a WebSocket.

use crate::auth::{Scope, Stream};
use crate::http::answer::{Guilded, guilded, json};
use crate::state::AppState;
use crate::tickets::TICKET_TTL;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::Extensions;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};
use wowlogs_tenancy::{ApiError, Lapsed, Permission, authorize_key_id, authorize_presented, presented_key};

/// `/ws` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WsParams {
    /// A ticket from `POST /api/v1/ws/ticket` (for browsers), instead of the header.
    pub ticket: Option<String>,
}

/// A WebSocket ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct WsTicket {
    /// Pass it as `/ws?ticket=…` within `expires_in_s` seconds; it works once.
    pub ticket: String,
    pub expires_in_s: u64,
    /// The path to connect to, ticket included.
    pub url: String,
}

/// A single-use ticket to open the live feed from a browser (which cannot set headers on
/// a WebSocket): valid for 30 s, once, for the calling key.
#[utoipa::path(
    post, path = "/api/v1/ws/ticket", tag = "live",
    security(("bearer" = ["stream"])),
    responses(
        (status = 200, description = "The ticket", body = Guilded<WsTicket>),
        (status = 401, description = "Missing or invalid key"), (status = 403, description = "The key lacks `stream`"),
        (status = 429, description = "The key holds 10 unused tickets"),
    )
)]
pub async fn ticket(scope: Scope<Stream>, State(state): State<AppState>) -> Result<Response, ApiError> {
    // The extractor found the key; the ticket names it by its public id.
    let ticket = state.tickets.issue(&scope.principal.key_id)?;
    let url = format!("/ws?ticket={ticket}");
    Ok(json(guilded(&scope, WsTicket { ticket, expires_in_s: TICKET_TTL.as_secs(), url })?))
}

/// How often an open connection re-checks its key (revocation closes it).
const RECHECK: Duration = Duration::from_secs(2);
/// Close code for a key revoked while connected (application range 4000-4999).
pub const CLOSE_REVOKED: u16 = 4001;
/// Close code for a guild deactivated while connected: its keys are refused from then on.
pub const CLOSE_GUILD_DEACTIVATED: u16 = 4003;
/// How often the server pings; a client that sends nothing (not even a pong) for
/// [`IDLE_TIMEOUT`] is disconnected.
const PING_EVERY: Duration = Duration::from_secs(20);
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest message or frame a client may send: the feed reads nothing from clients
/// beyond pongs and closes, so a few KiB is plenty.
pub const MAX_INBOUND_BYTES: usize = 4 << 10;

/// The live feed: a `welcome` message with the guild, then `progress` (upload parsing)
/// and `encounter_complete` (a fight ended: boss, kill, duration, top players) for this
/// guild only. A slow reader that falls behind gets a `lagged` message with how many
/// messages it missed. The connection closes within seconds of the key being revoked
/// (code 4001) or its guild deactivated (code 4003). The server pings every 20 s and drops a client silent for 60 s;
/// client messages over 4 KiB close the connection.
///
/// Authenticated by the key in the header, or, for browsers (which cannot set headers on
/// a WebSocket), by `?ticket=` from `POST /api/v1/ws/ticket`: never the key in a URL.
#[utoipa::path(
    get, path = "/ws", tag = "live",
    params(WsParams),
    security(("bearer" = ["stream"])),
    responses(
        (status = 101, description = "WebSocket: JSON messages `welcome`, `progress`, `encounter_complete`, `lagged`"),
        (status = 401, description = "Missing or invalid key, or an unknown, used or expired ticket"),
        (status = 403, description = "The key lacks `stream`"),
        (status = 429, description = "The key holds its maximum of connections"),
    )
)]
pub async fn connect(
    State(state): State<AppState>,
    Query(params): Query<WsParams>,
    headers: HeaderMap,
    extensions: Extensions,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let caller = match params.ticket {
        Some(ticket) => {
            let key_id = state.tickets.redeem(&ticket).map_err(|refused| {
                tracing::debug!(?refused, "WebSocket ticket refused");
                ApiError::unauthorized("unknown, used or expired WebSocket ticket")
            })?;
            // Checked again now: a key revoked since the ticket was issued is refused.
            authorize_key_id(state.keys.as_ref(), &key_id, &[Permission::Stream])?
        }
        None => {
            let presented = presented_key(&headers).ok_or_else(|| {
                ApiError::unauthorized(
                    "missing API key: send `Authorization: Bearer <key>`, or `?ticket=` from POST /api/v1/ws/ticket",
                )
            })?;
            authorize_presented(state.keys.as_ref(), &presented, &[Permission::Stream])?
        }
    };
    caller.identify(&extensions);
    state.admit(&caller.principal)?;
    // Authentication first: a request without a key is 401 whether or not it upgrades.
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(axum::http::StatusCode::BAD_REQUEST, "not_a_websocket", rejection.body_text())
    })?;
    let guard = state.connect(&caller.principal)?;
    let principal = caller.principal;
    let upgrade = upgrade.max_message_size(MAX_INBOUND_BYTES).max_frame_size(MAX_INBOUND_BYTES);
    Ok(upgrade.on_upgrade(move |socket| async move {
        state.metrics.connection(1);
        serve(socket, &state, &principal).await;
        state.metrics.connection(-1);
        drop(guard);
    }))
}

async fn serve(mut socket: WebSocket, state: &AppState, principal: &wowlogs_tenancy::Principal) {
    let mut feed = state.live.subscribe(principal.guild_id);
    let welcome = json!({
        "type": "welcome",
        "guild_id": principal.guild_id.0,
        "guild_name": principal.guild_name,
        "key_id": principal.key_id,
        "messages": ["progress", "encounter_complete"],
    });
    if socket.send(Message::Text(welcome.to_string().into())).await.is_err() {
        return;
    }
    let mut recheck = tokio::time::interval(RECHECK);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            received = feed.recv() => match received {
                Ok(message) if message.guild_id == principal.guild_id => {
                    // The topics carry guild ids; every message names the guild too.
                    let mut body = message.body.clone();
                    body["guild_name"] = json!(principal.guild_name);
                    if socket.send(Message::Text(body.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    let lagged = json!({
                        "type": "lagged",
                        "guild_id": principal.guild_id.0,
                        "guild_name": principal.guild_name,
                        "missed": missed,
                    });
                    if socket.send(Message::Text(lagged.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => last_heard = tokio::time::Instant::now(),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() >= IDLE_TIMEOUT {
                    let frame = CloseFrame { code: 1001, reason: "idle: no pong for 60 s".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            },
            _ = recheck.tick() => {
                if let Some(frame) = no_longer_admitted(state, &principal.key_id) {
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
            }
        }
    }
}

/// Why an open connection must close now: its key was revoked, or its guild deactivated
/// (as the service's key cache sees them, refreshed every few seconds).
fn no_longer_admitted(state: &AppState, key_id: &str) -> Option<CloseFrame> {
    state.keys.lapsed(key_id).map(|lapsed| match lapsed {
        Lapsed::Revoked => CloseFrame { code: CLOSE_REVOKED, reason: "API key revoked or expired".into() },
        Lapsed::GuildDeactivated(_) => {
            CloseFrame { code: CLOSE_GUILD_DEACTIVATED, reason: "guild deactivated".into() }
        }
    })
}
