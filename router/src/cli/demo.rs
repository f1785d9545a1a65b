//! `router demo`: the README's first command. It builds a postoffice in a temporary
//! directory, submits a mix of valid and malformed messages made from `corpus/`, runs the real
//! router on it (`router run --once`, as a child process, with workers), shows progress, and
//! then reads the postoffice to print where every message went and why, with a summary table.
//!
//! The messages:
//! - `corpus/messages/*.eml`: complete router inputs, each written to show one rule (its
//!   `Subject:` says which), with `expect` saying where each must end up; the demo checks it.
//! - `corpus/valid/*.txt`: each address field becomes a message; To, Cc and Bcc are routed
//!   from the headers (no `to` line), the others go to `postmaster@example.org`.
//! - `corpus/malformed/*.txt`: each hostile input becomes the `To:` of a message with no
//!   `to` line (the router needs that field), so each is parked with its reason.
//!
//! Outcomes are read from the postoffice (queue/ and deferred/), not from the log: what is
//! shown is what an agent or an administrator would find.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::exit;
use router::corpus::{corpus_config, corpus_messages};
use router::spool::Postoffice;

#[derive(clap::Args)]
pub struct Args {
    /// The corpus directory (default: ./corpus, else the one this program was built from).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Keep the demo postoffice instead of removing it.
    #[arg(long)]
    keep: bool,
}

/// A directory of our own under the system's temporary directory (mode 0700), removed when
/// dropped unless kept.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn new(prefix: &str) -> std::io::Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let mut last = None;
        for n in 0..100u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = base.join(format!("{prefix}{}-{nanos:x}{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempDir { path, keep: false }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free name")))
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// How long the demo's `router run --once` may take before it is killed: the 104 messages
/// take well under a second; two minutes means something is wrong.
const ROUTE_TIME_MAX: Duration = Duration::from_secs(120);
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// One submitted message: where it came from, its id, and what it must do (if known).
struct Fed {
    source: String,
    id: String,
    expect: Option<String>,
}

/// Runs the demo; returns the exit code (0 when every message is accounted for and every
/// expectation is met).
pub fn run(a: Args) -> u8 {
    match demo(a.corpus.as_deref(), a.keep) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("router demo: {e}");
            exit::SOFTWARE
        }
    }
}

fn find_corpus(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = given {
        return Ok(p.into());
    }
    let here = PathBuf::from("corpus");
    if here.join("messages").is_dir() {
        return Ok(here);
    }
    // `cargo run` from elsewhere in the checkout: the corpus of the tree this program was
    // built from (the binary's, never the library's, knowledge of where it was built).
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    if built.join("messages").is_dir() {
        return Ok(built);
    }
    Err("no corpus/ here or where this program was built; give --corpus DIR".into())
}

fn demo(corpus: Option<&Path>, keep: bool) -> Result<u8, String> {
    let corpus = find_corpus(corpus)?;
    let e = |what: &str, err: std::io::Error| format!("{what}: {err}");
    let tmp = TempDir::new("router-demo-").map_err(|x| e("temporary directory", x))?;
    let root = tmp.path().join("postoffice");
    Postoffice::init(&root).map_err(|x| e("router init", x))?;
    let po =
        router::spool::submit::Dropbox::open(&root).map_err(|x| format!("open postoffice: {x}"))?;
    // Tables and configuration.
    corpus_config(&corpus, tmp.path())?;
    let config = tmp.path().join("router.toml");
    std::fs::write(
        &config,
        format!(
            "postoffice = {:?}\nworkers = 2\n[limits]\nmessage_time_limit = \"10s\"\n\
             [routing]\nlocal_domains = [\"example.org\"]\naliases = {:?}\ntransport = {:?}\n",
            root,
            tmp.path().join("aliases"),
            tmp.path().join("transport")
        ),
    )
    .map_err(|x| e("router.toml", x))?;
    let fed = feed(&corpus, &po, &root, &config)?;
    let log_path = tmp.path().join("router.log");
    let status = route_with_progress(&root, &config, &log_path, &fed)?;
    let (met, checked, missing) = report(&root, &fed);
    let log_lines = std::fs::read_to_string(&log_path).map_or(0, |t| t.lines().count());
    if keep {
        let kept = tmp.keep();
        println!(
            "kept: {} (postoffice, router.toml, tables, router.log with {log_lines} lines)",
            kept.display()
        );
    } else {
        println!("the router's log had {log_lines} lines; the demo postoffice was removed (--keep keeps it)");
    }
    Ok(if met == checked && missing == 0 && status.success() {
        exit::OK
    } else {
        exit::SOFTWARE
    })
}

