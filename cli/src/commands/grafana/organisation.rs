//! A guild's own Grafana organisation, through Grafana's HTTP API: the organisation
//! `Guild <G>`, its ClickHouse data source on the guild's user and database, the
//! analyst dashboards, and the viewers named. What to send is planned by pure
//! functions ([`plan`]); [`apply`] sends it, finding what exists first, so a repeated
//! grant updates instead of duplicating.
//!
//! Grafana cannot run where this project is built and tested (it is not packaged
//! there), so the requests follow Grafana's HTTP API documentation (`/api/orgs`,
//! `/api/datasources`, `/api/dashboards/db`, `/api/org/users`) and the tests check
//! what is planned, not a live Grafana's answers.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use wowlogs_http::percent_encode;
use wowlogs_store::analytics::GuildAccess;

/// The dashboards a guild's organisation gets: every provisioned dashboard with a
/// ClickHouse `guild` variable (the tests check this list against the folder).
pub const ANALYST_DASHBOARDS: &[(&str, &str)] = &[
    ("encounter-analysis.json", include_str!("../../../../grafana/dashboards/encounter-analysis.json")),
    ("guild-activity.json", include_str!("../../../../grafana/dashboards/guild-activity.json")),
    ("progress-plan.json", include_str!("../../../../grafana/dashboards/progress-plan.json")),
    ("why-we-wiped.json", include_str!("../../../../grafana/dashboards/why-we-wiped.json")),
];

/// The data source's uid and type: the dashboards name this uid.
pub const CLICKHOUSE_UID: &str = "clickhouse";
const CLICKHOUSE_PLUGIN: &str = "grafana-clickhouse-datasource";

/// Where Grafana's ClickHouse plugin reaches ClickHouse (native protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickHouseFromGrafana {
    pub host: String,
    pub port: u16,
}

/// What a guild's organisation is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationPlan {
    pub name: String,
    /// The body of `POST /api/datasources` (and of the `PUT` that updates it).
    pub datasource: Value,
    /// The bodies of `POST /api/dashboards/db`.
    pub dashboards: Vec<Value>,
    /// The bodies of `POST /api/org/users`.
    pub viewers: Vec<Value>,
}

/// The organisation's name for guild `guild_id`.
pub fn organisation_name(guild_id: i64) -> String {
    format!("Guild {guild_id}")
}

/// What to send for `access` (its user's `password` goes to the data source's secure
/// fields only), with `viewers` (logins or e-mails of existing Grafana users).
pub fn plan(
    access: &GuildAccess,
    password: &str,
    clickhouse: &ClickHouseFromGrafana,
    viewers: &[String],
) -> Result<OrganisationPlan> {
    let datasource = json!({
        "name": "ClickHouse",
        "uid": CLICKHOUSE_UID,
        "type": CLICKHOUSE_PLUGIN,
        "access": "proxy",
        "isDefault": true,
        "jsonData": {
            "host": clickhouse.host,
            "port": clickhouse.port,
            "protocol": "native",
            "secure": false,
            "username": access.user,
            "defaultDatabase": access.database,
            // The wowlogs_guild profile's max_execution_time: readonly = 1 accepts only
            // its own value.
            "queryTimeout": "60",
        },
        "secureJsonData": { "password": password },
    });
    let mut dashboards = Vec::new();
    for (file, text) in ANALYST_DASHBOARDS {
        let mut dashboard: Value = serde_json::from_str(text).with_context(|| format!("dashboard {file}"))?;
        // A new dashboard of this organisation (the uid stays, so a repeat replaces it).
        dashboard["id"] = Value::Null;
        dashboards
            .push(json!({ "dashboard": dashboard, "overwrite": true, "message": "wowlogs grafana grant" }));
    }
    let viewers = viewers.iter().map(|login| json!({ "loginOrEmail": login, "role": "Viewer" })).collect();
    Ok(OrganisationPlan { name: organisation_name(access.guild_id), datasource, dashboards, viewers })
}

/// Grafana's HTTP API as an administrator, over one client (its connections reused
/// from request to request).
#[derive(Debug, Clone)]
pub struct Grafana {
    url: String,
    user: String,
    password: String,
    client: reqwest::Client,
}

