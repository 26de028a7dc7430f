//! Client settings, from configuration to librdkafka properties.

use rdkafka::ClientConfig;

/// How to reach the brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    /// `host:port[,host:port...]`.
    pub brokers: String,
    /// Client id reported to the brokers.
    pub client_id: String,
    /// Extra librdkafka properties (`security.protocol`, ...), applied last.
    pub extra: Vec<(String, String)>,
    /// The producers' record batch compression (`compression.type`): [`COMPRESSIONS`],
    /// `lz4` by default. Subscribers need nothing for any of them (Kafka clients
    /// decompress what they fetch).
    pub compression: String,
}

/// The producers' compressions a deployment may choose (`WOWLOGS_KAFKA_COMPRESSION`): those
/// the linked librdkafka is built with (not zstd).
pub const COMPRESSIONS: [&str; 4] = ["lz4", "snappy", "gzip", "none"];

/// How every client authenticates to the brokers and encrypts its connections: the
/// librdkafka properties of [`Self::properties`], the same for producers, consumers and
/// admin clients.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaSecurity {
    /// `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub protocol: Option<String>,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (with a `sasl_*` protocol).
    pub sasl_mechanism: Option<String>,
    pub sasl_username: Option<String>,
    pub sasl_password: Option<String>,
    /// A PEM file of the certificate authorities to trust (default: the system's).
    pub ssl_ca_location: Option<String>,
}

/// A security setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    #[error("unknown Kafka security protocol {0:?}: plaintext, ssl, sasl_plaintext or sasl_ssl")]
    Protocol(String),
    #[error("unknown SASL mechanism {0:?}: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")]
    Mechanism(String),
    #[error("the {0} protocol needs a SASL mechanism, user name and password")]
    SaslIncomplete(String),
    #[error("SASL settings are given but the protocol ({0}) uses no SASL")]
    SaslUnused(String),
}

impl KafkaSecurity {
    /// The librdkafka properties, checked: a SASL protocol has its mechanism and
    /// credentials, SASL settings are not given to a protocol without SASL.
    pub fn properties(&self) -> Result<Vec<(String, String)>, SecurityError> {
        let protocol = self.protocol.as_deref().unwrap_or("plaintext").to_ascii_lowercase();
        if !["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"].contains(&protocol.as_str()) {
            return Err(SecurityError::Protocol(protocol));
        }
        let mut properties = vec![("security.protocol".to_string(), protocol.clone())];
        let sasl = [&self.sasl_mechanism, &self.sasl_username, &self.sasl_password];
        if protocol.starts_with("sasl_") {
            let [Some(mechanism), Some(username), Some(password)] = sasl else {
                return Err(SecurityError::SaslIncomplete(protocol));
            };
            let mechanism = mechanism.to_ascii_uppercase();
            if !["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"].contains(&mechanism.as_str()) {
                return Err(SecurityError::Mechanism(mechanism));
            }
            properties.push(("sasl.mechanism".into(), mechanism));
            properties.push(("sasl.username".into(), username.clone()));
            properties.push(("sasl.password".into(), password.clone()));
        } else if sasl.iter().any(|s| s.is_some()) {
            return Err(SecurityError::SaslUnused(protocol));
        }
        if let Some(ca) = &self.ssl_ca_location {
            properties.push(("ssl.ca.location".into(), ca.clone()));
        }
        Ok(properties)
    }
}

