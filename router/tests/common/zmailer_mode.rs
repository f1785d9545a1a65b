//! ZMailer mode's test postoffice and its end-state check, shared by the kill test
//! (zmailer_crash.rs) and the power-loss test (power_loss.rs).

use std::collections::BTreeMap;

use super::{new_po, snapshot, Po};
use router::core::control_file;

pub fn zmailer_po() -> (Po, BTreeMap<String, Vec<u8>>) {
    let po = new_po();
    std::fs::create_dir(po.root.join("transport")).unwrap();
    super::scenario(
        po,
        b"external\nrcvdfrom client (127.0.0.1)\nwith ESMTP\nfrom <a@example.org>\ntodsn NOTIFY=SUCCESS ORCPT=rfc822;b@example.net\nto <b@example.net>\nto <c@local.test>\nto <bad@>\nenv-end\nSubject: fan-out\n\nbody 1\n",
        b"rcvdfrom STDIN (x)\nchannel error\nerrormsg\nto <d@example.com>\nenv-end\nSubject: bounce\n\nbody 2\n",
    )
}

/// The ZMailer-mode configuration, beside (not in) the postoffice; `-p` gives the root.
pub fn config(po: &Po) -> String {
    let cfg = po._tmp.path().join("zmailer-router.toml");
    if !cfg.exists() {
        std::fs::write(
            &cfg,
            "[routing]\nlocal_domains = [\"local.test\"]\n[zmailer]\nenabled = true\nhostname = \"mx.local.test\"\n",
        )
        .unwrap();
    }
    cfg.display().to_string()
}

pub fn run_args(cfg: &str) -> Vec<String> {
    ["-c", cfg, "run", "--once", "--inline"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// What a run left: per original message, its fate; or why the state is wrong.
pub fn outcome(
    po: &Po,
    originals: &BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, String>, String> {
    let snap = snapshot(po);
    let mut fate: BTreeMap<String, String> = BTreeMap::new();
    let by_bytes = |bytes: &[u8]| {
        originals
            .iter()
            .find(|(_, o)| o.as_slice() == bytes)
            .map(|(id, _)| id.clone())
    };
    let mut controls = 0;
    for (path, bytes) in &snap {
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["transport", h1, h2, ino] => {
                controls += 1;
                let c = control_file::parse(bytes)
                    .map_err(|e| format!("{path} does not read back: {e}"))?;
                if c.ino.to_string() != *ino {
                    return Err(format!("{path} names inode {}", c.ino));
                }
                let q = format!("queue/{h1}/{h2}/{ino}");
                let Some(message) = snap.get(&q) else {
                    return Err(format!("{path} without its queue file {q}"));
                };
                let id = by_bytes(message).ok_or(format!("{q} is not an original message"))?;
                let mut rcpts: Vec<String> = control_file::recipients_of(bytes)
                    .iter()
                    .map(|r| format!("{} {} {}", r.line.channel, r.line.host, r.line.user))
                    .collect();
                rcpts.sort();
                let desc = format!("handed over to {}", rcpts.join(", "));
                if fate.insert(id.clone(), desc).is_some() {
                    return Err(format!("{id} is in two places (a duplicate)"));
                }
            }
            ["queue", h1, h2, ino] => {
                if !snap.contains_key(&format!("transport/{h1}/{h2}/{ino}")) {
                    return Err(format!(
                        "{path} without a control file: the scheduler never sees it"
                    ));
                }
            }
            ["deferred", name] if name.ends_with(".reason") => {
                let id = name.trim_end_matches(".reason");
                if !snap.contains_key(&format!("deferred/{id}")) {
                    return Err(format!("{path} without its message"));
                }
            }
            ["deferred", id] => {
                if originals.get(*id) != Some(bytes) {
                    return Err(format!("{path} is not the original message"));
                }
                let reason = snap
                    .get(&format!("deferred/{id}.reason"))
                    .ok_or(format!("{path} has no reason"))?;
                let code = String::from_utf8_lossy(reason)
                    .lines()
                    .find_map(|l| l.strip_prefix("Reason: ").map(str::to_string))
                    .unwrap_or_default();
                if fate
                    .insert(id.to_string(), format!("parked: {code}"))
                    .is_some()
                {
                    return Err(format!("{id} is in two places (parked and handed over)"));
                }
            }
            _ => return Err(format!("stray file {path}")),
        }
    }
    let queued = snap.keys().filter(|p| p.starts_with("queue/")).count();
    if queued != controls {
        return Err(format!("{queued} queue files, {controls} control files"));
    }
    for id in originals.keys() {
        if !fate.contains_key(id) {
            return Err(format!("{id} is lost"));
        }
    }
    Ok(fate)
}
