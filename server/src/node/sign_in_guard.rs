//! Sign-in throttling that an attacker cannot turn against a member, after OWASP's
//! "Slow Brute Force Attacks" device-cookie design
//! (<https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies>):
//!
//! - only *failed* sign-ins count; a training room signing in together is never slowed
//!   (each attempt counts while its password is checked, so guesses sent all at once are
//!   held to the same budget, and a successful one gives its place back);
//! - failures count per account-and-address pair and per address, never per account alone,
//!   so nobody can lock a member out by knowing their username;
//! - a browser or CLI that signed in as that member before carries a *device token*; its
//!   attempts count only against that device, so others' failures never refuse it.
//!
//! Counters live in memory (they reset when the node restarts). Device tokens are
//! `<nonce>.<issued day>.<tag>`, the tag a keyed SHA-256 over the username, nonce and day;
//! they are valid for [`DEVICE_DAYS`] days and carry no secret of the member.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::rate_limit::RateLimiter;

/// How long a device token is honoured after it was issued, in days.
pub(crate) const DEVICE_DAYS: u64 = 365;

/// The sliding window failures are counted over.
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// How many failures are allowed in [`WINDOW`], by what they are counted against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardLimits {
    /// Per account from one address.
    pub(crate) per_account_address: u32,
    /// Per address, whichever usernames are tried.
    pub(crate) per_address: u32,
    /// Per device token (a device that signed in before).
    pub(crate) per_device: u32,
}

/// A device token that checked out for the username being signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Device([u8; 16]);

/// What a failure is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Budget {
    Pair(String, IpAddr),
    Address(IpAddr),
    Device(Device),
}

/// A sign-in attempt under way, counted as failed unless it is handed to
/// [`SignInGuard::succeeded`]. While it lasts, others that find its budget spent wait for
/// it rather than being refused: it may yet succeed and give its place back.
pub(crate) struct Attempt<'a> {
    guard: &'a SignInGuard,
    budgets: Vec<Budget>,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let mut in_flight = self
            .guard
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for b in &self.budgets {
            if let Some(n) = in_flight.get_mut(b) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    in_flight.remove(b);
                }
            }
        }
        drop(in_flight);
        self.guard.settled.notify_waiters();
    }
}

/// The longest an attempt waits for others with its budget to finish before it is
/// refused.
const MAX_WAIT: Duration = Duration::from_secs(15);

/// Decides whether a sign-in attempt may be tried, and counts failures.
pub(crate) struct SignInGuard {
    key: [u8; 32],
    pairs: RateLimiter<(String, IpAddr)>,
    addresses: RateLimiter<IpAddr>,
    devices: RateLimiter<Device>,
    /// Attempts being checked now, per budget.
    in_flight: std::sync::Mutex<HashMap<Budget, u32>>,
    /// Told whenever an attempt ends.
    settled: tokio::sync::Notify,
}

impl SignInGuard {
    /// A guard whose device tokens are keyed by `key` (derived from the node key, so tokens
    /// survive restarts and are worthless on another node).
    pub(crate) fn new(key: [u8; 32], limits: GuardLimits) -> Self {
        Self {
            key,
            pairs: RateLimiter::new(limits.per_account_address, WINDOW),
            addresses: RateLimiter::new(limits.per_address, WINDOW),
            devices: RateLimiter::new(limits.per_device, WINDOW),
            in_flight: std::sync::Mutex::new(HashMap::new()),
            settled: tokio::sync::Notify::new(),
        }
    }

