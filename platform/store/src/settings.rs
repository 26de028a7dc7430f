//! Where ClickHouse is.

use clickhouse::Client;

/// Connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// HTTP endpoint, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl StoreSettings {
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        Self { url: url.into(), database: database.into(), user: None, password: None }
    }

    /// A client on the settings' database.
    pub fn client(&self) -> Client {
        self.server_client().with_database(&self.database)
    }

    /// A client on the server's default database (to create ours).
    pub fn server_client(&self) -> Client {
        let mut client = Client::default().with_url(&self.url).with_validation(false);
        if let Some(user) = &self.user {
            client = client.with_user(user);
        }
        if let Some(password) = &self.password {
            client = client.with_password(password);
        }
        client
    }
}
