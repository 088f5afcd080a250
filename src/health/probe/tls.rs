//! TLS client side of SSL_GET: client contexts built once per distinct [`TlsCheck`], the
//! server name (SNI and, with `verify_ca`, the name checked), and the handshake.
//!
//! As keepalived, the server's certificate is accepted whatever it is unless `verify_ca` asks
//! for a check of the chain and name; the handshake signatures are still verified, so the
//! server must hold the key of the certificate it shows. rustls speaks TLS 1.2 and 1.3 only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::model::{CheckerCommon, TlsCheck};

use super::socket::step;

/// Client contexts by setting. Shared by every probe through `&ProbeEnv`, hence the lock;
/// it is held only to look up or insert, never across a handshake.
#[derive(Debug, Default)]
pub struct TlsCache {
    configs: Mutex<HashMap<TlsCheck, Arc<ClientConfig>>>,
}

impl TlsCache {
    /// The context for `check`, built on first use. A file that cannot be read is an error
    /// each time (not cached), so fixing the file heals the check without a reload.
    pub fn config(&self, check: &TlsCheck) -> Result<Arc<ClientConfig>, String> {
        if let Some(config) = self.lock().get(check) {
            return Ok(Arc::clone(config));
        }
        let config = Arc::new(build(check)?);
        // Two probes may build the same context at once; either result is the same.
        self.lock().insert(check.clone(), Arc::clone(&config));
        Ok(config)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TlsCheck, Arc<ClientConfig>>> {
        // The map stays consistent even if a holder panicked: inserts are single calls.
        self.configs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn build(check: &TlsCheck) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS context: {err}"))?;
    let builder = match &check.verify_ca {
        Some(path) => builder.with_root_certificates(roots(path)?),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider))),
    };
    let mut config = match (&check.certificate, &check.key) {
        (Some(certificate), key) => {
            let chain = certificates(certificate)?;
            // keepalived reads the key from the certificate file when no key file is named.
            let key_path = key.as_deref().unwrap_or(certificate);
            let key = PrivateKeyDer::from_pem_file(key_path)
                .map_err(|err| format!("SSL key {}: {err}", key_path.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|err| format!("SSL certificate {}: {err}", certificate.display()))?
        }
        (None, Some(key)) => {
            return Err(format!(
                "SSL key {} given without a certificate",
                key.display()
            ))
        }
        (None, None) => builder.with_no_client_auth(),
    };
    config.enable_sni = check.enable_sni;
    Ok(config)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|err| format!("certificate file {}: {err}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "certificate file {}: no certificate in it",
            path.display()
        ));
    }
    Ok(certificates)
}

fn roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(path)? {
        roots
            .add(certificate)
            .map_err(|err| format!("CA file {}: {err}", path.display()))?;
    }
    Ok(roots)
}

/// keepalived's default: any certificate will do, but the handshake must be signed by the key
/// of the certificate shown (so the provider's signature checks still run).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The name the handshake uses: with `enable_sni` the `sni_name`, else `virtualhost`; else
/// the address connected to. rustls sends it as SNI only when SNI is enabled and it is a DNS
/// name, and checks the certificate against it when `verify_ca` is set.
fn server_name(
    check: &TlsCheck,
    virtualhost: Option<&str>,
    ip: IpAddr,
) -> Result<ServerName<'static>, String> {
    let sni = if check.enable_sni {
        check.sni_name.as_deref()
    } else {
        None
    };
    let Some(name) = sni.or(virtualhost) else {
        return Ok(ServerName::IpAddress(ip.into()));
    };
    // A Host header may carry a port (`www.example.com:8443`); the TLS name never does.
    let host = match name.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') => {
            host
        }
        _ => name,
    };
    ServerName::try_from(host.to_owned())
        .map_err(|_| format!("`{name}` is not a valid TLS server name"))
}

/// The TLS handshake over `tcp`, as one step of the exchange.
pub(super) async fn handshake(
    cache: &TlsCache,
    check: &TlsCheck,
    virtualhost: Option<&str>,
    tcp: TcpStream,
    common: &CheckerCommon,
    deadline: Instant,
) -> Result<TlsStream<TcpStream>, String> {
    let config = cache.config(check)?;
    let name = server_name(check, virtualhost, common.connect_ip)?;
    let connector = TlsConnector::from(config);
    step(
        common,
        deadline,
        "in the TLS handshake",
        connector.connect(name, tcp),
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn sni(name: Option<&str>) -> TlsCheck {
        TlsCheck {
            enable_sni: true,
            sni_name: name.map(str::to_owned),
            ..TlsCheck::default()
        }
    }

    #[test]
    fn server_name_prefers_sni_name_then_virtualhost_then_ip() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let name = |check: &TlsCheck, vhost| server_name(check, vhost, ip).unwrap();
        assert_eq!(
            name(&sni(Some("a.example")), Some("b.example")),
            ServerName::try_from("a.example").unwrap()
        );
        assert_eq!(
            name(&sni(None), Some("b.example:8443")),
            ServerName::try_from("b.example").unwrap()
        );
        assert_eq!(
            name(&TlsCheck::default(), None),
            ServerName::IpAddress(ip.into())
        );
        // Without enable_sni the sni_name means nothing.
        let off = TlsCheck {
            sni_name: Some("a.example".into()),
            ..TlsCheck::default()
        };
        assert_eq!(name(&off, None), ServerName::IpAddress(ip.into()));
        assert!(server_name(&sni(Some("bad name")), None, ip).is_err());
    }

    #[test]
    fn unreadable_ca_file_is_an_error_not_a_panic() {
        let check = TlsCheck {
            verify_ca: Some("/nonexistent/director-ca.pem".into()),
            ..TlsCheck::default()
        };
        let err = TlsCache::default().config(&check).unwrap_err();
        assert!(err.contains("/nonexistent/director-ca.pem"), "{err}");
    }
}