    /// Starts an attempt for `username` from `address` (with `device`, if the client sent
    /// a token that checked out): `None` when it may not be tried. The attempt counts as
    /// a failure from the start, so a burst of guesses sent at once is held to the same
    /// budget as guesses sent one after another; [`SignInGuard::succeeded`] gives the
    /// place back. When the budget is spent but attempts with it are still being checked,
    /// this waits for them (up to [`MAX_WAIT`]): a room signing in together is never
    /// refused because its own sign-ins were in progress.
    pub(crate) async fn attempt(
        &self,
        username: &str,
        address: IpAddr,
        device: Option<Device>,
    ) -> Option<Attempt<'_>> {
        let budgets = match device {
            Some(d) => vec![Budget::Device(d)],
            None => vec![
                Budget::Pair(username.to_owned(), address),
                Budget::Address(address),
            ],
        };
        let waited = tokio::time::Instant::now();
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            {
                let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
                match self.take(&budgets) {
                    None => {
                        for b in &budgets {
                            *in_flight.entry(b.clone()).or_default() += 1;
                        }
                        return Some(Attempt {
                            guard: self,
                            budgets,
                        });
                    }
                    Some(spent) if !in_flight.contains_key(&spent) => return None,
                    Some(_) => {}
                }
            }
            let left = MAX_WAIT.checked_sub(waited.elapsed())?;
            if tokio::time::timeout(left, settled).await.is_err() {
                return None;
            }
        }
    }

    /// Takes one failure from each budget, all or none; the budget that was spent, if one
    /// was.
    fn take(&self, budgets: &[Budget]) -> Option<Budget> {
        for (i, b) in budgets.iter().enumerate() {
            let took = match b {
                Budget::Pair(u, a) => self.pairs.try_take(&(u.clone(), *a)),
                Budget::Address(a) => self.addresses.try_take(a),
                Budget::Device(d) => self.devices.try_take(d),
            };
            if !took {
                for earlier in &budgets[..i] {
                    self.give_back(earlier);
                }
                return Some(b.clone());
            }
        }
        None
    }

    fn give_back(&self, b: &Budget) {
        match b {
            Budget::Pair(u, a) => self.pairs.give_back(&(u.clone(), *a)),
            Budget::Address(a) => self.addresses.give_back(a),
            Budget::Device(d) => self.devices.give_back(d),
        }
    }

    /// The attempt signed in: it does not count against anyone.
    pub(crate) fn succeeded(&self, attempt: Attempt<'_>) {
        for b in &attempt.budgets {
            self.give_back(b);
        }
    }

    /// A new device token for `username`, issued on day `today` (days since the epoch).
    pub(crate) fn issue(&self, username: &str, today: u64) -> Option<String> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).ok()?;
        let tag = self.tag(username, &nonce, today);
        Some(format!(
            "{}.{today}.{}",
            hex::encode(nonce),
            hex::encode(tag)
        ))
    }

    /// The device a token names, if it was issued by this node for `username` within
    /// [`DEVICE_DAYS`] of `today`. Anything else (forged, another member's, expired,
    /// malformed) is `None`: the attempt is then throttled like any other.
    pub(crate) fn device(&self, token: &str, username: &str, today: u64) -> Option<Device> {
        let mut parts = token.split('.');
        let (nonce, day, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let nonce: [u8; 16] = hex::decode(nonce).ok()?.try_into().ok()?;
        let day: u64 = day.parse().ok()?;
        let tag: [u8; 32] = hex::decode(tag).ok()?.try_into().ok()?;
        if day > today || today - day > DEVICE_DAYS {
            return None;
        }
        let expected = self.tag(username, &nonce, day);
        // Compare without an early exit, so timing says nothing about a forged tag.
        let differ = expected
            .iter()
            .zip(tag.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (differ == 0).then_some(Device(nonce))
    }

    fn tag(&self, username: &str, nonce: &[u8; 16], day: u64) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update((username.len() as u64).to_be_bytes());
        h.update(username.as_bytes());
        h.update(nonce);
        h.update(day.to_be_bytes());
        h.finalize().into()
    }
}

