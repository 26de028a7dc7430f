//! Cross-origin requests from browsers: an allow-list of origins (`WOWLOGS_CORS_ORIGINS`),
//! never `*`. With an empty list no cross-origin request is allowed (browsers refuse).

use axum::http::{HeaderName, HeaderValue, Method, header};
use std::time::Duration;
use tower_http::cors::AllowOrigin;
pub use tower_http::cors::CorsLayer;

/// An origin the allow-list cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorsError {
    #[error("WOWLOGS_CORS_ORIGINS: `*` is not allowed; list the origins (https://app.example.com,...)")]
    Wildcard,
    #[error("WOWLOGS_CORS_ORIGINS: `{0}` is not an origin (scheme://host[:port], no path)")]
    NotAnOrigin(String),
}

/// The CORS layer for these origins (comma-separated), or `None` for an empty list.
pub fn cors_layer(origins: &str) -> Result<Option<CorsLayer>, CorsError> {
    let mut allowed = Vec::new();
    for origin in origins.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        if origin == "*" {
            return Err(CorsError::Wildcard);
        }
        let (scheme, rest) = origin.split_once("://").ok_or_else(|| CorsError::NotAnOrigin(origin.into()))?;
        let valid = matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains('/');
        let value = HeaderValue::from_str(origin).ok().filter(|_| valid);
        allowed.push(value.ok_or_else(|| CorsError::NotAnOrigin(origin.into()))?);
    }
    if allowed.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-api-key"),
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("x-file-name"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn preflight(app: &Router, origin: &str) -> Option<String> {
        let request = Request::builder()
            .method(Method::OPTIONS)
            .uri("/api")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.to_str().unwrap().to_string())
    }

    #[tokio::test]
    async fn only_listed_origins_are_allowed() {
        let layer = cors_layer("https://app.example.com, http://localhost:3000").unwrap().unwrap();
        let app = Router::new().route("/api", get(|| async { "ok" })).layer(layer);
        assert_eq!(
            preflight(&app, "https://app.example.com").await.as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(preflight(&app, "https://evil.example.com").await, None);
    }

    #[test]
    fn wildcards_and_non_origins_are_refused_and_an_empty_list_allows_none() {
        assert_eq!(cors_layer("*").unwrap_err(), CorsError::Wildcard);
        assert!(matches!(cors_layer("https://a.example.com/path"), Err(CorsError::NotAnOrigin(_))));
        assert!(matches!(cors_layer("app.example.com"), Err(CorsError::NotAnOrigin(_))));
        assert!(cors_layer("").unwrap().is_none());
    }
}
