//! TLS for the HTTP client (webhook delivery, `serve --upstream`, `verify`, `health`): rustls
//! with ring's crypto, so the binary links no system OpenSSL and builds statically.
//!
//! reqwest's `rustls-no-provider` build refuses to build any client, plain-http ones included,
//! until a process-wide rustls crypto provider is installed. Every client in standin is built
//! through [`client_builder`], which installs ring's provider first (once per process), so no
//! call site has to know about TLS. Certificates are checked against the system's CA store
//! (`SSL_CERT_FILE` / `SSL_CERT_DIR` are honoured; the container image carries a CA bundle).

use std::sync::Once;

static INSTALLED: Once = Once::new();

/// Install ring as the process's rustls crypto provider (once; a provider installed earlier by
/// an embedding program is kept).
pub fn init() {
    INSTALLED.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder with the crypto provider in place.
pub fn client_builder() -> reqwest::ClientBuilder {
    init();
    reqwest::Client::builder()
}

/// A client with reqwest's defaults (tests and one-off callers).
pub fn client() -> reqwest::Client {
    client_builder().build().expect("an HTTP client with default settings always builds")
}

#[cfg(test)]
mod tests {
    /// A builder from this module works without any other set-up, for plain http too.
    #[test]
    fn a_client_builds_without_an_explicit_init() {
        super::client_builder().build().expect("client");
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
