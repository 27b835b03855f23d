//! The cost of a STARTTLS handshake on the proxy's side, as handshakes per
//! second of one core: full TLS 1.3, full TLS 1.2, and TLS 1.3 resumed with a
//! ticket. The server is configured exactly as `[tls]` configures it
//! (`ringwall::tls::Credentials`, ECDSA P-256 certificate from rcgen); the
//! client is rustls in the same thread, and only the time spent in the
//! server's calls is counted. See benches/README.md for the figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ringwall::tls::Credentials;
use rustls::pki_types::ServerName;
use rustls::{
    ClientConfig, ClientConnection, HandshakeKind, RootCertStore, ServerConfig, ServerConnection,
};

/// The server's certificate and the client trusting it.
fn configs() -> (Arc<ServerConfig>, RootCertStore) {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["mx.example.net".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (_, server) = Credentials::load(&cert, &key).unwrap().snapshot();
    let mut roots = RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    (server, roots)
}

fn client(
    roots: &RootCertStore,
    version: &'static rustls::SupportedProtocolVersion,
) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth(),
    )
}

/// One handshake over in-memory buffers (the client also reads the server's
/// post-handshake tickets); returns the time spent in the server's calls and
/// whether the session was resumed.
fn handshake(
    server_config: &Arc<ServerConfig>,
    client_config: &Arc<ClientConfig>,
) -> (Duration, bool) {
    let name = ServerName::try_from("mx.example.net").unwrap();
    let mut client = ClientConnection::new(Arc::clone(client_config), name).unwrap();
    let mut server_time = Duration::ZERO;
    let started = Instant::now();
    let mut server = ServerConnection::new(Arc::clone(server_config)).unwrap();
    server_time += started.elapsed();
    let mut wire = Vec::new();
    loop {
        wire.clear();
        while client.wants_write() {
            client.write_tls(&mut wire).unwrap();
        }
        let started = Instant::now();
        let mut input = wire.as_slice();
        while !input.is_empty() {
            server.read_tls(&mut input).unwrap();
            server.process_new_packets().unwrap();
        }
        let mut reply = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut reply).unwrap();
        }
        server_time += started.elapsed();
        let mut input = reply.as_slice();
        while !input.is_empty() {
            client.read_tls(&mut input).unwrap();
            client.process_new_packets().unwrap();
        }
        if !client.is_handshaking()
            && !server.is_handshaking()
            && !client.wants_write()
            && reply.is_empty()
        {
            break;
        }
    }
    (
        server_time,
        server.handshake_kind() == Some(HandshakeKind::Resumed),
    )
}

fn bench(c: &mut Criterion) {
    let (server, roots) = configs();
    let mut group = c.benchmark_group("tls_handshake_server_side");
    for (name, version) in [
        ("tls13_full", &rustls::version::TLS13),
        ("tls12_full", &rustls::version::TLS12),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| handshake(&server, &client(&roots, version)).0)
                    .sum()
            })
        });
    }
    group.bench_function("tls13_resumed", |b| {
        let resuming = client(&roots, &rustls::version::TLS13);
        handshake(&server, &resuming);
        assert!(
            handshake(&server, &resuming).1,
            "the ticket should resume the session"
        );
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| handshake(&server, &resuming).0)
                .sum()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Text results only: the figures go to benches/README.md.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
