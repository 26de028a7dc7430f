//! Pieces of the health endpoints every service serves alike.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::time::Duration;

/// The health routes every service serves alike, publicly and on its internal port:
/// `/health` and `/health/detailed` (each component), `/health/live`, `/health/ready`.
/// `service` names the service in the liveness answer.
pub fn health_routes<S, H, HT, R, RT>(service: &'static str, health: H, ready: R) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    H: axum::handler::Handler<HT, S> + Clone,
    HT: 'static,
    R: axum::handler::Handler<RT, S>,
    RT: 'static,
{
    use axum::routing::get;
    axum::Router::new()
        .route("/health", get(health.clone()))
        .route("/health/detailed", get(health))
        .route("/health/live", get(move || async move { live(service) }))
        .route("/health/ready", get(ready))
}

/// `GET /health/live`: the process is serving.
pub fn live(service: &str) -> impl IntoResponse + use<> {
    answer(service, Overall::Healthy, None, json!({}))
}

/// What a service's `/health` says of it as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    /// Everything it depends on answers.
    Healthy,
    /// It does its work, but something around it does not answer (the live feed, fresh keys).
    Degraded,
    /// It cannot do its work: 503, so load balancers and orchestrators act on it.
    Unhealthy,
}

impl Overall {
    /// Unhealthy when the service cannot do its work, degraded when it can but not
    /// everything around it answers, healthy otherwise.
    pub fn of(working: bool, everything_answers: bool) -> Self {
        match (working, everything_answers) {
            (false, _) => Overall::Unhealthy,
            (true, false) => Overall::Degraded,
            (true, true) => Overall::Healthy,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Overall::Healthy => "healthy",
            Overall::Degraded => "degraded",
            Overall::Unhealthy => "unhealthy",
        }
    }
}

/// A health answer as the specification shapes it: `status` (`healthy`, `degraded`,
/// `unhealthy`), `service`, `timestamp` (RFC 3339, UTC), `database` (`connected` or
/// `disconnected`) for a service that reads or writes ClickHouse, and `components`, each
/// with its own `status` (`up`, `down`, …) and latency or error; 503 when unhealthy.
pub fn answer(
    service: &str,
    overall: Overall,
    database: Option<bool>,
    components: Value,
) -> (StatusCode, Json<Value>) {
    let mut body = json!({
        "status": overall.name(),
        "service": service,
        "timestamp": now_rfc3339(),
    });
    if let Some(connected) = database {
        body["database"] = json!(if connected { "connected" } else { "disconnected" });
    }
    if components.as_object().is_some_and(|c| !c.is_empty()) {
        body["components"] = components;
    }
    let code = if overall == Overall::Unhealthy { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (code, Json(body))
}

/// A readiness answer: `ready` (200), or `not ready` (503) with what is missing, as
/// `{name: reason}` (`"clickhouse": "…"`), with `service` and `timestamp` as in [`answer`].
pub fn readiness(service: &str, missing: Option<(&str, String)>) -> (StatusCode, Json<Value>) {
    let mut body = json!({
        "status": if missing.is_none() { "ready" } else { "not ready" },
        "service": service,
        "timestamp": now_rfc3339(),
    });
    let Some((name, reason)) = missing else { return (StatusCode::OK, Json(body)) };
    body[name] = json!(reason);
    (StatusCode::SERVICE_UNAVAILABLE, Json(body))
}

/// Now as RFC 3339 in UTC, to the millisecond.
fn now_rfc3339() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A Prometheus text exposition as a response.
pub fn metrics_text(text: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// One component of `/health`: whether it is up, and its JSON (status with latency, or
/// the error).
pub fn component(probe: Result<Duration, String>) -> (bool, Value) {
    match probe {
        Ok(latency) => (true, json!({"status": "up", "latency_ms": latency.as_secs_f64() * 1000.0})),
        Err(error) => (false, json!({"status": "down", "error": error})),
    }
}

/// A probe's latest answer, reused for a short time: however often (or however many at
/// once) health endpoints are called, the dependency is asked at most once per period.
pub struct RecentProbe {
    fresh: Duration,
    last: tokio::sync::Mutex<Option<(std::time::Instant, Result<Duration, String>)>>,
}

impl RecentProbe {
    pub fn new(fresh: Duration) -> Self {
        RecentProbe { fresh, last: tokio::sync::Mutex::new(None) }
    }

    /// The last answer if it is fresh, else `probe`'s (callers arriving meanwhile wait
    /// for it instead of asking again).
    pub async fn get(
        &self,
        probe: impl Future<Output = Result<Duration, String>>,
    ) -> Result<Duration, String> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = &*last
            && at.elapsed() < self.fresh
        {
            return answer.clone();
        }
        let answer = probe.await;
        *last = Some((std::time::Instant::now(), answer.clone()));
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_burst_of_health_calls_asks_the_dependency_once() {
        let probe = RecentProbe::new(Duration::from_secs(60));
        let asked = AtomicU32::new(0);
        let ask = || async {
            asked.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Duration::from_millis(1))
        };
        let answers = futures_join(&probe, ask).await;
        assert!(answers.iter().all(Result::is_ok));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_health_answer_names_its_service_and_time_as_the_specification_shows() {
        let (code, Json(body)) =
            answer("query-api", Overall::Healthy, Some(true), json!({"kafka": {"status": "up"}}));
        assert_eq!(code, StatusCode::OK);
        assert_eq!((body["status"].as_str(), body["service"].as_str()), (Some("healthy"), Some("query-api")));
        assert_eq!(body["database"], "connected");
        let at = body["timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'), "{at}");
        assert_eq!(body["components"]["kafka"]["status"], "up");
    }

    #[test]
    fn an_unhealthy_service_answers_503_and_one_without_clickhouse_names_no_database() {
        let (code, Json(body)) = answer("upload", Overall::Unhealthy, None, json!({}));
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "unhealthy");
        assert!(body.get("database").is_none() && body.get("components").is_none(), "{body}");
        assert_eq!(answer("x", Overall::Degraded, Some(false), json!({})).0, StatusCode::OK);
        assert_eq!(answer("x", Overall::Degraded, Some(false), json!({})).1["database"], "disconnected");
    }

    #[test]
    fn readiness_is_ready_or_names_what_is_missing() {
        let (code, Json(body)) = readiness("events-sink", None);
        assert_eq!(
            (code, body["status"].as_str(), body["service"].as_str()),
            (StatusCode::OK, Some("ready"), Some("events-sink"))
        );
        let (code, Json(body)) = readiness("upload", Some(("kafka", "no broker".into())));
        assert_eq!((code, body["status"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("not ready")));
        assert_eq!(body["kafka"], "no broker");
        assert!(body["timestamp"].is_string());
    }

    #[test]
    fn overall_is_unhealthy_when_not_working_and_degraded_when_something_around_is_down() {
        assert_eq!(Overall::of(false, true), Overall::Unhealthy);
        assert_eq!(Overall::of(false, false), Overall::Unhealthy);
        assert_eq!(Overall::of(true, false), Overall::Degraded);
        assert_eq!(Overall::of(true, true), Overall::Healthy);
    }

    async fn futures_join<F, Fut>(probe: &RecentProbe, ask: F) -> Vec<Result<Duration, String>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Duration, String>>,
    {
        let (a, b, c) = tokio::join!(probe.get(ask()), probe.get(ask()), probe.get(ask()));
        vec![a, b, c]
    }
}
