//! Pieces of the health endpoints every service serves alike.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::time::Duration;

/// The health routes every service serves alike, publicly and on its internal port:
/// `/health` and `/health/detailed` (each component), `/health/live`, `/health/ready`.
pub fn health_routes<S, H, HT, R, RT>(health: H, ready: R) -> axum::Router<S>
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
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

/// `GET /health/live`: the process is serving.
pub async fn live() -> impl IntoResponse {
    Json(json!({"status": "up"}))
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

    async fn futures_join<F, Fut>(probe: &RecentProbe, ask: F) -> Vec<Result<Duration, String>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Duration, String>>,
    {
        let (a, b, c) = tokio::join!(probe.get(ask()), probe.get(ask()), probe.get(ask()));
        vec![a, b, c]
    }
}
