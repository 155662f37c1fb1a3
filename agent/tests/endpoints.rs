//! The health and metrics endpoint against clients that never finish a request:
//! an idle connection is closed once the header time is up, and probes are
//! answered while many such connections are open.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use kratix_agent::endpoints::{Health, serve};
use kratix_agent::metrics::Metrics;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn endpoint() -> std::net::SocketAddr {
    let health = Arc::new(Health {
        metrics: Arc::new(Metrics::default()),
        ready: AtomicBool::new(true),
    });
    serve("127.0.0.1:0".parse().expect("address"), health)
        .await
        .expect("serves")
}

async fn probe(address: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("answer");
    answer
}

#[tokio::test]
async fn a_client_that_never_sends_its_headers_is_cut_off() {
    let address = endpoint().await;
    let mut idle = TcpStream::connect(address).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: ag")
        .await
        .expect("half a request");
    let mut buffer = [0u8; 64];
    // Without a header timeout this read waits for ever.
    let read = tokio::time::timeout(Duration::from_secs(60), idle.read(&mut buffer))
        .await
        .expect("the endpoint closed the connection");
    assert!(
        matches!(read, Ok(0) | Err(_)) || buffer.starts_with(b"HTTP/1.1 408"),
        "{read:?}"
    );
}

#[tokio::test]
async fn probes_are_answered_while_many_idle_connections_are_open() {
    let address = endpoint().await;
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(address).await.expect("connect"));
    }
    let answer = tokio::time::timeout(Duration::from_secs(30), probe(address))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(idle);
}
