//! `GET /ws`: the live feed of the caller's guild over a WebSocket.

use crate::auth::{Scope, Stream};
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use wowlogs_tenancy::{ApiError, Presented, presented_key};

/// How often an open connection re-checks its key (revocation closes it).
const RECHECK: Duration = Duration::from_secs(2);
/// Close code for a key revoked while connected (application range 4000-4999).
pub const CLOSE_REVOKED: u16 = 4001;
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
/// messages it missed. The connection closes (code 4001) within seconds of the key
/// being revoked. The server pings every 20 s and drops a client silent for 60 s;
/// client messages over 4 KiB close the connection.
#[utoipa::path(
    get, path = "/ws", tag = "live",
    security(("bearer" = ["stream"])),
    responses(
        (status = 101, description = "WebSocket: JSON messages `welcome`, `progress`, `encounter_complete`, `lagged`"),
        (status = 401, description = "Missing or invalid key"), (status = 403, description = "The key lacks `stream`"),
        (status = 429, description = "The key holds its maximum of connections"),
    )
)]
pub async fn connect(
    scope: Scope<Stream>,
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let guard = state.connect(&scope.principal)?;
    let key = match presented_key(&headers) {
        Some(Presented::Bearer(key) | Presented::Legacy(key)) => key,
        None => return Err(ApiError::unauthorized("missing API key")),
    };
    let principal = scope.principal;
    let upgrade = upgrade.max_message_size(MAX_INBOUND_BYTES).max_frame_size(MAX_INBOUND_BYTES);
    Ok(upgrade.on_upgrade(move |socket| async move {
        state.metrics.connection(1);
        serve(socket, &state, &principal, &key).await;
        state.metrics.connection(-1);
        drop(guard);
    }))
}

async fn serve(mut socket: WebSocket, state: &AppState, principal: &wowlogs_tenancy::Principal, key: &str) {
    let mut feed = state.live.subscribe();
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
                if state.keys.authenticate(key).is_none() {
                    let frame = CloseFrame { code: CLOSE_REVOKED, reason: "API key revoked".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
            }
        }
    }
}