/// A short keyed hash of what was typed as a username, for logs: lines about the same
/// attempt can be matched up, but a password typed into the username field is not written
/// to disk.
pub(crate) fn log_tag(key: &[u8; 32], typed: &str) -> String {
    let mut h = Sha256::new();
    h.update(key);
    h.update(typed.as_bytes());
    hex::encode(&h.finalize()[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: GuardLimits = GuardLimits {
        per_account_address: 3,
        per_address: 5,
        per_device: 3,
    };

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[tokio::test]
    async fn others_failures_never_refuse_a_member() {
        let guard = SignInGuard::new([7; 32], LIMITS);
        // Attacker at .66 burns through the member's pair, then its own address with other
        // usernames (a refused attempt is not tried, so it does not count).
        for i in 0..10 {
            // Each dropped at once: a failed attempt.
            drop(guard.attempt("sam", ip(66), None).await);
            drop(guard.attempt(&format!("user{i}"), ip(66), None).await);
        }
        assert!(guard.attempt("sam", ip(66), None).await.is_none());
        assert!(
            guard.attempt("someone", ip(66), None).await.is_none(),
            "per address too"
        );
        // The member elsewhere is untouched; so is the member's known device anywhere.
        assert!(guard.attempt("sam", ip(1), None).await.is_some());
        let token = guard.issue("sam", 20_000).unwrap();
        let device = guard.device(&token, "sam", 20_000);
        assert!(device.is_some());
        assert!(guard.attempt("sam", ip(66), device).await.is_some());
    }

    async fn three_in_flight(guard: &SignInGuard) -> Vec<Attempt<'_>> {
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(guard.attempt("sam", ip(9), None).await.expect("allowed"));
        }
        held
    }

    #[tokio::test]
    async fn attempts_at_once_count_before_they_are_checked() {
        // Guesses sent together: a fourth waits while the first three are checked, and is
        // refused once they fail.
        let guard = SignInGuard::new([7; 32], LIMITS);
        let held = three_in_flight(&guard).await;
        let (fourth, ()) = tokio::join!(guard.attempt("sam", ip(9), None), async {
            tokio::task::yield_now().await;
            drop(held);
        });
        assert!(
            fourth.is_none(),
            "the budget is spent by the three failures"
        );

        // Sign-ins that succeed give their place back: the fourth goes ahead.
        let guard = SignInGuard::new([7; 32], LIMITS);
        let held = three_in_flight(&guard).await;
        let (fourth, ()) = tokio::join!(guard.attempt("sam", ip(9), None), async {
            tokio::task::yield_now().await;
            for attempt in held {
                guard.succeeded(attempt);
            }
        });
        assert!(
            fourth.is_some(),
            "a room signing in together is never refused"
        );
        for _ in 0..50 {
            let attempt = guard.attempt("sam", ip(9), None).await.expect("allowed");
            guard.succeeded(attempt);
        }
    }

    #[tokio::test]
    async fn a_device_has_its_own_budget() {
        let guard = SignInGuard::new([7; 32], LIMITS);
        let token = guard.issue("sam", 20_000).unwrap();
        let device = guard.device(&token, "sam", 20_000);
        for _ in 0..3 {
            drop(guard.attempt("sam", ip(1), device).await);
        }
        assert!(
            guard.attempt("sam", ip(1), device).await.is_none(),
            "a stolen laptop is throttled"
        );
        assert!(
            guard.attempt("sam", ip(1), None).await.is_some(),
            "the device's failures are its own"
        );
    }

    #[test]
    fn device_tokens_check_out_only_for_their_member_and_time() {
        let guard = SignInGuard::new([7; 32], LIMITS);
        let token = guard.issue("sam", 20_000).unwrap();
        for (token, username, today, ok) in [
            (token.clone(), "sam", 20_000, true),
            (token.clone(), "sam", 20_000 + DEVICE_DAYS, true),
            (token.clone(), "sam", 20_001 + DEVICE_DAYS, false),
            (token.clone(), "sam", 19_999, false),
            (token.clone(), "ada", 20_000, false),
            (token.replacen('.', "0.", 1), "sam", 20_000, false),
            (format!("{token}.x"), "sam", 20_000, false),
            (String::new(), "sam", 20_000, false),
            ("..".to_owned(), "sam", 20_000, false),
        ] {
            assert_eq!(
                guard.device(&token, username, today).is_some(),
                ok,
                "{token} {username} {today}"
            );
        }
        let other_node = SignInGuard::new([8; 32], LIMITS);
        assert!(other_node.device(&token, "sam", 20_000).is_none());
    }

    #[test]
    fn log_tags_hide_what_was_typed() {
        let tag = log_tag(&[1; 32], "correct horse battery");
        assert_eq!(tag.len(), 12);
        assert!(!tag.contains("horse"));
        assert_eq!(tag, log_tag(&[1; 32], "correct horse battery"));
        assert_ne!(tag, log_tag(&[2; 32], "correct horse battery"));
    }
}
