//! `router.toml`: the configuration (SPEC section 5), every key with a documented default.
//!
//! Unknown keys are an error that names them (serde's `deny_unknown_fields`), so a typo is
//! never silently ignored. Durations are written like `30s` or `2m`, sizes like `512MiB`.
//! `-p DIR` overrides `postoffice`; with `-p` and no configuration file the defaults apply
//! (SPEC section 6); with neither, the command refuses to guess.
//!
//! The tables a configuration names (aliases, transport) are loaded and checked with it
//! (by the process layer, `process::pass::Settings::from_config`); `router run` refuses to start, and `SIGHUP` refuses to
//! reload, when either fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The postoffice directory. Default `/var/spool/postoffice`.
    pub postoffice: PathBuf,
    /// Worker processes; 0 means one per CPU. Default 0.
    pub workers: u32,
    pub limits: LimitsConfig,
    pub routing: RoutingConfig,
    pub zmailer: ZmailerConfig,
}

/// `[zmailer]`: ZMailer mode (docs/zmailer.md): read what ZMailer's writers put into
/// `router/`, write its control files into `transport/` and move the message into `queue/`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ZmailerConfig {
    /// Default false.
    pub enabled: bool,
    /// ZMailer's `zmailer.conf`: `POSTOFFICE`, `SCHEDULERDIRHASH` and `SCHEDULERNOTIFY` are
    /// taken from it (they win over `postoffice` here; `-p` still wins). Empty: none.
    pub zconfig: PathBuf,
    /// This host, for `Received:` (ZMailer's `hostname` in mail.conf). Empty: the origin.
    pub hostname: String,
    /// Hash levels under `transport/` and `queue/` (`SCHEDULERDIRHASH`): 0, 1 or 2.
    /// Default 2 (ZMailer's post-install makes 26x26 directories).
    pub scheduler_dirhash: Option<u8>,
    /// The scheduler's notification socket (`SCHEDULERNOTIFY`). Empty: none (the scheduler
    /// finds new files by its own sweep every 10 s).
    pub scheduler_notify: PathBuf,
    /// Owners whose envelope sender is believed; for any other owner the sender becomes the
    /// owner's name at the origin (ZMailer's rule, router/conf.c:9-13). Default root,
    /// daemon, uucp.
    pub trusted_users: Option<Vec<String>>,
}

impl ZmailerConfig {
    pub fn dirhash(&self) -> u8 {
        self.scheduler_dirhash.unwrap_or(2)
    }

    pub fn trusted(&self) -> Vec<String> {
        self.trusted_users
            .clone()
            .unwrap_or_else(|| vec!["root".into(), "daemon".into(), "uucp".into()])
    }

    /// Fills in what `zmailer.conf` says: `KEY=value` lines, `#` comments, values perhaps in
    /// double quotes. Returns the `POSTOFFICE` it names.
    pub fn read_zconfig(&mut self, text: &str) -> Option<PathBuf> {
        let mut postoffice = None;
        for line in text.lines() {
            let Some((k, v)) = line.trim().split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim() {
                "POSTOFFICE" if !v.is_empty() => postoffice = Some(PathBuf::from(v)),
                "SCHEDULERDIRHASH" if self.scheduler_dirhash.is_none() => {
                    self.scheduler_dirhash = v.parse().ok()
                }
                "SCHEDULERNOTIFY" if self.scheduler_notify.as_os_str().is_empty() => {
                    self.scheduler_notify = v.into()
                }
                _ => {}
            }
        }
        postoffice
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Attempts before a message that keeps killing its router is parked. Default 3.
    #[serde(rename = "max_attempts")]
    pub attempts_max: u64,
    /// Wall-clock limit for one message in a worker. Default 30 s.
    #[serde(with = "duration")]
    #[serde(rename = "message_time_limit")]
    pub message_time_max: Duration,
    /// `RLIMIT_AS` of a worker. Default 512 MiB.
    #[serde(with = "size")]
    #[serde(rename = "worker_memory_limit")]
    pub worker_memory_bytes_max: u64,
    /// The largest message routed; larger ones are parked (`message-too-large`).
    /// Default 10 240 000 bytes, Postfix's `message_size_limit`.
    #[serde(rename = "max_message_bytes")]
    pub message_bytes_max: usize,
    /// Unlocked files in public/ older than this are abandoned submissions. Default 1 h: far
    /// longer than any writer takes, and only unlocked files are touched at all.
    #[serde(with = "duration")]
    #[serde(rename = "public_max_age")]
    pub public_age_max: Duration,
    /// A message with more `Received:` fields than this is parked (`hop-limit`): it is
    /// looping between mail systems. Default 50, Postfix's `hopcount_limit`.
    #[serde(rename = "max_hops")]
    pub hops_max: usize,
    /// `[limits.parser]`: the parser's caps (SPEC section 4), per address field and header
    /// block; the defaults are the parser's documented ones (docs/parser.md says why each).
    pub parser: mailaddr::Limits,
}

/// What to do with a syntax error in a header field the router does not need.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HeaderErrors {
    /// Route the message with its headers untouched, and log the fault (the default: real
    /// mail is often slightly broken).
    Pass,
    /// Park it.
    Defer,
}

