//! One SDK configuration for every worker ([`load`]), and rbg's ([`load_operator`]).
//! Endpoints come only from the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`
//! variables (and a profile's `endpoint_url`), which `aws-config` reads.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use std::time::Duration;

/// Adaptive retry: standard exponential backoff with jitter plus a client-side token
/// bucket that slows down when RDS throttles, so parallel workers back off together.
/// Four attempts fit the workers' 30-second Lambda timeout; what is still failing after
/// them reaches the state machine as `Throttled` / `AwsUnavailable`, whose `Retry` waits longer.
pub fn retry_config() -> RetryConfig {
    RetryConfig::adaptive()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

/// Connect and per-attempt limits well inside the Lambda timeout, so a hung connection is
/// retried instead of eating the whole invocation.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(8))
        .operation_timeout(Duration::from_secs(25))
        .build()
}

/// The five roots of Amazon Trust Services (Amazon Root CA 1–4, Starfield Services Root G2),
/// the CA of every AWS service endpoint in the `aws` and `aws-us-gov` partitions, regional and
/// FIPS alike (VPC interface endpoints serve the same certificates). They are all the workers
/// need to trust, and a compiled-in store of five costs nothing at init, where the system store
/// (rustls-native-certs reading the CA bundle and every file of /etc/ssl/certs) was most of a
/// cold start.
const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("amazon-trust-services-roots.pem");

/// Which certificates the HTTPS client trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Roots {
    /// [`AMAZON_TRUST_SERVICES_ROOTS`], built into the binary.
    AmazonTrustServices,
    /// The system's trust store, as the SDK loads it by default: `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR` when set, else the platform's (openssl-probe's bundle and directory).
    System,
}

/// The Amazon roots where AWS endpoints are known to use them: a Region of the `aws` or
/// `aws-us-gov` partition. Everywhere else the system store, the SDK's default: China
/// (`cn-*`), the isolated partitions (`*-iso*-*`, private roots), the European Sovereign Cloud
/// (`eusc-*`, roots of its own), an unknown or unset Region. `SSL_CERT_FILE` or `SSL_CERT_DIR`
/// set means the deployer chose the trust store: it wins (an inspecting proxy's CA, say, or an
/// HTTPS `AWS_ENDPOINT_URL` whose certificate is not Amazon's).
pub fn roots(region: Option<&str>, ssl_cert_env: bool) -> Roots {
    const ATS_GEOS: &[&str] = &["af", "ap", "ca", "eu", "il", "me", "mx", "sa", "us"];
    let labels: Vec<&str> = region.unwrap_or_default().split('-').collect();
    let ats_region = matches!(labels.len(), 3 | 4)
        && ATS_GEOS.contains(&labels[0])
        && labels[1..labels.len() - 1].iter().all(|l| {
            !l.is_empty() && !l.starts_with("iso") && l.bytes().all(|b| b.is_ascii_lowercase())
        })
        && labels[labels.len() - 1].parse::<u8>().is_ok();
    if ats_region && !ssl_cert_env {
        Roots::AmazonTrustServices
    } else {
        Roots::System
    }
}

/// [`roots`] for this process: the Region and the `SSL_CERT_*` variables of its environment.
pub fn roots_from_env() -> Roots {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    roots(
        region.as_deref(),
        var("SSL_CERT_FILE").is_some() || var("SSL_CERT_DIR").is_some(),
    )
}

pub fn trust_store(roots: Roots) -> TrustStore {
    match roots {
        Roots::AmazonTrustServices => {
            TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS)
        }
        Roots::System => TrustStore::default(),
    }
}

/// The HTTPS client `default-https-client` gives every SDK client (aws-smithy-runtime's
/// `default_https_client`: rustls with aws-lc, the config's connect/read timeouts, proxies
/// from the environment), with only the trust store changed.
fn https_client(trust_store: TrustStore) -> SharedHttpClient {
    let tls_context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .expect("a TLS context of a trust store alone always builds");
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(tls_context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

pub async fn load() -> SdkConfig {
    let roots = roots_from_env();
    tracing::debug!(?roots, "TLS trust store");
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(trust_store(roots)))
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// rbg's configuration: the SDK's defaults as an operator's machine has them (the default
/// credential and Region chain, the system's trust store, the SDK's standard retries and
/// timeouts); `profile` and `region` override the chain as the AWS CLI's `--profile` /
/// `--region` do. The Region may be unset: the caller says what to do about it.
pub async fn load_operator(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    use sha2::{Digest, Sha256};

    /// SHA-256 of each root certificate, in the order of the PEM file; the same certificates
    /// as https://www.amazontrust.com/repository/ lists (there by the hash of their public key,
    /// also in the file's comments).
    const FINGERPRINTS: [&str; 5] = [
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e", // Amazon Root CA 1
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4", // Amazon Root CA 2
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4", // Amazon Root CA 3
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092", // Amazon Root CA 4
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5", // Starfield Services G2
    ];

    #[test]
    fn the_compiled_in_roots_are_the_five_amazon_roots_and_rustls_accepts_them() {
        // As aws-smithy-http-client loads them (it panics on a certificate it cannot parse).
        let certs = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS)
            .collect::<Result<Vec<_>, _>>()
            .expect("valid PEM");
        let fingerprints: Vec<String> = certs
            .iter()
            .map(|der| {
                Sha256::digest(der.as_ref())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .collect();
        assert_eq!(fingerprints, FINGERPRINTS);
        for der in &certs {
            webpki::anchor_from_trusted_cert(der).expect("a usable trust anchor");
        }
    }

    #[test]
    fn amazon_roots_in_the_aws_and_govcloud_partitions() {
        for region in [
            "us-east-1",
            "eu-west-3",
            "ap-southeast-5",
            "il-central-1",
            "mx-central-1",
            "us-gov-west-1",
        ] {
            assert_eq!(
                roots(Some(region), false),
                Roots::AmazonTrustServices,
                "{region}"
            );
        }
    }

    #[test]
    fn the_system_store_elsewhere_or_when_ssl_cert_variables_choose_it() {
        for region in [
            "cn-north-1",
            "cn-northwest-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "us-isof-south-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
            "",
            "local",
            "us-east",
        ] {
            assert_eq!(roots(Some(region), false), Roots::System, "{region:?}");
        }
        assert_eq!(roots(None, false), Roots::System);
        assert_eq!(roots(Some("us-east-1"), true), Roots::System);
    }
}
