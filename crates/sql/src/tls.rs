//! TLS to the database, verifying the server against the CA bundle the deployer ships.
//!
//! The trust store is the PEM file at `DATABASE_CA_BUNDLE` (for RDS: `global-bundle.pem` from
//! https://truststore.pki.rds.amazonaws.com, every RDS CA of every Region). Neither a compiled-in
//! store nor the system store: RDS server certificates chain to RDS's own CAs, which no public
//! store holds, so either would only make every connection fail (or, worse, tempt a
//! "don't verify" switch). Without a readable bundle the worker does not connect and says so
//! in one check. The bundle is read at the first connection, not at init (cold start).
//!
//! PostgreSQL gets a small `MakeTlsConnect` over tokio-rustls (below); MySQL/MariaDB get the
//! same certificates through mysql_async's rustls support. Both verify the certificate chain
//! and the host name (or IP address) the endpoint names.

use bluegreen_domain::database::access::AccessFailure;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

pub const CA_BUNDLE_ENV: &str = "DATABASE_CA_BUNDLE";

/// The CA bundle: its PEM bytes (for mysql_async) and the rustls client (for tokio-postgres).
#[derive(Clone)]
pub struct Trust {
    pub pem: Arc<Vec<u8>>,
    pub config: Arc<ClientConfig>,
    pub certificates: usize,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Trust({} CA certificates)", self.certificates)
    }
}

/// rustls with aws-lc-rs, the provider the AWS SDK already links (no second crypto library).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// mysql_async builds its rustls client with the process-wide default provider.
pub fn install_default_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

impl Trust {
    /// From PEM bytes; at least one certificate, each one a usable trust anchor.
    pub fn from_pem(pem: Vec<u8>, origin: &str) -> Result<Self, AccessFailure> {
        let bad = |detail: String| AccessFailure::CaBundle { detail };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("{origin} is not a PEM bundle: {e}")))?;
        if certs.is_empty() {
            return Err(bad(format!("{origin} holds no certificate")));
        }
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs.iter().cloned());
        if added == 0 {
            return Err(bad(format!("{origin}: no certificate is a usable CA")));
        }
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(format!("TLS configuration: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            pem: Arc::new(pem),
            config: Arc::new(config),
            certificates: added,
        })
    }

    /// From the file at `path`.
    pub fn from_file(path: &str) -> Result<Self, AccessFailure> {
        let pem = std::fs::read(path).map_err(|e| AccessFailure::CaBundle {
            detail: format!("{CA_BUNDLE_ENV}={path} cannot be read: {e}"),
        })?;
        Self::from_pem(pem, path)
    }

    /// From `DATABASE_CA_BUNDLE`.
    pub fn from_env() -> Result<Self, AccessFailure> {
        match std::env::var(CA_BUNDLE_ENV) {
            Ok(path) if !path.trim().is_empty() => Self::from_file(path.trim()),
            _ => Err(AccessFailure::CaBundle {
                detail: format!("{CA_BUNDLE_ENV} is not set"),
            }),
        }
    }

    pub fn postgres(&self) -> MakeRustls {
        MakeRustls(self.config.clone())
    }
}

/// tokio-postgres' TLS over rustls.
#[derive(Clone)]
pub struct MakeRustls(Arc<ClientConfig>);

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            config: self.0.clone(),
            name: ServerName::try_from(domain.to_string())?,
        })
    }
}

pub struct RustlsConnect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let tls = tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await?;
            Ok(RustlsStream(tls))
        })
    }
}

pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    /// No channel binding: SCRAM without it (tokio-postgres' `prefer`), the server verified
    /// by its certificate.
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused_clearly() {
        let e = Trust::from_pem(b"nothing here".to_vec(), "x.pem").unwrap_err();
        assert!(
            matches!(&e, AccessFailure::CaBundle { detail } if detail.contains("no certificate")),
            "{e:?}"
        );
        let e = Trust::from_file("/nonexistent/bundle.pem").unwrap_err();
        assert!(
            matches!(&e, AccessFailure::CaBundle { detail } if detail.contains("cannot be read")),
            "{e:?}"
        );
    }
}
