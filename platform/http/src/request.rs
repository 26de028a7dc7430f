//! Per request: an id (the caller's, or one made), the span every log line of the request
//! carries, one structured log line, the request's metrics, and the `Deprecation` headers
//! for callers that used the legacy key header.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The header carrying a request's id: the caller's, or one made for the request.
pub const REQUEST_ID: &str = "x-request-id";

/// The caller's request id if it is sane (≤ 128 visible ASCII characters), else a new one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.as_bytes().iter().all(|b| b.is_ascii_graphic()))
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a header value")
        })
}

/// The span of one HTTP request. Its fields are the context of every log line written
/// while the request is served and, with OTLP export on, the attributes of the trace's
/// root span; `guild_id` and the status are recorded once known.
pub fn request_span(method: &Method, route: &str, request_id: &HeaderValue) -> tracing::Span {
    tracing::info_span!(
        "http_request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = route,
        request_id = request_id.to_str().unwrap_or(""),
        guild_id = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    )
}

/// The request's id (the caller's `X-Request-Id` if sane, else a new one), in the
/// request's extensions for handlers that record it (audit entries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Who made a request, as far as authentication found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    pub guild_id: i64,
    pub key_id: String,
    /// The key came in the legacy `X-API-Key` header.
    pub legacy: bool,
}

/// Who answered a request, for its log line and metrics: [`observe`] puts an empty one in
/// the request's extensions, authentication fills it in.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<Mutex<Option<Identified>>>);

impl RequestLog {
    /// Records the caller in the request's log, if the request is observed.
    pub fn identify(extensions: &Extensions, identified: Identified) {
        if let Some(log) = extensions.get::<RequestLog>() {
            *log.0.lock().expect("request log lock") = Some(identified);
        }
    }

    fn identified(&self) -> Option<Identified> {
        self.0.lock().expect("request log lock").clone()
    }
}

/// What a service counts of each request.
pub trait RequestMetrics: Clone + Send + Sync + 'static {
    /// One request answered: its route (the matched pattern, or `unmatched`), status,
    /// the caller's guild when authenticated, and how long it took.
    fn request(&self, route: &str, status: u16, guild_id: Option<i64>, elapsed: Duration);
}

/// The middleware: `router.layer(axum::middleware::from_fn_with_state(metrics, observe::<M>))`.
pub async fn observe<M: RequestMetrics>(
    State(metrics): State<M>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let client = request.extensions().get::<crate::ClientAddr>().map(|c| c.0);
    let method = request.method().clone();
    let log = RequestLog::default();
    request.extensions_mut().insert(log.clone());
    request.extensions_mut().insert(RequestId(id.to_str().unwrap_or("").to_string()));
    let span = request_span(&method, &route, &id);
    let mut response = next.run(request).instrument(span.clone()).await;
    let identified = log.identified();
    if identified.as_ref().is_some_and(|i| i.legacy) {
        response = with_deprecation(response, true);
    }
    response.headers_mut().insert(REQUEST_ID, id.clone());
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let guild_id = identified.as_ref().map(|i| i.guild_id);
    metrics.request(&route, status, guild_id, elapsed);
    span.record("http.response.status_code", status);
    if let Some(guild_id) = guild_id {
        span.record("guild_id", guild_id);
    }
    let _entered = span.enter();
    tracing::info!(
        request_id = id.to_str().unwrap_or(""),
        guild_id,
        key_id = identified.as_ref().map(|i| i.key_id.as_str()),
        client = client.map(tracing::field::display),
        method = %method,
        route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Adds `Deprecation` and `Warning` headers when the key came in `X-API-Key`.
pub fn with_deprecation(mut response: Response, legacy: bool) -> Response {
    if legacy {
        response.headers_mut().insert("deprecation", HeaderValue::from_static("true"));
        response.headers_mut().insert(
            header::WARNING,
            HeaderValue::from_static("299 - \"X-API-Key is deprecated; use Authorization: Bearer\""),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    /// A request as counted: route, status, guild.
    type Counted = (String, u16, Option<i64>);

    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<Counted>>>);

    impl RequestMetrics for Seen {
        fn request(&self, route: &str, status: u16, guild_id: Option<i64>, _: Duration) {
            self.0.lock().unwrap().push((route.to_string(), status, guild_id));
        }
    }

    fn router(seen: Seen) -> Router {
        Router::new()
            .route(
                "/legacy/{id}",
                get(|request: Request| async move {
                    let who = Identified { guild_id: 7, key_id: "key-1".into(), legacy: true };
                    RequestLog::identify(request.extensions(), who);
                    "ok"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(seen, observe::<Seen>))
    }

    #[tokio::test]
    async fn a_request_is_counted_by_route_and_guild_and_keeps_the_callers_id() {
        let seen = Seen::default();
        let request =
            Request::builder().uri("/legacy/3").header(REQUEST_ID, "abc-1").body(Body::empty()).unwrap();
        let response = router(seen.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.headers()[REQUEST_ID], "abc-1");
        assert_eq!(response.headers()["deprecation"], "true");
        assert_eq!(seen.0.lock().unwrap().as_slice(), [("/legacy/{id}".to_string(), 200, Some(7))]);
    }

    #[test]
    fn an_insane_request_id_is_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("has space"));
        assert_ne!(request_id(&headers), "has space");
        headers.insert(REQUEST_ID, HeaderValue::from_str(&"x".repeat(129)).unwrap());
        assert_eq!(request_id(&headers).len(), 36);
    }
}
