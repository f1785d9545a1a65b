//! Real mail always flows (SPEC section 5, revised): every message of the shared real-mail
//! sample, given an envelope that names its recipient as an SMTP server would, is routed.
//! Read in place from ../shared/corpus-sample (never copied here); skipped when it is absent,
//! except under CI, where it is always beside the checkout.

use router::config::Config;
use router::core::message::{Outcome, Processor};
use router::core::table::InMemory;

fn sample() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus-sample/messages");
    let rd = std::fs::read_dir(&dir).ok()?;
    let mut out: Vec<(String, Vec<u8>)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            std::fs::read(e.path()).ok().map(|b| (name, b))
        })
        .collect();
    out.sort();
    Some(out)
}

#[test]
fn every_sample_message_is_routed_with_envelope_recipients() {
    let Some(messages) = sample() else {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("../shared/corpus-sample/messages not found under CI");
        }
        eprintln!("skipped: ../shared/corpus-sample/messages not found");
        return;
    };
    assert!(
        messages.len() >= 400,
        "the sample lost messages: {}",
        messages.len()
    );
    let mut c = Config::default();
    c.routing.local_domains = vec!["example.org".into()];
    let p = Processor::from_config(&c, &InMemory::default()).expect("default tables");
    let mut arena = p.arena();
    let mut parked = Vec::new();
    let (mut routed, mut logged) = (0, 0);
    for (name, bytes) in &messages {
        // The envelope an SMTP server writes: the sender as given in MAIL FROM (here a VERP
        // bounce address, the longest kind real lists use) and the one recipient it accepted.
        let mut input = b"from <list-bounces+user=example.org@lists.example.net>\n\
                          to <user@example.org>\nenv-end\n"
            .to_vec();
        input.extend_from_slice(bytes);
        let r = p.process("sample", &input, &mut arena);
        logged += usize::from(!r.header_faults.is_empty());
        match r.outcome {
            Outcome::Route(o) => {
                assert_eq!(o.len(), 1, "{name}: one recipient, one channel");
                assert_eq!(o[0].0, "local", "{name}");
                // Passed untouched: the output ends with the message exactly as it came.
                assert!(o[0].1.ends_with(bytes), "{name}: the message was changed");
                routed += 1;
            }
            Outcome::Park(reason) => parked.push(format!("{name}: {}", reason.code())),
            Outcome::Control { .. } => panic!("{name}: a control file with ZMailer mode off"),
        }
    }
    eprintln!(
        "{} messages: {routed} routed, {} parked, {logged} with header faults logged",
        messages.len(),
        parked.len()
    );
    assert!(parked.is_empty(), "parked: {parked:?}");
}
