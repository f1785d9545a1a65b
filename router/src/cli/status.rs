//! `router status [--prometheus]`: counts per postoffice directory and per park reason.

use std::io::{self, Write};

use super::{exit, open_po, Globals};
use router::spool::parked::{self, Status};

pub fn run(g: &Globals<'_>, prometheus: bool) -> Result<u8, u8> {
    let c = g.config()?;
    let po = open_po(&c.postoffice, "status")?;
    let mut out = io::stdout().lock();
    let r = parked::status(&po).and_then(|s| {
        if prometheus {
            write_prometheus(&s, &mut out)
        } else {
            write_text(&s, &mut out)
        }
    });
    Ok(match r {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("router status: {e}");
            exit::IOERR
        }
    })
}

/// For people.
fn write_text(s: &Status, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "public/    {:>8}  (submissions being written)",
        s.public
    )?;
    writeln!(out, "router/    {:>8}  (waiting to be routed)", s.router)?;
    writeln!(out, "work/      {:>8}  (being routed now)", s.work)?;
    for (ch, n) in &s.queue {
        writeln!(out, "queue/{ch:<5}{n:>8}")?;
    }
    writeln!(out, "deferred/  {:>8}", s.deferred)?;
    for (k, n) in &s.reasons {
        writeln!(out, "  {k:<28}{n:>6}")?;
    }
    if s.foreign_count > 0 {
        writeln!(
            out,
            "foreign    {:>8}  (names no router makes; left alone, never deleted: look at them)",
            s.foreign_count
        )?;
        for name in &s.foreign {
            writeln!(out, "  {name}")?;
        }
    }
    Ok(())
}

/// For a Prometheus node-exporter textfile collector.
fn write_prometheus(s: &Status, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "# HELP router_messages Messages in each postoffice directory."
    )?;
    writeln!(out, "# TYPE router_messages gauge")?;
    for (d, n) in [
        ("public", s.public),
        ("router", s.router),
        ("work", s.work),
        ("deferred", s.deferred),
    ] {
        writeln!(out, "router_messages{{dir=\"{d}\"}} {n}")?;
    }
    for (ch, n) in &s.queue {
        writeln!(out, "router_messages{{dir=\"queue\",channel=\"{ch}\"}} {n}")?;
    }
    writeln!(
        out,
        "# HELP router_deferred_messages Parked messages by reason."
    )?;
    writeln!(out, "# TYPE router_deferred_messages gauge")?;
    for (k, n) in &s.reasons {
        writeln!(out, "router_deferred_messages{{reason=\"{k}\"}} {n}")?;
    }
    writeln!(
        out,
        "# HELP router_foreign_entries Names in the postoffice no router makes (left alone)."
    )?;
    writeln!(out, "# TYPE router_foreign_entries gauge")?;
    writeln!(out, "router_foreign_entries {}", s.foreign_count)?;
    Ok(())
}