/// Submits every corpus message; says what was fed.
fn feed(
    corpus: &Path,
    po: &router::spool::submit::Dropbox,
    root: &Path,
    config: &Path,
) -> Result<Vec<Fed>, String> {
    let mut fed: Vec<Fed> = Vec::new();
    let mut counts = [0usize; 3];
    for m in corpus_messages(corpus)? {
        let id = router::spool::submit::publish(po, &m.bytes)
            .map_err(|x| format!("submit {}: {x}", m.source))?;
        counts[m.class as usize] += 1;
        fed.push(Fed {
            source: m.source,
            id,
            expect: m.expect,
        });
    }
    let total = fed.len();
    println!("router demo: a postoffice in {}", root.display());
    println!(
        "  fed {total} messages: {} from corpus/messages (each shows one rule), {} address fields from corpus/valid, {} hostile inputs from corpus/malformed",
        counts[0], counts[1], counts[2]
    );
    println!(
        "  routing them with `router -c {} run --once` (2 worker processes)",
        config.display()
    );
    Ok(fed)
}

/// Runs `router run --once` as a child, showing progress; its exit status.
fn route_with_progress(
    root: &Path,
    config: &Path,
    log_path: &Path,
    fed: &[Fed],
) -> Result<std::process::ExitStatus, String> {
    let e = |what: &str, err: std::io::Error| format!("{what}: {err}");
    let total = fed.len();
    let log = std::fs::File::create(log_path).map_err(|x| e("log file", x))?;
    let exe = std::env::current_exe().map_err(|x| e("own program", x))?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .arg("-c")
        .arg(config)
        .args(["run", "--once"])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|x| e("start router run", x))?;
    let mut last = usize::MAX;
    // On a terminal the progress line is redrawn; elsewhere a line is printed per change.
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let status = loop {
        let done = settled(root, fed);
        if done != last {
            if tty {
                eprint!("\r  progress: {done}/{total} messages routed or parked ");
            } else {
                eprintln!("  progress: {done}/{total} messages routed or parked");
            }
            let _ = std::io::stderr().flush();
            last = done;
        }
        if let Ok(Some(s)) = child.try_wait() {
            break s;
        }
        if started.elapsed() > ROUTE_TIME_MAX {
            let _ = child.kill();
            return Err("router run --once took over 120 s; killed".into());
        }
        std::thread::sleep(PROGRESS_EVERY);
    };
    let mut summary_line = String::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        let _ = out.read_to_string(&mut summary_line);
    }
    if tty {
        eprintln!();
    }
    println!(
        "  router run --once: {status} in {:.2} s; its summary: {}",
        started.elapsed().as_secs_f64(),
        summary_line.trim()
    );
    Ok(status)
}

