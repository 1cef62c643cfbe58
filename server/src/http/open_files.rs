//! How many client connections the node can hold open: below the process's open-file
//! limit (`RLIMIT_NOFILE`), leaving room for the database, federation links and logs.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept back for everything that is not a client connection.
const RESERVED: u64 = 256;

/// The fewest connections the node will plan for, however low the limit.
const FLOOR: u64 = 64;

/// Raises the soft open-file limit to the hard one (as servers commonly do; the hard limit
/// is what the admin or systemd's `LimitNOFILE` allows) and returns it.
pub(crate) fn raise_limit() -> u64 {
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
        && maximum > current
    {
        let raised = Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return maximum,
            Err(e) => {
                tracing::warn!(error = %e, current, maximum, "could not raise the open-file limit")
            }
        }
    }
    // `None` is "unlimited".
    limit.current.unwrap_or(u64::MAX)
}

/// The connection cap for an open-file limit of `limit`; `configured` (when not 0) wins
/// if it is lower.
pub(crate) fn connection_cap(limit: u64, configured: usize) -> usize {
    let derived = limit.saturating_sub(RESERVED).max(FLOOR);
    let derived = usize::try_from(derived).unwrap_or(usize::MAX);
    match configured {
        0 => derived,
        n => n.min(derived),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_below_the_file_limit() {
        assert_eq!(connection_cap(1024, 0), 768);
        assert_eq!(connection_cap(65_536, 0), 65_280);
        assert_eq!(connection_cap(100, 0), 64, "a floor, however low the limit");
        assert_eq!(connection_cap(65_536, 2_000), 2_000, "a lower setting wins");
        assert_eq!(
            connection_cap(1024, 5_000),
            768,
            "a higher one cannot exceed the limit"
        );
        assert!(connection_cap(u64::MAX, 0) > 1_000_000);
    }
}