impl Grafana {
    pub fn new(url: &str, user: &str, password: &str) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("an HTTP client for Grafana")?;
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            user: user.into(),
            password: password.into(),
            client,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str, org: Option<i64>) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .basic_auth(&self.user, Some(&self.password));
        if let Some(org) = org {
            request = request.header("X-Grafana-Org-Id", org.to_string());
        }
        request
    }

    /// Sends a request; `Ok(None)` for 404, the JSON answer for success.
    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Option<Value>> {
        let response = request.send().await.with_context(|| format!("Grafana: {what}"))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("Grafana refused to {what}: {status} {text}");
        }
        Ok(Some(serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// The organisation's id, if it exists.
    async fn organisation(&self, name: &str) -> Result<Option<i64>> {
        let path = format!("/api/orgs/name/{}", percent_encode(name));
        let found =
            self.send(self.request(reqwest::Method::GET, &path, None), "look up an organisation").await?;
        Ok(found.and_then(|org| org["id"].as_i64()))
    }
}

/// Makes or updates the organisation of `plan`; returns its id.
pub async fn apply(grafana: &Grafana, plan: &OrganisationPlan) -> Result<i64> {
    use reqwest::Method;
    let org = match grafana.organisation(&plan.name).await? {
        Some(id) => id,
        None => {
            let made = grafana
                .send(
                    grafana.request(Method::POST, "/api/orgs", None).json(&json!({ "name": plan.name })),
                    "create an organisation",
                )
                .await?
                .unwrap_or(Value::Null);
            made["orgId"]
                .as_i64()
                .with_context(|| format!("Grafana made {} without an id: {made}", plan.name))?
        }
    };
    // Acting in the organisation through X-Grafana-Org-Id needs the administrator to
    // be a member of it (its creator is; an organisation found may not have them).
    let admin = json!({ "loginOrEmail": grafana.user, "role": "Admin" });
    add_member(grafana.request(Method::POST, &format!("/api/orgs/{org}/users"), None).json(&admin))
        .await
        .context("Grafana: make the administrator a member of the organisation")?;
    let existing = format!("/api/datasources/uid/{CLICKHOUSE_UID}");
    let found =
        grafana.send(grafana.request(Method::GET, &existing, Some(org)), "look up the data source").await?;
    let (method, path) =
        if found.is_some() { (Method::PUT, existing) } else { (Method::POST, "/api/datasources".into()) };
    grafana
        .send(grafana.request(method, &path, Some(org)).json(&plan.datasource), "save the data source")
        .await?;
    for dashboard in &plan.dashboards {
        grafana
            .send(
                grafana.request(Method::POST, "/api/dashboards/db", Some(org)).json(dashboard),
                "save a dashboard",
            )
            .await?;
    }
    for viewer in &plan.viewers {
        add_member(grafana.request(Method::POST, "/api/org/users", Some(org)).json(viewer))
            .await
            .with_context(|| format!("Grafana: add viewer {}", viewer["loginOrEmail"]))?;
    }
    Ok(org)
}

/// Adds a member; one already there (409) is what was asked.
async fn add_member(request: reqwest::RequestBuilder) -> Result<()> {
    let response = request.send().await?;
    let status = response.status();
    if !(status.is_success() || status == reqwest::StatusCode::CONFLICT) {
        bail!("{status} {}", response.text().await.unwrap_or_default());
    }
    Ok(())
}

/// Deletes the guild's organisation (its data source, dashboards and memberships with
/// it); returns whether there was one.
pub async fn remove(grafana: &Grafana, guild_id: i64) -> Result<bool> {
    let Some(org) = grafana.organisation(&organisation_name(guild_id)).await? else { return Ok(false) };
    grafana
        .send(
            grafana.request(reqwest::Method::DELETE, &format!("/api/orgs/{org}"), None),
            "delete an organisation",
        )
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wowlogs_store::StoreSettings;

    fn planned() -> OrganisationPlan {
        let access = GuildAccess::new(&StoreSettings::new("http://127.0.0.1:8123", "wowlogs"), 42, "s3cret");
        let clickhouse = ClickHouseFromGrafana { host: "clickhouse".into(), port: 9000 };
        plan(&access, "s3cret", &clickhouse, &["raid-leader@example.com".to_string()]).unwrap()
    }

    #[test]
    fn the_data_source_reads_the_guilds_database_as_the_guilds_user() {
        let plan = planned();
        assert_eq!(plan.name, "Guild 42");
        let source = &plan.datasource;
        assert_eq!(source["uid"], CLICKHOUSE_UID);
        assert_eq!(source["type"], "grafana-clickhouse-datasource");
        assert_eq!(source["jsonData"]["username"], "wowlogs_guild_42");
        assert_eq!(source["jsonData"]["defaultDatabase"], "wowlogs_guild_42");
        assert_eq!(source["jsonData"]["queryTimeout"], "60");
        assert_eq!(source["secureJsonData"]["password"], "s3cret");
        assert!(!source["jsonData"].to_string().contains("s3cret"), "the password is a secure field only");
    }

    #[test]
    fn the_organisation_gets_the_analyst_dashboards_on_its_data_source_and_viewers_only() {
        let plan = planned();
        let titles: Vec<&str> =
            plan.dashboards.iter().map(|d| d["dashboard"]["title"].as_str().unwrap()).collect();
        assert_eq!(plan.dashboards.len(), ANALYST_DASHBOARDS.len(), "{titles:?}");
        for body in &plan.dashboards {
            assert!(body["dashboard"]["id"].is_null() && body["overwrite"] == true);
            // Every ClickHouse query names the one data source the organisation has.
            let text = body["dashboard"].to_string();
            assert!(text.contains(&format!("\"uid\":\"{CLICKHOUSE_UID}\"")));
            assert!(!text.contains("\"uid\":\"prometheus\""), "no operators' panels: {text:.200}");
        }
        assert_eq!(plan.viewers, vec![json!({"loginOrEmail": "raid-leader@example.com", "role": "Viewer"})]);
    }

    #[test]
    fn the_built_in_dashboards_are_every_dashboard_with_a_guild_variable() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../grafana/dashboards");
        let mut with_guild: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .filter(|path| {
                let board: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                board["templating"]["list"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v["name"] == "guild" && v["datasource"]["uid"] == CLICKHOUSE_UID)
            })
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        with_guild.sort();
        let built_in: Vec<&str> = ANALYST_DASHBOARDS.iter().map(|(file, _)| *file).collect();
        assert_eq!(with_guild, built_in);
    }
}
