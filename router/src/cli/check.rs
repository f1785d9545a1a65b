//! `router check`: the configuration, its tables and the postoffice layout; exit 0 if all is
//! well.

use super::{exit, Globals};
use router::process::pass::Settings;
use router::spool::Postoffice;

pub fn run(g: &Globals<'_>) -> Result<u8, u8> {
    let c = g.config()?;
    let s = Settings::from_config(&c).map_err(|e| {
        eprintln!("router check: {e}");
        exit::CONFIG
    })?;
    println!(
        "configuration: ok ({} local domains, {} aliases, {} transport entries)",
        s.processor.routing.local_domains.len(),
        s.processor.routing.aliases.len(),
        s.processor.routing.transport.len()
    );
    Ok(match Postoffice::open(&c.postoffice) {
        Ok(po) => {
            println!(
                "postoffice {}: ok (layout, one file system)",
                c.postoffice.display()
            );
            // Foreign names are a warning, not a failure: the router leaves them alone and
            // routes the rest.
            if let Ok(st) = router::spool::parked::status(&po) {
                if st.foreign_count > 0 {
                    println!(
                        "warning: {} names in the postoffice no router makes (left alone, never deleted): {}",
                        st.foreign_count,
                        st.foreign.join(", ")
                    );
                }
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("router check: postoffice: {e}");
            exit::TEMPFAIL
        }
    })
}
