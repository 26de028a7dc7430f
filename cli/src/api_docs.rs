//! The public API's one OpenAPI document, assembled where both services are visible: the
//! query API's routes and the upload service's, which the query API serves together
//! (`/openapi.json`, `/docs`, `/redoc`, `/reference`) behind the one entry point. Neither
//! service depends on the other; only the binary sees both.

use utoipa::openapi::OpenApi as Document;

/// The whole document: queries, administration, the live feed and uploads.
pub fn openapi() -> Document {
    wowlogs_query_api::public_document([wowlogs_producer::http::docs::openapi()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use wowlogs_query_api::http::docs::operations;

    #[test]
    fn the_one_document_has_the_upload_route_beside_the_query_routes() {
        let document = openapi();
        let routes = operations(&document);
        let uploads = routes.iter().find(|(_, path, _)| *path == "/api/v1/logs/upload");
        assert!(
            uploads.is_some_and(|(method, ..)| *method == "POST"),
            "the upload route is in the one document"
        );
        assert!(routes.iter().any(|(_, path, _)| *path == "/api/v1/encounters"));
        for (method, path) in [
            ("PUT", "/api/v1/live/{session}/{offset}"),
            ("POST", "/api/v1/live/{session}/close"),
            ("GET", "/api/v1/live/{session}"),
        ] {
            let (_, _, live) = routes.iter().find(|(m, p, _)| *m == method && *p == path).expect(path);
            let session = live.parameters.iter().flatten().find(|p| p.name == "session").expect("a session");
            let schema = serde_json::to_value(&session.schema).unwrap();
            assert_eq!(schema["pattern"], "^[0-9a-f]{64}$", "{method} {path}");
            assert!(live.responses.responses.contains_key("409") || method == "GET", "{method} {path}");
            // Query parameters are in the query, where clients (and schemathesis) put them.
            let query = |name: &str| {
                let parameter = live.parameters.iter().flatten().find(|p| p.name == name);
                parameter.map(|p| {
                    (
                        serde_json::to_value(&p.parameter_in).unwrap(),
                        serde_json::to_value(&p.required).unwrap(),
                    )
                })
            };
            match method {
                "POST" => assert_eq!(
                    query("bytes"),
                    Some((serde_json::json!("query"), serde_json::json!(true))),
                    "close's bytes"
                ),
                "PUT" => assert_eq!(query("file_name").map(|(at, _)| at), Some(serde_json::json!("query"))),
                _ => {}
            }
        }
    }

    #[test]
    fn the_upload_route_has_the_common_error_answers_like_every_route() {
        let document = openapi();
        let (_, _, upload) =
            operations(&document).into_iter().find(|(_, path, _)| *path == "/api/v1/logs/upload").unwrap();
        assert!(upload.responses.responses.contains_key("401"), "{:?}", upload.responses.responses.keys());
    }
}
