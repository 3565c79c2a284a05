//! The listening socket, plain or TLS (rustls with ring), checked before
//! the server starts.

use poem::listener::{
    Acceptor, AcceptorExt, Listener, RustlsAcceptor, RustlsCertificate, RustlsConfig, TcpAcceptor, TcpListener,
};

use super::error::{io, StartError};
use crate::config::Config;

/// The bound listener, plain or TLS. Not a `BoxAcceptor`: poem boxes the
/// acceptor it is given, and one boxed twice splits every connection
/// twice, a lock and two dynamic calls more on every read and write.
pub(super) enum Bound {
    Plain(TcpAcceptor),
    Tls(
        RustlsAcceptor<
            FirstAcceptYields<TcpAcceptor>,
            futures_util::stream::Iter<std::array::IntoIter<RustlsConfig, 1>>,
        >,
    ),
}

/// Picks ring as the process-wide TLS provider: the build carries two
/// (ring through reqwest, aws-lc-rs through poem's listener) and rustls
/// refuses to guess between them.
pub fn install_crypto_provider() {
    // Err means one is installed already, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Fails start-up with a clear message when the certificate and key cannot
/// serve TLS (poem would only log it and then drop every connection).
fn check_tls_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), StartError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, e: &dyn std::fmt::Display| StartError::Config(format!("{what}: {e}"));
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("WATCHME_TLS_CERT is not a PEM certificate chain", &e))?;
    if certs.is_empty() {
        return Err(StartError::Config("WATCHME_TLS_CERT holds no certificate".into()));
    }
    let key =
        PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad("WATCHME_TLS_KEY is not a PEM private key", &e))?;
    rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("WATCHME_TLS_CERT and WATCHME_TLS_KEY do not make a usable pair", &e))?;
    Ok(())
}

/// Makes the first `accept` wait one scheduler turn. poem's TLS acceptor
/// races "load the TLS config" against "accept a connection" on its first
/// call; a client already waiting in the backlog could win and be dropped
/// for want of a config. Yielding once lets the config load first.
pub(super) struct FirstAcceptYields<A> {
    inner: A,
    first: bool,
}

impl<A: Acceptor> Acceptor for FirstAcceptYields<A> {
    type Io = A::Io;

    fn local_addr(&self) -> Vec<poem::web::LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(Self::Io, poem::web::LocalAddr, poem::web::RemoteAddr, poem::http::uri::Scheme)> {
        if std::mem::take(&mut self.first) {
            tokio::task::yield_now().await;
        }
        self.inner.accept().await
    }
}

/// Binds the configured address, with TLS when a certificate is configured.
pub(super) async fn bind(config: &Config) -> Result<(Bound, std::net::SocketAddr), StartError> {
    let listener = TcpListener::bind(config.server.bind);
    let bound = io(format!("binding {}", config.server.bind));
    let acceptor = match &config.security.tls {
        None => Bound::Plain(listener.into_acceptor().await.map_err(bound)?),
        Some((cert, key)) => {
            install_crypto_provider();
            let cert_pem = std::fs::read(cert).map_err(io(format!("reading WATCHME_TLS_CERT {}", cert.display())))?;
            let key_pem = std::fs::read(key).map_err(io(format!("reading WATCHME_TLS_KEY {}", key.display())))?;
            check_tls_pair(&cert_pem, &key_pem)?;
            let tls = RustlsConfig::new().fallback(RustlsCertificate::new().cert(cert_pem).key(key_pem));
            let tcp = FirstAcceptYields { inner: listener.into_acceptor().await.map_err(bound)?, first: true };
            Bound::Tls(tcp.rustls(futures_util::stream::iter([tls])))
        }
    };
    let addr = match &acceptor {
        Bound::Plain(a) => a.local_addr(),
        Bound::Tls(a) => a.local_addr(),
    };
    let addr = addr
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| StartError::Config("listener has no socket address".into()))?;
    Ok((acceptor, addr))
}