/// `[routing]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Domains delivered here (their recipients go to `local`). Default none.
    pub local_domains: Vec<String>,
    /// An aliases(5) file; empty: none.
    pub aliases: PathBuf,
    /// A transport(5)-style table; empty: none.
    pub transport: PathBuf,
    /// The channel for recipients nothing else routes. Default `smtp`.
    pub default_channel: String,
    /// Next hop for every non-local recipient, e.g. `[relay.example.net]:25`; empty: the domain.
    pub relay_host: String,
    /// The longest alias chain (`a: b`, `b: c`, ...). Default 10, sendmail's MAXRCRSN.
    #[serde(rename = "alias_max_depth")]
    pub alias_depth_max: usize,
    /// The most destinations alias expansion may produce for one message, duplicates
    /// included (each is work and memory); recipients given directly are not counted (the
    /// envelope's and the headers' caps bound them). Default 1000; over it the message is
    /// parked (`too-many-destinations`).
    #[serde(rename = "alias_max_fanout")]
    pub alias_fanout_max: usize,
    /// `"pass"` (default) or `"defer"`: a syntax error in a field the router does not need.
    pub header_errors: HeaderErrors,
    /// The domain `router submit` (and the `sendmail` link) adds to a bare name (`root`), and
    /// the default sender's (the invoking user at this domain): Postfix's `myorigin`. Empty
    /// (the default): the first local domain, else this host's name.
    pub origin: String,
}

impl RoutingConfig {
    /// The origin domain in effect (see [`RoutingConfig::origin`]).
    pub fn origin(&self) -> String {
        if !self.origin.is_empty() {
            return self.origin.clone();
        }
        if let Some(d) = self.local_domains.first() {
            return d.clone();
        }
        let uname = rustix::system::uname();
        let host = uname.nodename().to_string_lossy().into_owned();
        if host.is_empty() {
            "localhost".into()
        } else {
            host
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            postoffice: "/var/spool/postoffice".into(),
            workers: 0,
            limits: LimitsConfig::default(),
            routing: RoutingConfig::default(),
            zmailer: ZmailerConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            attempts_max: 3,
            message_time_max: Duration::from_secs(30),
            worker_memory_bytes_max: 512 << 20,
            message_bytes_max: 10_240_000,
            public_age_max: Duration::from_secs(3600),
            hops_max: 50,
            parser: mailaddr::Limits::DEFAULT,
        }
    }
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            local_domains: Vec::new(),
            aliases: PathBuf::new(),
            transport: PathBuf::new(),
            default_channel: "smtp".into(),
            relay_host: String::new(),
            alias_depth_max: 10,
            alias_fanout_max: 1000,
            header_errors: HeaderErrors::Pass,
            origin: String::new(),
        }
    }
}

/// Why the configuration could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "no configuration file at {0} and no -p/--postoffice: refusing to guess the postoffice"
    )]
    Missing(PathBuf),
}

