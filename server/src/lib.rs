//! A Kindred node: storage, client API, federation links and web pages.
//!
//! `bin/kindred/main.rs` only parses arguments, loads config, starts tracing and binds; everything else
//! is here, behind [`Node::open`] and [`serve`], so tests can run several nodes in one
//! process on ephemeral loopback ports.

mod api;
mod app;
mod calendar;
pub mod config;
mod federation;
mod http;
pub mod matching;
mod metrics;
mod net;
mod node;
mod rules;
mod serve;
mod store;
pub mod tls;
mod web;

pub use config::{Config, LogFormat};
pub use node::notifications::send_test_email;
pub use node::{
    Clock, Node, NodeError, Opened, SkewedClock, SystemClock, backup, doctor, operator, storage,
};
pub use serve::serve;

/// Opens the node in `config.server.data_dir`, prints the one-time set-up link while no
/// admin exists, and serves on `listener` until `shutdown` completes.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    run_with_clock(listener, config, std::sync::Arc::new(SystemClock), shutdown).await
}

/// As [`run`], reading the time from `clock` (benchmarks that move time on: digests a
/// week later).
pub async fn run_with_clock(
    listener: tokio::net::TcpListener,
    mut config: Config,
    clock: std::sync::Arc<dyn Clock>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    // With port 0 the OS picks the port; record the real one so links and logs are right.
    config.server.listen = listener.local_addr().map_err(NodeError::Serve)?;
    // Before anything opens: a node that cannot send email says so and nothing more.
    node::notifications::check_relay(&config).map_err(NodeError::Email)?;
    let opened = Node::open_with_clock(config, clock)?;
    let node = &opened.node;
    if let Some(token) = &opened.setup_token {
        announce_setup(node, token);
    }
    println!(
        "Kindred node {} is listening on http://{}",
        node.config().node.name,
        node.config().server.listen
    );
    tracing::info!(
        name = %node.config().node.name,
        node_id = %node.node_id(),
        address = %node.config().public_url(),
        "node started"
    );
    serve(opened, listener, shutdown).await
}

/// Prints how to create the first admin. Goes to stdout (not the log) on purpose: it is
/// for the person starting the node, once.
fn announce_setup(node: &Node, token: &str) {
    let url = node.config().public_url();
    println!();
    println!("  Welcome to Kindred. No admin exists yet. Open this link in a browser to");
    println!("  create the first admin account:");
    println!();
    println!("    {url}/setup?token={token}");
    println!();
    println!("  or, from a terminal:");
    println!();
    println!("    kindred-cli --node {url} setup --token {token}");
    println!();
    println!("  This token works once and is replaced each time the node starts until it is used.");
    println!();
}