impl KafkaSettings {
    pub fn new(brokers: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: client_id.into(),
            extra: Vec::new(),
            compression: "lz4".into(),
        }
    }

    /// The same settings with `security`'s properties for every client.
    pub fn secured(mut self, security: &KafkaSecurity) -> Result<Self, SecurityError> {
        self.extra.extend(security.properties()?);
        Ok(self)
    }

    /// Properties common to every client.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers).set("client.id", &self.client_id);
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }

    /// The same settings with producers compressing with `compression` (one of
    /// [`COMPRESSIONS`]).
    pub fn compressed(mut self, compression: impl Into<String>) -> Self {
        self.compression = compression.into();
        self
    }

    /// A producer that never loses or duplicates an acknowledged message: idempotent
    /// (which implies `acks=all` and ordered retries), compressed (lz4 unless chosen
    /// otherwise), batching for throughput, retrying transient failures until
    /// `message.timeout.ms`.
    pub fn producer_config(&self) -> ClientConfig {
        let mut config = self.client_config();
        config
            .set("enable.idempotence", "true")
            .set("compression.type", &self.compression)
            .set("linger.ms", "20")
            // At most this many records per batch: consumers re-fetch that many records
            // before a committed offset (see `wowlogs_consumers::context::GroupContext`).
            .set("batch.num.messages", "10000")
            .set("batch.size", "1000000")
            .set("queue.buffering.max.messages", "1000000")
            .set("queue.buffering.max.kbytes", "1048576")
            .set("message.timeout.ms", "300000")
            // What the topics take (`max.message.bytes`, set at creation): a record too large
            // fails at once with MessageSizeTooLarge instead of at the broker.
            .set("message.max.bytes", wowlogs_schemas::topics::MAX_MESSAGE_BYTES);
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl(protocol: &str) -> KafkaSecurity {
        KafkaSecurity {
            protocol: Some(protocol.into()),
            sasl_mechanism: Some("scram-sha-512".into()),
            sasl_username: Some("wowlogs".into()),
            sasl_password: Some("secret".into()),
            ssl_ca_location: Some("/etc/kafka/ca.pem".into()),
        }
    }

    #[test]
    fn producers_compress_with_lz4_unless_told_otherwise_and_every_choice_makes_a_producer() {
        let default = KafkaSettings::new("kafka:9092", "test").producer_config();
        assert_eq!(default.get("compression.type"), Some("lz4"));
        for codec in COMPRESSIONS {
            let config = KafkaSettings::new("kafka:9092", "test").compressed(codec).producer_config();
            assert_eq!(config.get("compression.type"), Some(codec));
            let made: Result<rdkafka::producer::BaseProducer, _> = config.create();
            assert!(made.is_ok(), "{codec}: {:?}", made.err());
        }
        let consumer = KafkaSettings::new("kafka:9092", "test").compressed("none").client_config();
        assert_eq!(consumer.get("compression.type"), None, "a producer's property only");
    }

    #[test]
    fn every_client_gets_the_security_properties() {
        let settings = KafkaSettings::new("kafka:9093", "test").secured(&sasl("SASL_SSL")).unwrap();
        let config = settings.producer_config();
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("wowlogs"));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/kafka/ca.pem"));
        assert_eq!(settings.client_config().get("sasl.password"), Some("secret"));
        let plain = KafkaSettings::new("kafka:9092", "test").secured(&KafkaSecurity::default()).unwrap();
        assert_eq!(plain.client_config().get("security.protocol"), Some("plaintext"));
    }

    #[test]
    fn the_client_library_takes_tls_and_scram_so_every_setting_can_work() {
        // librdkafka refuses `ssl` and SCRAM when built without OpenSSL: built with it,
        // a client with them is made (it connects to nothing until asked).
        use rdkafka::consumer::BaseConsumer;
        for protocol in ["ssl", "sasl_ssl", "sasl_plaintext"] {
            let security = if protocol == "ssl" {
                KafkaSecurity { protocol: Some("ssl".into()), ..KafkaSecurity::default() }
            } else {
                KafkaSecurity { ssl_ca_location: None, ..sasl(protocol) }
            };
            let settings = KafkaSettings::new("127.0.0.1:1", "test").secured(&security).unwrap();
            let made = settings.client_config().set("group.id", "tls-test").create::<BaseConsumer>();
            assert!(made.is_ok(), "{protocol}: {:?}", made.err());
        }
    }

    #[test]
    fn settings_that_cannot_work_are_refused_before_any_client() {
        let missing = KafkaSecurity { sasl_password: None, ..sasl("sasl_plaintext") };
        assert_eq!(missing.properties(), Err(SecurityError::SaslIncomplete("sasl_plaintext".into())));
        let unused = KafkaSecurity { protocol: Some("ssl".into()), ..sasl("ssl") };
        assert_eq!(unused.properties(), Err(SecurityError::SaslUnused("ssl".into())));
        let odd = KafkaSecurity { protocol: Some("tls".into()), ..KafkaSecurity::default() };
        assert!(matches!(odd.properties(), Err(SecurityError::Protocol(_))));
        let mechanism = KafkaSecurity { sasl_mechanism: Some("GSSAPI".into()), ..sasl("sasl_ssl") };
        assert!(matches!(mechanism.properties(), Err(SecurityError::Mechanism(_))));
    }
}