impl Config {
    /// Parses a configuration file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut c: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.message().to_string() + &span_note(text, e.span()),
        })?;
        // Relative paths are the file's, not the current directory's (a service's working
        // directory is `/`, an administrator's is anywhere).
        let base = path.parent().unwrap_or(Path::new(""));
        for p in [
            &mut c.postoffice,
            &mut c.routing.aliases,
            &mut c.routing.transport,
            &mut c.zmailer.zconfig,
            &mut c.zmailer.scheduler_notify,
        ] {
            if !p.as_os_str().is_empty() && p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if c.zmailer.enabled && !c.zmailer.zconfig.as_os_str().is_empty() {
            let z = &c.zmailer.zconfig;
            let text = std::fs::read_to_string(z).map_err(|source| ConfigError::Read {
                path: z.clone(),
                source,
            })?;
            if let Some(po) = c.zmailer.read_zconfig(&text) {
                c.postoffice = po;
            }
        }
        c.check(path)?;
        Ok(c)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |message: String| {
            Err(ConfigError::Invalid {
                path: path.into(),
                message,
            })
        };
        if self.workers > crate::limits::WORKERS_MAX {
            return bad(format!(
                "workers = {} is over {} (0 means one per CPU)",
                self.workers,
                crate::limits::WORKERS_MAX
            ));
        }
        if self.limits.attempts_max == 0 {
            return bad("limits.max_attempts must be at least 1".into());
        }
        if !crate::names::is_channel(&self.routing.default_channel) {
            return bad(format!("routing.default_channel {:?} is not a channel name (lower-case letters, digits, - and _)", self.routing.default_channel));
        }
        let relay = &self.routing.relay_host;
        if !relay.is_empty() && !crate::names::is_next_hop(relay) {
            return bad(format!(
                "routing.relay_host {relay:?} has a space, an angle bracket or a control character"
            ));
        }
        if self.routing.relay_host.len() > crate::limits::NEXTHOP_BYTES_MAX {
            return bad(format!(
                "routing.relay_host is over {} bytes",
                crate::limits::NEXTHOP_BYTES_MAX
            ));
        }
        if self.routing.alias_depth_max == 0 || self.routing.alias_fanout_max == 0 {
            return bad(
                "routing.alias_max_depth and routing.alias_max_fanout must be at least 1".into(),
            );
        }
        if self.limits.worker_memory_bytes_max < crate::limits::WORKER_MEMORY_BYTES_MIN {
            return bad(format!(
                "limits.worker_memory_limit {} is under 32MiB: a worker could not start",
                self.limits.worker_memory_bytes_max
            ));
        }
        if let Err(why) = self.limits.parser.check() {
            return bad(format!("limits.parser: {why}"));
        }
        let arena = self.limits.parser.arena_bytes_max as u64;
        if arena.saturating_mul(2) > self.limits.worker_memory_bytes_max {
            return bad(format!("limits.parser.arena_bytes_max ({arena}) must be under half of limits.worker_memory_limit"));
        }
        if self.zmailer.dirhash() > 2 {
            return bad(format!(
                "zmailer.scheduler_dirhash = {} (SCHEDULERDIRHASH) must be 0, 1 or 2",
                self.zmailer.dirhash()
            ));
        }
        if self.limits.message_time_max.is_zero() {
            return bad("limits.message_time_limit must not be zero".into());
        }
        Ok(())
    }

    /// The parser options this configuration asks for: its limits, the relaxations real mail
    /// needs, and the interoperability lengths left to the router, which routes or logs what
    /// crosses them instead of parking it (SPEC section 5).
    pub fn parser_options(&self) -> mailaddr::Options {
        mailaddr::Options {
            limits: self.limits.parser,
            ..mailaddr::Options::ROUTING
        }
    }

    /// The configuration for a command: `-c FILE` (or the default path), with `-p` overriding
    /// the postoffice; defaults when there is no file at the default path but there is `-p`.
    /// A file named explicitly (`explicit`: `-c` or `$ROUTER_CONFIG`) must exist, whatever
    /// else is given: a mistyped name never routes with defaults.
    pub fn load(
        file: &Path,
        explicit: bool,
        postoffice: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let mut c = match std::fs::read_to_string(file) {
            Ok(text) => Config::parse(&text, file)?,
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && postoffice.is_some()
                    && !explicit =>
            {
                Config::default()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::Missing(file.into()))
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: file.into(),
                    source,
                })
            }
        };
        if let Some(p) = postoffice {
            c.postoffice = p.into();
        }
        Ok(c)
    }
}

fn span_note(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(r) => {
            let line = text[..r.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

mod duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "bad duration {s:?}: {e} (write e.g. \"30s\", \"2m\")"
            ))
        })
    }
}

