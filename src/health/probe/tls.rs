//! TLS client contexts for SSL_GET, built once per distinct setting.

#[derive(Debug, Default)]
pub struct TlsCache {}
