//! `kindred-cli` end to end: the real binary against a real node, as an admin would use it
//! from the README: set up, invite, join, post, read, search, and clear exit codes.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use kindred_server::{Config, Node};

struct Cli {
    node: String,
    home: tempfile::TempDir,
}

impl Cli {
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kindred-cli"))
            .arg("--node")
            .arg(&self.node)
            .args(args)
            .env("KINDRED_CLI_HOME", self.home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "kindred-cli {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_and_a_member_use_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.path().join("data");
    config.server.listen = listener.local_addr().unwrap();
    let opened = Node::open(config.clone()).unwrap();
    let token = opened.setup_token.clone();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(kindred_server::serve(opened, listener, async move {
        let _ = stopped.await;
    }));
    let url = format!("http://{}", config.server.listen);
    let admin = Cli {
        node: url.clone(),
        home: tempfile::tempdir().unwrap(),
    };
    let sam = Cli {
        node: url,
        home: tempfile::tempdir().unwrap(),
    };
    let cli_task = tokio::task::spawn_blocking(move || {
        let token = token.unwrap();
        let out = admin.ok(
            &[
                "setup",
                "--token",
                &token,
                "--username",
                "ada",
                "--password-stdin",
            ],
            "correct horse battery\n",
        );
        assert!(out.contains("first admin"), "{out}");
        assert!(admin.ok(&["whoami"], "").contains("@ada:localhost"));
        admin.ok(
            &["topics", "create", "Funding", "--description", "Money"],
            "",
        );

        let invite: serde_json::Value =
            serde_json::from_str(&admin.ok(&["--json", "invites", "create"], "")).unwrap();
        let link = invite["link"].as_str().unwrap();
        // The link can be printed again until it is used.
        let listed = admin.ok(&["invites", "list"], "");
        assert!(
            listed.contains(&format!("link to send: {link}")),
            "{listed}"
        );
        sam.ok(
            &[
                "join",
                link,
                "--username",
                "sam",
                "--display-name",
                "Sam",
                "--password-stdin",
            ],
            "sam's long password\n",
        );
        let listed = admin.ok(&["invites", "list"], "");
        assert!(
            listed.contains("used by @sam") && !listed.contains(link),
            "{listed}"
        );
        // A used invite cannot be revoked: the CLI says so (exit code 6, conflict).
        let used = invite["id"].as_str().unwrap();
        let out = admin.run(&["invites", "revoke", used], "");
        assert_eq!(out.status.code(), Some(6));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("already been used"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Body from standard input.
        let out = sam.ok(
            &[
                "post",
                "Funding",
                "--title",
                "Lottery bid",
                "--tag",
                "grants",
            ],
            "Start early.\n",
        );
        assert!(out.contains("Lottery bid"), "{out}");

        let read = admin.ok(&["read", "Funding"], "");
        assert!(
            read.contains("Lottery bid") && read.contains("Sam"),
            "{read}"
        );
        let page: serde_json::Value =
            serde_json::from_str(&admin.ok(&["--json", "read", "Funding"], "")).unwrap();
        let id = page["items"][0]["id"].as_str().unwrap().to_owned();
        admin.ok(&["reply", &id, "--body", "Thanks!"], "");
        admin.ok(&["react", &id, "helpful"], "");
        let thread = sam.ok(&["thread", &id], "");
        assert!(
            thread.contains("Thanks!") && thread.contains("helpful 1"),
            "{thread}"
        );
        assert!(sam.ok(&["search", "lottery"], "").contains("Lottery bid"));
        // A long thread comes a page at a time, with the command for the next page.
        for i in 0..55 {
            admin.ok(&["reply", &id, "--body", &format!("Later reply {i}")], "");
        }
        let first = sam.ok(&["thread", &id], "");
        assert!(!first.contains("Later reply 54"), "{first}");
        let more = first
            .lines()
            .find_map(|l| l.strip_prefix("More replies: kindred-cli thread "))
            .expect("a line saying how to read on");
        let cursor = more.rsplit(' ').next().unwrap();
        let second = sam.ok(&["thread", &id, "--after", cursor], "");
        assert!(second.contains("Later reply 54"), "{second}");
        assert!(!second.contains("More replies"), "{second}");

        // Clear errors and exit codes.
        let out = sam.run(&["invites", "create"], "");
        assert_eq!(out.status.code(), Some(4), "members cannot invite");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Only an admin"));
        let out = sam.run(&["read", "No such topic"], "");
        assert_eq!(out.status.code(), Some(5));
        sam.ok(&["logout"], "");
        let out = sam.run(&["whoami"], "");
        assert_eq!(out.status.code(), Some(3), "signed out");
        // Someone on the same address guesses Sam's password until the node throttles
        // them; Sam's CLI signed in before, so it is never refused because of them.
        let attacker = kindred_client::Client::new(&sam.node).unwrap();
        let throttled = tokio::runtime::Handle::current().block_on(async {
            for _ in 0..12 {
                let _ = attacker.login("sam", "a wrong guess").await;
            }
            attacker.login("sam", "sam's long password").await
        });
        assert_eq!(
            throttled.unwrap_err().code(),
            Some(kindred_protocol::api::ErrorCode::RateLimited)
        );
        let out = sam.run(
            &["login", "--username", "sam", "--password-stdin"],
            "wrong\n",
        );
        assert_eq!(out.status.code(), Some(3));
        sam.ok(
            &["login", "--username", "sam", "--password-stdin"],
            "sam's long password\n",
        );

        // Chat: Sam lists himself, Ada finds him and they talk.
        sam.ok(&["people", "join", "--about", "lottery bids"], "");
        let found = admin.ok(&["people", "search", "lottery"], "");
        assert!(found.contains("@sam:localhost"), "{found}");
        admin.ok(
            &[
                "chat",
                "send",
                "@sam:localhost",
                "--body",
                "Can we talk about bids?",
            ],
            "",
        );
        let list = sam.ok(&["chat", "list"], "");
        assert!(list.contains("1 unread"), "{list}");
        let read = sam.ok(&["chat", "read", "@ada:localhost"], "");
        assert!(read.contains("Can we talk about bids?"), "{read}");
        assert!(
            !sam.ok(&["chat", "list"], "").contains("unread"),
            "reading marks it read"
        );
        let group: serde_json::Value = serde_json::from_str(&admin.ok(
            &[
                "--json",
                "chat",
                "group",
                "create",
                "Bid writers",
                "@sam:localhost",
            ],
            "",
        ))
        .unwrap();
        let gid = group["id"].as_str().unwrap().to_owned();
        sam.ok(&["chat", "send", &gid, "--body", "Hello group"], "");
        assert!(
            admin
                .ok(&["chat", "read", &gid], "")
                .contains("Hello group")
        );
        sam.ok(&["chat", "group", "leave", &gid], "");
        let out = sam.run(&["chat", "read", &gid], "");
        assert_eq!(out.status.code(), Some(4), "not in it any more");

        // Mentoring: Ada offers, Sam asks, sees why, proposes; Ada accepts; they check in.
        admin.ok(
            &[
                "mentor",
                "offer",
                "--topic",
                "funding",
                "--language",
                "english",
                "--capacity",
                "2",
                "--mode",
                "online",
            ],
            "",
        );
        sam.ok(
            &[
                "buddy",
                "request",
                "--topic",
                "funding",
                "--language",
                "english",
                "--must",
                "language",
            ],
            "",
        );
        let suggestions = sam.ok(&["buddy", "suggestions"], "");
        assert!(
            suggestions.contains("@ada:localhost") && suggestions.contains("can help with funding"),
            "{suggestions}"
        );
        sam.ok(
            &[
                "buddy",
                "propose",
                "@ada:localhost",
                "--note",
                "Please help",
            ],
            "",
        );
        let list: serde_json::Value =
            serde_json::from_str(&admin.ok(&["--json", "matches", "list"], "")).unwrap();
        let mid = list[0]["id"].as_str().unwrap().to_owned();
        assert!(
            admin
                .ok(&["matches", "accept", &mid, "--message", "Yes!"], "")
                .contains("active")
        );
        sam.ok(
            &["matches", "checkin", &mid, "--pulse", "4", "--fit", "good"],
            "",
        );
        assert!(
            admin
                .ok(&["mentoring", "dashboard"], "")
                .contains("active matches 1")
        );
        sam.ok(
            &[
                "matches",
                "close",
                &mid,
                "--reason",
                "goals met",
                "--rating",
                "5",
            ],
            "",
        );

        let creds = std::fs::metadata(sam.home.path().join("credentials.json")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(creds.permissions().mode() & 0o777, 0o600);
    });
    cli_task.await.unwrap();
}

/// Starts a node named `name` in `dir`; returns its URL and set-up token.
async fn node_at(dir: &std::path::Path, name: &str) -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.join(name);
    config.server.listen = listener.local_addr().unwrap();
    config.node.name = kindred_protocol::NodeName::new(name).unwrap();
    let opened = Node::open(config.clone()).unwrap();
    let token = opened.setup_token.clone();
    tokio::spawn(kindred_server::serve(
        opened,
        listener,
        std::future::pending(),
    ));
    (format!("http://{}", config.server.listen), token.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_blocks_and_unblocks_a_peer_by_name_or_id() {
    let dir = tempfile::tempdir().unwrap();
    let (url_a, token_a) = node_at(dir.path(), "a.test").await;
    let (url_b, token_b) = node_at(dir.path(), "b.test").await;
    let cli = tokio::task::spawn_blocking(move || {
        let a = Cli {
            node: url_a,
            home: tempfile::tempdir().unwrap(),
        };
        let b = Cli {
            node: url_b,
            home: tempfile::tempdir().unwrap(),
        };
        for (cli, token) in [(&a, &token_a), (&b, &token_b)] {
            cli.ok(
                &[
                    "setup",
                    "--token",
                    token,
                    "--username",
                    "admin",
                    "--password-stdin",
                ],
                "correct horse battery\n",
            );
        }
        let invite: serde_json::Value =
            serde_json::from_str(&a.ok(&["--json", "peers", "invite"], "")).unwrap();
        b.ok(&["peers", "add", invite["token"].as_str().unwrap()], "");
        let peers: serde_json::Value =
            serde_json::from_str(&a.ok(&["--json", "peers", "list"], "")).unwrap();
        let b_id = peers[0]["node_id"].as_str().unwrap().to_owned();

        // By name.
        let out = a.ok(&["peers", "block", "b.test"], "");
        assert!(out.contains("b.test") && out.contains(&b_id), "{out}");
        let listed = a.ok(&["peers", "list"], "");
        assert!(listed.contains("Blocked: nothing is exchanged"), "{listed}");
        // By id.
        a.ok(&["peers", "unblock", &b_id], "");
        assert!(!a.ok(&["peers", "list"], "").contains("Blocked"));
        a.ok(&["peers", "block", &b_id], "");
        a.ok(&["peers", "unblock", "b.test"], "");
        assert!(!a.ok(&["peers", "list"], "").contains("Blocked"));
        // A name no node here has: not found (exit code 5), and says how to name one.
        let out = a.run(&["peers", "block", "nobody.test"], "");
        assert_eq!(out.status.code(), Some(5));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("No node here is called"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    cli.await.unwrap();
}

/// Issue 23's rough edges, as a newcomer meets them: short post ids, `follow` saying what
/// was replied to or reacted to, the people directory's commands, and a password asked
/// for with no terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_ids_readable_follow_and_plain_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let (url, token) = node_at(dir.path(), "a.test").await;
    let cli = tokio::task::spawn_blocking(move || {
        let ada = Cli {
            node: url.clone(),
            home: tempfile::tempdir().unwrap(),
        };
        // No terminal and no --password-stdin: a plain sentence, not "too short".
        let out = ada.run(&["setup", "--token", &token, "--username", "ada"], "");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("cannot prompt for a password") && err.contains("--password-stdin"),
            "{err}"
        );
        ada.ok(
            &[
                "setup",
                "--token",
                &token,
                "--username",
                "ada",
                "--password-stdin",
            ],
            "correct horse battery\n",
        );
        ada.ok(&["topics", "create", "Funding"], "");
        let posted: serde_json::Value = serde_json::from_str(&ada.ok(
            &["--json", "post", "Funding", "--title", "Lottery bid"],
            "Start early.\n",
        ))
        .unwrap();
        let id = posted["id"].as_str().unwrap().to_owned();
        let short = &id[..8];

        // `follow` in the background, read line by line.
        let mut follow = Command::new(env!("CARGO_BIN_EXE_kindred-cli"))
            .args(["--node", &url, "follow"])
            .env("KINDRED_CLI_HOME", ada.home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines =
            std::io::BufRead::lines(std::io::BufReader::new(follow.stdout.take().unwrap()));
        let mut next_until = |wanted: &str| -> String {
            let mut seen = String::new();
            for line in lines.by_ref() {
                let line = line.unwrap();
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(wanted) {
                    return seen;
                }
            }
            panic!("follow ended before {wanted:?}: {seen}");
        };
        next_until("Following live updates");

        // Eight characters are enough, as git takes commit ids.
        let thread = ada.ok(&["thread", short], "");
        assert!(thread.contains("Lottery bid"), "{thread}");
        let replied: serde_json::Value =
            serde_json::from_str(&ada.ok(&["--json", "reply", short, "--body", "Thanks!"], ""))
                .unwrap();
        let reply_id = replied["id"].as_str().unwrap().to_owned();
        next_until("Reply in “Lottery bid”");
        ada.ok(&["react", short, "helpful"], "");
        let seen = next_until("Reactions on");
        assert!(
            seen.contains("Reactions on “Lottery bid”: helpful 1"),
            "{seen}"
        );
        ada.ok(&["react", &reply_id[..10], "thank-you"], "");
        let seen = next_until("Reactions on");
        assert!(
            seen.contains("Reactions on a reply in “Lottery bid”: thank-you 1"),
            "{seen}"
        );
        follow.kill().unwrap();
        let _ = follow.wait();
        // The CLI's own thread view says what a reply answers too.
        let thread = ada.ok(&["thread", short], "");
        assert!(thread.contains("Lottery bid"), "{thread}");

        // Output cut short by whatever reads it (`| head`): a quiet stop, no panic.
        let mut piped = Command::new(env!("CARGO_BIN_EXE_kindred-cli"))
            .args(["--node", &url, "thread", short])
            .env("KINDRED_CLI_HOME", ada.home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(piped.stdout.take());
        let out = piped.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{err}"
        );
        assert_eq!(out.status.code(), Some(0), "{err}");

        // Too short, or nothing there: said plainly, with the not-found exit code.
        let out = ada.run(&["thread", &id[..5]], "");
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("8 to 64 characters"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let missing = if short.starts_with('0') {
            "ffffffff"
        } else {
            "00000000"
        };
        let out = ada.run(&["thread", missing], "");
        assert_eq!(out.status.code(), Some(5));

        // The people directory: list is a search of everyone, join and leave are clear.
        ada.ok(&["people", "join", "--about", "lottery bids"], "");
        let listed = ada.ok(&["people", "list"], "");
        assert!(listed.contains("(you) (@ada:a.test"), "{listed}");
        let me = ada.ok(&["people", "show", "@ada:a.test"], "");
        assert!(me.contains("happy to talk about: lottery bids"), "{me}");
        let left = ada.ok(&["people", "leave"], "");
        assert!(left.contains("not listed"), "{left}");
        assert!(!ada.ok(&["people", "list"], "").contains("@ada:a.test"));
    });
    cli.await.unwrap();
}

/// Mentoring from the command line (issue 23, items 1, 2, 5, 6, 7 and 17): an agreement
/// one person proposes and the other confirms, check-ins said in words (a mood, not a
/// count), a private fit, each person's private reflection, and the counts as CSV.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_agree_check_in_and_reflect_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (url, token) = node_at(dir.path(), "m.test").await;
    let cli = tokio::task::spawn_blocking(move || {
        let admin = Cli {
            node: url.clone(),
            home: tempfile::tempdir().unwrap(),
        };
        admin.ok(
            &[
                "setup",
                "--token",
                &token,
                "--username",
                "ada",
                "--password-stdin",
            ],
            "correct horse battery\n",
        );
        let mut people = Vec::new();
        for name in ["meg", "cai"] {
            let invite: serde_json::Value =
                serde_json::from_str(&admin.ok(&["--json", "invites", "create"], "")).unwrap();
            let who = Cli {
                node: url.clone(),
                home: tempfile::tempdir().unwrap(),
            };
            who.ok(
                &[
                    "join",
                    invite["link"].as_str().unwrap(),
                    "--username",
                    name,
                    "--display-name",
                    name,
                    "--password-stdin",
                ],
                "a long enough password\n",
            );
            people.push(who);
        }
        let (meg, cai) = (&people[0], &people[1]);
        meg.ok(
            &[
                "mentor",
                "offer",
                "--topic",
                "funding",
                "--language",
                "welsh",
                "--hours",
                "4",
            ],
            "",
        );
        cai.ok(
            &[
                "buddy",
                "request",
                "--topic",
                "funding",
                "--language",
                "welsh",
                "--goals",
                "A first bid",
            ],
            "",
        );
        cai.ok(&["buddy", "propose", "@meg:m.test"], "");
        let list: serde_json::Value =
            serde_json::from_str(&meg.ok(&["--json", "matches", "list"], "")).unwrap();
        let id = list[0]["id"].as_str().unwrap().to_owned();
        // Item 5: no note, yet the mentor reads what was asked for.
        // Eight characters of a match's id are enough.
        let shown = meg.ok(&["matches", "show", &id[..8]], "");
        assert!(shown.contains("asked for: funding (welsh;"), "{shown}");
        meg.ok(&["matches", "accept", &id], "");

        // Item 1: proposed by one, confirmed by the other, kept line by line.
        cai.ok(
            &[
                "matches",
                "agree",
                &id,
                "--goals",
                "1. Draft the bid\n2. Find a funder",
            ],
            "",
        );
        let proposed = meg.ok(&["matches", "show", &id], "");
        assert!(
            proposed.contains("proposed agreement (every 2 weeks)"),
            "{proposed}"
        );
        assert!(
            proposed.contains("1. Draft the bid\n      2. Find a funder"),
            "{proposed}"
        );
        // Confirming names what was read (no terminal here, so no prompt).
        let unnamed = meg.run(&["matches", "confirm", &id], "");
        assert!(
            String::from_utf8_lossy(&unnamed.stderr).contains("name the agreement you read"),
            "{}",
            String::from_utf8_lossy(&unnamed.stderr)
        );
        let aid = proposed
            .split("--agreement ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .to_owned();
        let own = cai.run(&["matches", "confirm", &id, "--agreement", &aid], "");
        assert!(!own.status.success(), "nobody confirms their own proposal");
        let confirmed = meg.ok(&["matches", "confirm", &id, "--agreement", &aid], "");
        assert!(confirmed.contains("agreed (every 2 weeks)"), "{confirmed}");
        assert!(
            confirmed.contains("confirmed by the mentor (meg)"),
            "{confirmed}"
        );

        // Items 2 and 17: a check-in reads as a mood; the fit stays with its author.
        cai.ok(
            &["matches", "checkin", &id, "--pulse", "4", "--fit", "good"],
            "",
        );
        let at_cai = cai.ok(&["matches", "show", &id], "");
        assert!(
            at_cai.contains("going well (4/4), first meeting: a good fit"),
            "{at_cai}"
        );
        assert!(!at_cai.contains("check-ins:"), "{at_cai}");
        let at_meg = meg.ok(&["matches", "show", &id], "");
        assert!(at_meg.contains("going well (4/4)"), "{at_meg}");
        assert!(
            !at_meg.contains("a good fit"),
            "the fit is private: {at_meg}"
        );

        // Item 6: the mentor ends it, the buddy reflects too, each privately.
        meg.ok(
            &[
                "matches",
                "close",
                &id,
                "--reason",
                "Moving on",
                "--rating",
                "3",
            ],
            "",
        );
        let ended = cai.ok(&["matches", "show", &id], "");
        assert!(ended.contains("by the mentor (meg)"), "{ended}");
        assert!(!ended.contains("Moving on"), "{ended}");
        let mine = cai.ok(
            &[
                "matches",
                "reflect",
                &id,
                "--reason",
                "Goals met",
                "--rating",
                "5",
            ],
            "",
        );
        assert!(
            mine.contains("your reflection (private): Goals met, 5/5"),
            "{mine}"
        );

        // Item 7: the counts as CSV, for coordinators only.
        let csv = admin.ok(&["mentoring", "dashboard", "--csv"], "");
        assert!(
            csv.starts_with("measure,category,week_starting,count"),
            "{csv}"
        );
        assert!(csv.contains("ended_by_reason,goals met,,1"), "{csv}");
        assert!(csv.contains("ended_by_reason,moving on,,1"), "{csv}");
        let refused = cai.run(&["mentoring", "dashboard", "--csv"], "");
        assert_eq!(refused.status.code(), Some(4));
    });
    cli.await.unwrap();
}

/// A fresh node serving on loopback until the returned sender is dropped: its folder,
/// address and set-up token.
async fn fresh_node() -> (
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
    String,
    Option<String>,
) {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.path().join("data");
    config.server.listen = listener.local_addr().unwrap();
    let opened = Node::open(config.clone()).unwrap();
    let token = opened.setup_token.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(kindred_server::serve(opened, listener, async move {
        let _ = stopped.await;
    }));
    (dir, stop, format!("http://{}", config.server.listen), token)
}

impl Cli {
    /// A CLI user of the node at `url`, with their own credentials folder.
    fn of(url: &str) -> Self {
        Cli {
            node: url.to_owned(),
            home: tempfile::tempdir().unwrap(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_exports_their_data_and_deletes_their_account_from_the_cli() {
    let (_dir, _stop, url, token) = fresh_node().await;
    let (admin, sam, kit) = (Cli::of(&url), Cli::of(&url), Cli::of(&url));
    let out_dir = tempfile::tempdir().unwrap();
    let cli_task = tokio::task::spawn_blocking(move || {
        let token = token.unwrap();
        admin.ok(
            &[
                "setup",
                "--token",
                &token,
                "--username",
                "ada",
                "--password-stdin",
            ],
            "correct horse battery\n",
        );
        for (who, name) in [(&sam, "sam"), (&kit, "kit")] {
            let invite: serde_json::Value =
                serde_json::from_str(&admin.ok(&["--json", "invites", "create"], "")).unwrap();
            who.ok(
                &[
                    "join",
                    invite["link"].as_str().unwrap(),
                    "--username",
                    name,
                    "--password-stdin",
                ],
                "a long enough password\n",
            );
        }
        admin.ok(&["topics", "create", "Funding"], "");
        sam.ok(
            &[
                "post",
                "Funding",
                "--title",
                "Our bid",
                "--body",
                "What worked for us",
            ],
            "",
        );

        // Sam's own export, saved where asked, never over an existing file.
        let zip = out_dir.path().join("mine.zip");
        let said = sam.ok(&["export", "--out", zip.to_str().unwrap()], "");
        assert!(said.contains("Saved your data"), "{said}");
        let bytes = std::fs::read(&zip).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let again = sam.run(&["export", "--out", zip.to_str().unwrap()], "");
        assert!(!again.status.success());
        // An admin's export for a subject-access request; a member cannot make one.
        let theirs = out_dir.path().join("sam.zip");
        admin.ok(
            &[
                "members",
                "export",
                "sam",
                "--out",
                theirs.to_str().unwrap(),
            ],
            "",
        );
        assert!(std::fs::metadata(&theirs).unwrap().len() > 100);
        let refused = kit.run(&["members", "export", "sam", "--out", "/dev/null"], "");
        assert!(!refused.status.success());

        // Sam deletes their account: a wrong confirmation is refused first.
        let wrong = sam.run(
            &["delete-account", "--confirm", "sma", "--password-stdin"],
            "a long enough password\n",
        );
        assert!(!wrong.status.success());
        let done = sam.ok(
            &["delete-account", "--confirm", "sam", "--password-stdin"],
            "a long enough password\n",
        );
        assert!(done.contains("is deleted"), "{done}");
        // The admin deletes Kit's.
        let done = admin.ok(&["members", "delete", "kit", "--confirm", "kit"], "");
        assert!(done.contains("kit's account is deleted"), "{done}");
        let members = admin.ok(&["members", "list"], "");
        assert!(
            !members.contains("sam") && !members.contains("kit"),
            "{members}"
        );
    });
    cli_task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_reports_and_a_moderator_acts_from_the_cli() {
    let (_dir, _stop, url, token) = fresh_node().await;
    let (admin, sam, kit) = (Cli::of(&url), Cli::of(&url), Cli::of(&url));
    let cli_task = tokio::task::spawn_blocking(move || {
        let token = token.unwrap();
        admin.ok(
            &[
                "setup",
                "--token",
                &token,
                "--username",
                "ada",
                "--password-stdin",
            ],
            "correct horse battery\n",
        );
        for (who, name) in [(&sam, "sam"), (&kit, "kit")] {
            let invite: serde_json::Value =
                serde_json::from_str(&admin.ok(&["--json", "invites", "create"], "")).unwrap();
            who.ok(
                &[
                    "join",
                    invite["link"].as_str().unwrap(),
                    "--username",
                    name,
                    "--password-stdin",
                ],
                "a long enough password\n",
            );
        }
        admin.ok(&["topics", "create", "Funding"], "");
        let post: serde_json::Value = serde_json::from_str(&sam.ok(
            &[
                "--json", "post", "Funding", "--title", "Our bid", "--body", "Call me",
            ],
            "",
        ))
        .unwrap();
        let id = post["id"].as_str().unwrap();
        let short = &id[..10];

        let said = kit.ok(
            &[
                "report",
                short,
                "--reason",
                "safety",
                "--note",
                "Worried about sam",
            ],
            "",
        );
        assert!(said.contains("moderators will look"), "{said}");
        assert!(said.contains("help lines"), "{said}");
        // Members cannot see the queue (exit code 3: forbidden).
        assert!(!kit.run(&["moderation", "queue"], "").status.success());
        let queue = admin.ok(&["moderation", "queue"], "");
        assert!(queue.contains("Worried about sam"), "{queue}");
        assert!(queue.contains("A risk to someone's safety"), "{queue}");

        // Suspending needs --yes.
        let unsure = admin.run(
            &[
                "moderation",
                "act",
                "@sam:localhost",
                "suspend",
                "--note",
                "Check-in needed",
            ],
            "",
        );
        assert!(!unsure.status.success());
        assert!(String::from_utf8_lossy(&unsure.stderr).contains("--yes"));
        admin.ok(
            &[
                "moderation",
                "act",
                short,
                "hide",
                "--note",
                "Shares a phone number",
            ],
            "",
        );
        let done = admin.ok(
            &[
                "moderation",
                "act",
                "@sam:localhost",
                "warn",
                "--note",
                "Please keep numbers private",
            ],
            "",
        );
        assert!(done.starts_with("Warned"), "{done}");
        let standing = sam.ok(&["standing"], "");
        assert!(
            standing.contains("Warnings from the moderators: 1"),
            "{standing}"
        );
        let appealed = sam.ok(&["standing", "--appeal", "It was the office number"], "");
        assert!(appealed.contains("with the moderators"), "{appealed}");
        let log = admin.ok(&["moderation", "log"], "");
        assert!(
            log.contains("appeal") && log.contains("warn") && log.contains("hide"),
            "{log}"
        );
        let csv = admin.ok(&["moderation", "log", "--csv"], "");
        assert!(csv.starts_with("seq,at,by,action"), "{csv}");
        let news = kit.ok(&["notifications"], "");
        assert!(news.contains("Thank you for your report"), "{news}");
        // Suspended, kit cannot sign in, and asks for a review from the CLI.
        admin.ok(
            &[
                "moderation",
                "act",
                "@kit:localhost",
                "suspend",
                "--note",
                "Repeated spam",
                "--yes",
            ],
            "",
        );
        assert!(
            !kit.run(
                &["login", "--username", "kit", "--password-stdin"],
                "a long enough password\n"
            )
            .status
            .success()
        );
        let asked = kit.ok(
            &[
                "appeal",
                "--username",
                "kit",
                "--note",
                "It was a mistake",
                "--password-stdin",
            ],
            "a long enough password\n",
        );
        assert!(asked.contains("with the moderators"), "{asked}");
        let queue = admin.ok(&["moderation", "queue"], "");
        assert!(queue.contains("APPEAL: It was a mistake"), "{queue}");
    });
    cli_task.await.unwrap();
}