mod size {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "bad size {s:?} (write e.g. \"512MiB\", \"64KiB\", \"1GiB\", or bytes)"
            ))
        })
    }
    pub fn parse(s: &str) -> Option<u64> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (n, unit) = s.split_at(split);
        let n: u64 = n.parse().ok()?;
        let mult: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            _ => return None,
        };
        n.checked_mul(mult)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_parses_to_the_defaults() {
        let text = r#"
postoffice = "/var/spool/postoffice"
workers = 0                      # 0: one per CPU
[limits]
max_attempts = 3
message_time_limit = "30s"
worker_memory_limit = "512MiB"
max_message_bytes = 10240000
[routing]
local_domains = []
aliases = ""
transport = ""
default_channel = "smtp"
relay_host = ""
"#;
        assert_eq!(
            Config::parse(text, Path::new("t")).unwrap(),
            Config::default()
        );
        assert_eq!(
            Config::parse("", Path::new("t")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = Config::parse("[limits]\nmax_atempts = 5\n", Path::new("router.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("max_atempts") && e.contains("router.toml") && e.contains("line 2"),
            "{e}"
        );
        let e = Config::parse("postofice = \"/x\"\n", Path::new("r"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("postofice"), "{e}");
    }

    #[test]
    fn values_are_checked() {
        let c = Config::parse("[limits]\nmessage_time_limit = \"2m\"\nworker_memory_limit = \"64MiB\"\n[routing]\nlocal_domains = [\"example.org\"]\n", Path::new("r")).unwrap();
        assert_eq!(c.limits.message_time_max, Duration::from_secs(120));
        assert_eq!(c.limits.worker_memory_bytes_max, 64 << 20);
        assert_eq!(c.routing.local_domains, vec!["example.org"]);
        for bad in [
            "[limits]\nmessage_time_limit = \"soon\"\n",
            "[limits]\nworker_memory_limit = \"5 furlongs\"\n",
            "[limits]\nworker_memory_limit = \"1MiB\"\n",
            "[routing]\nheader_errors = \"ignore\"\n",
            "[limits.parser]\ndepht_max = 3\n",
            "[limits]\nmax_attempts = 0\n",
            "[limits.parser]\ninput_bytes_max = 200000\n",
            "[routing]\ndefault_channel = \"Bad Channel\"\n",
            "[routing]\nrelay_host = \"relay <x@y>\"\n",
            "[routing]\nrelay_host = \"[relay]:25\\n\"\n",
            "workers = -1\n",
            "workers = 257\n",
        ] {
            assert!(Config::parse(bad, Path::new("r")).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_paths_are_the_files() {
        let c = Config::parse(
            "postoffice = \"spool\"\n[routing]\naliases = \"aliases\"\ntransport = \"/abs/transport\"\n",
            Path::new("/etc/router/router.toml"),
        )
        .unwrap();
        assert_eq!(c.postoffice, PathBuf::from("/etc/router/spool"));
        assert_eq!(c.routing.aliases, PathBuf::from("/etc/router/aliases"));
        assert_eq!(c.routing.transport, PathBuf::from("/abs/transport"));
    }

    #[test]
    fn load_follows_the_spec_rule_for_c_and_p() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        assert!(matches!(
            Config::load(&missing, false, None),
            Err(ConfigError::Missing(_))
        ));
        let c = Config::load(&missing, false, Some(Path::new("/po"))).unwrap();
        // Named explicitly, a missing file is an error even with -p.
        assert!(matches!(
            Config::load(&missing, true, Some(Path::new("/po"))),
            Err(ConfigError::Missing(_))
        ));
        assert_eq!(c.postoffice, PathBuf::from("/po"));
        let file = dir.path().join("router.toml");
        std::fs::write(
            &file,
            "postoffice = \"/from-file\"\n[routing]\nlocal_domains = [\"a.test\"]\n",
        )
        .unwrap();
        assert_eq!(
            Config::load(&file, true, None).unwrap().postoffice,
            PathBuf::from("/from-file")
        );
        let c = Config::load(&file, true, Some(Path::new("/override"))).unwrap();
        assert_eq!(
            (c.postoffice, c.routing.local_domains),
            (PathBuf::from("/override"), vec!["a.test".to_string()])
        );
    }
}
