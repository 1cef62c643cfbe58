//! `kindred`: runs a Kindred node (`serve`: parses arguments, loads the config, starts
//! logging, binds, and hands over to `kindred_server::run`), and backs it up and restores it.

/// `println!` that does not panic when the reader has gone (`kindred doctor | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod backup;
mod doctor;
mod storage;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kindred_protocol::NodeName;
use kindred_server::{Config, LogFormat};
use tracing_subscriber::EnvFilter;

/// jemalloc returns memory freed after a burst (a catch-up, a flood of posts) to the
/// system; glibc's per-thread arenas kept the peak. Settings: `.cargo/config.toml`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Kindred: a federated peer-support node for your organisation.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node (defaults: data in ./kindred-data, listening on 127.0.0.1:7070).
    Serve(ServeArgs),
    /// Back the node up to a file, while it runs (or while it is stopped).
    Backup(backup::BackupArgs),
    /// Restore a backup into a new, empty data folder.
    Restore(backup::RestoreArgs),
    /// Check the node's set-up and links, and say what to fix (exit code 1 if anything).
    Doctor(doctor::DoctorArgs),
    /// What the server's operator can do when no admin can sign in.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check the node's email settings.
    #[command(subcommand)]
    Email(EmailCommand),
    /// Check a stopped node's database, or move it to another storage engine.
    #[command(subcommand)]
    Storage(storage::StorageCommand),
}

#[derive(Subcommand)]
enum EmailCommand {
    /// Send a test email through the relay in [email] (exit code 1 if it fails).
    Test {
        /// Where to send it.
        address: String,
        /// The node's TOML config file (as given to kindred serve).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make a single-use password-reset link for a member (for example the only admin),
    /// through the running node or, when it is stopped, in its data folder.
    ResetLink {
        /// The member's username.
        username: String,
        #[command(flatten)]
        folder: backup::Folder,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// A TOML config file (see deploy/kindred.example.toml).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The data folder (overrides server.data_dir).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Address to listen on (overrides server.listen).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// This node's federation name, e.g. chex.example.org (overrides node.name).
    #[arg(long)]
    name: Option<NodeName>,
    /// The organisation's name as members of other organisations see it (overrides
    /// node.organisation).
    #[arg(long)]
    organisation: Option<String>,
    /// Log format (overrides log.format).
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// Accept a node key other than the one the database was made with, for this start:
    /// the admin replaced (or removed) node.key on purpose, for example because it leaked.
    /// Peers know the node by its key and must pair with it again.
    #[arg(long)]
    key_rotated: bool,
}

/// A panic (a bug, or an engine meeting damaged files: sled panics on some) is said in one
/// line an admin can read and report; the backtrace follows only with `RUST_BACKTRACE=1`.
/// Where the node catches it (opening a damaged database), its own message follows.
fn panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("kindred: internal error: {message}{place}");
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}

fn main() {
    panic_hook();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
        Command::Admin(AdminCommand::ResetLink { username, folder }) => {
            reset_link(&username, &folder)
        }
        Command::Storage(command) => match storage::run(command) {
            Ok(true) => Ok(()),
            Ok(false) => std::process::exit(1),
            Err(e) => Err(e),
        },
        Command::Email(EmailCommand::Test { address, config }) => email_test(&address, config),
        Command::Doctor(args) => match doctor::doctor(args) {
            Ok(true) => Ok(()),
            Ok(false) => std::process::exit(1),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        // One line an admin can read: what failed and why, without a backtrace.
        eprintln!("kindred: {}", said_once(&e));
        std::process::exit(1);
    }
}

/// On a first start with no name chosen, asks for one at a terminal; elsewhere (a service,
/// a script) the node refuses to start with the message saying how to choose one.
fn choose_name(config: &mut Config) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if config.node.name_chosen || config.server.data_dir.join("db").exists() {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(kindred_server::NodeError::NameNeeded.into());
    }
    eprintln!(
        "This node needs a name. It ends every member's id (@sam:<name>) and can never change:\n\
         use the host name people will reach it at, or localhost to try Kindred on this computer only."
    );
    loop {
        eprint!("Node name (e.g. kindred.example.org): ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line)? == 0 {
            return Err(kindred_server::NodeError::NameNeeded.into());
        }
        match NodeName::new(line.trim()) {
            Ok(name) => {
                config.node.name = name;
                config.node.name_chosen = true;
                return Ok(());
            }
            Err(e) => eprintln!("That cannot be a node name: {e}. Try again."),
        }
    }
}

fn reset_link(username: &str, folder: &backup::Folder) -> anyhow::Result<()> {
    let config = folder.config()?;
    let created = kindred_server::operator::reset_link(&config, username)
        .with_context(|| format!("no reset link for {username}"))?;
    say!(
        "Give this link to {} (and only to them). It lets them choose a new password, once, within {} hours; every other sign-in of theirs then ends:\n\n  {}\n",
        created.username,
        config.accounts.reset_link_hours,
        created.link
    );
    if config.public_url_is_local() {
        say!(
            "(The link uses this node's address as configured; set node.public_url if it is not reachable from where they are.)"
        );
    }
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref(), std::env::vars())?;
    if let Some(data) = args.data {
        config.server.data_dir = data;
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(organisation) = args.organisation {
        config.node.organisation = organisation;
        config.node.organisation_chosen = true;
    }
    if let Some(name) = args.name {
        config.node.name = name;
        config.node.name_chosen = true;
    }
    if let Some(format) = args.log_format {
        config.log.format = format;
    }
    config.node.key_rotated = args.key_rotated;
    // The flags are checked as the file was.
    config.validate()?;
    choose_name(&mut config)?;
    init_tracing(&config)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        // Listened for before the node opens: a stop from then on is a clean one (taken
        // once the node has opened), never the signal's default of ending the process.
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        kindred_server::run(listener, config, shutdown).await?;
        Ok(())
    })
}

fn init_tracing(config: &Config) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .context("invalid log.filter")?;
    // Colours only for a person at a terminal: a log file or journal gets plain text.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal);
    match config.log.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// Starts listening for SIGINT (Ctrl-C) and SIGTERM now; the future completes on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing requests and flushing");
    })
}

/// An error and its causes, each said once: a cause whose words its wrapper already
/// repeats ("storage error: the disk is full" over "the disk is full") is left out.
fn said_once(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let words = cause.to_string();
        if !text.contains(&words) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&words);
        }
    }
    text
}

/// `kindred email test`: sends one email and says what happened.
fn email_test(address: &str, config: Option<PathBuf>) -> anyhow::Result<()> {
    let config = Config::load(config.as_deref(), std::env::vars())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match runtime.block_on(kindred_server::send_test_email(&config, address)) {
        Ok(()) => {
            say!(
                "Sent a test email to {address}. If it does not arrive within a few minutes, look in the spam folder, then at the relay's own logs."
            );
            Ok(())
        }
        Err(why) => {
            say!("The test email was not sent: {why}");
            std::process::exit(1);
        }
    }
}