/// Prints where every message went, the summary table and the expectations; returns
/// (expectations met, expectations checked, messages unaccounted for).
fn report(root: &Path, fed: &[Fed]) -> (usize, usize, usize) {
    let total = fed.len();
    let found = outcomes(root, fed);
    println!("\nWHERE EVERY MESSAGE WENT");
    println!("{:<40} {:<30} outcome", "source", "id");
    let mut table: BTreeMap<String, usize> = BTreeMap::new();
    let (mut met, mut checked, mut missing) = (0, 0, 0);
    for f in fed {
        let o = &found[&f.id];
        let short = if o.is_empty() {
            missing += 1;
            "MISSING".to_string()
        } else {
            o.iter()
                .map(|x| x.key.clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut line = format!("{:<40} {:<30} ", clip(&f.source, 40), f.id);
        line += &o
            .iter()
            .map(|x| x.text.clone())
            .collect::<Vec<_>>()
            .join("; ");
        if o.is_empty() {
            line += "MISSING: neither in queue/ nor in deferred/";
        }
        if let Some(want) = &f.expect {
            checked += 1;
            if expectation(o) == *want {
                met += 1;
                line += "  [as expected]";
            } else {
                line += &format!("  [EXPECTED {want}]");
            }
        }
        println!("{line}");
        *table.entry(short).or_default() += 1;
    }
    println!("\nSUMMARY");
    println!("{:<40} messages", "outcome");
    for (k, n) in &table {
        println!("{k:<40} {n}");
    }
    println!("{:<40} {total}", "total");
    println!("\nexpectations (corpus/messages/expect): {met}/{checked} met; {missing} messages unaccounted for");
    (met, checked, missing)
}

/// One place a message ended up.
struct Found {
    /// `queue/smtp` or `deferred/alias-loop`.
    key: String,
    /// What to print.
    text: String,
}

/// How many of the fed messages are in queue/ or deferred/ (directory listings only: it is
/// called every 100 ms while the router runs).
fn settled(root: &Path, fed: &[Fed]) -> usize {
    let mut seen = std::collections::HashSet::new();
    let list = |d: PathBuf| std::fs::read_dir(d).into_iter().flatten().flatten();
    for ch in list(root.join("queue")) {
        seen.extend(list(ch.path()).map(|f| f.file_name()));
    }
    seen.extend(list(root.join("deferred")).map(|f| f.file_name()));
    fed.iter()
        .filter(|f| seen.contains(std::ffi::OsStr::new(&f.id)))
        .count()
}

/// For each fed id: the queue files and the deferral found for it.
fn outcomes(root: &Path, fed: &[Fed]) -> BTreeMap<String, Vec<Found>> {
    let mut m: BTreeMap<String, Vec<Found>> =
        fed.iter().map(|f| (f.id.clone(), Vec::new())).collect();
    if let Ok(chans) = std::fs::read_dir(root.join("queue")) {
        let mut chans: Vec<_> = chans.flatten().collect();
        chans.sort_by_key(|d| d.file_name());
        for ch in chans {
            let chn = ch.file_name().to_string_lossy().into_owned();
            for f in std::fs::read_dir(ch.path()).into_iter().flatten().flatten() {
                let id = f.file_name().to_string_lossy().into_owned();
                if let Some(v) = m.get_mut(&id) {
                    let text = std::fs::read_to_string(f.path()).unwrap_or_default();
                    let rcpts: Vec<&str> = text
                        .lines()
                        .take_while(|l| *l != "env-end")
                        .filter_map(|l| {
                            l.strip_prefix("rcpt ").or_else(|| l.strip_prefix("error "))
                        })
                        .collect();
                    let mut shown = rcpts
                        .iter()
                        .take(3)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" | ");
                    if rcpts.len() > 3 {
                        shown += &format!(" | +{} more", rcpts.len() - 3);
                    }
                    v.push(Found {
                        key: format!("queue/{chn}"),
                        text: format!("queue/{chn}: {shown}"),
                    });
                }
            }
        }
    }
    for f in std::fs::read_dir(root.join("deferred"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = f.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".reason") else {
            continue;
        };
        if !root.join("deferred").join(id).exists() {
            continue;
        }
        if let Some(v) = m.get_mut(id) {
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            let field = |k: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(k))
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string()
            };
            let kind = field("Reason:");
            v.push(Found {
                key: format!("deferred/{kind}"),
                text: format!("deferred: {kind}: {}", clip(&field("Detail:"), 90)),
            });
        }
    }
    m
}

/// The `expect` spelling of an outcome: `queue:a,b` or `deferred:kind`.
fn expectation(o: &[Found]) -> String {
    if let Some(d) = o.iter().find_map(|f| f.key.strip_prefix("deferred/")) {
        return format!("deferred:{d}");
    }
    let mut chans: Vec<&str> = o
        .iter()
        .filter_map(|f| f.key.strip_prefix("queue/"))
        .collect();
    chans.sort_unstable();
    format!("queue:{}", chans.join(","))
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}
