//! TLS for the fakes, with certificates made at test time: a private CA (what a cluster's own
//! CA is to an operator) and server certificates it issues, sound or broken on purpose.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The host name the fakes' certificates are for (and the URLs they give out).
pub const HOST: &str = "localhost";

/// What is wrong with a server certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// Valid now, for `localhost`.
    Sound,
    /// Valid, but for another host name.
    WrongName,
    /// For `localhost`, but it expired yesterday.
    Expired,
}

pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "tenant-sync test CA");
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// The CA certificate, PEM: what `--ca-file` or `SSL_CERT_FILE` would point at.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server configuration presenting a certificate this CA issued.
    pub fn server_config(&self, leaf: Leaf) -> Arc<ServerConfig> {
        let name = match leaf {
            Leaf::WrongName => "other.example",
            Leaf::Sound | Leaf::Expired => HOST,
        };
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        if leaf == Leaf::Expired {
            let now = OffsetDateTime::now_utc();
            params.not_before = now - Duration::days(30);
            params.not_after = now - Duration::days(1);
        }
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
        Arc::new(config)
    }
}

impl TestCa {
    /// A sound certificate for `localhost` this CA issued, and its private key, both PEM: for a
    /// server that reads them from files (the Pushgateway's `--web.config.file`).
    pub fn leaf_pem(&self) -> (String, String) {
        let mut params = CertificateParams::new(vec![HOST.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, HOST);
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        (certificate.pem(), key.serialize_pem())
    }
}

impl Default for TestCa {
    fn default() -> TestCa {
        TestCa::new()
    }
}
