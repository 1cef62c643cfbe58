//! `kindred-cli`: use a Kindred node from the command line. Talks to the node only through
//! the `kindred-client` library, i.e. the public client API.

mod cli;

use clap::Parser;
use kindred_client::ClientError;
use kindred_protocol::api::ErrorCode;

fn main() -> std::process::ExitCode {
    let args = cli::args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  because: {cause}");
            }
            std::process::ExitCode::from(exit_code(&e))
        }
    }
}

/// Exit codes documented in the README: 3 sign-in needed, 4 not allowed, 5 not found,
/// 6 conflict or used up, 7 rate limited, 8 node unreachable, 1 anything else.
fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::NotSignedIn) => 3,
        Some(ClientError::Http(_)) => 8,
        Some(ClientError::Api { code, .. }) => match code {
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials => 3,
            ErrorCode::Forbidden | ErrorCode::Suspended => 4,
            ErrorCode::NotFound => 5,
            ErrorCode::Conflict | ErrorCode::Gone => 6,
            ErrorCode::RateLimited => 7,
            _ => 1,
        },
        _ => 1,
    }
}
