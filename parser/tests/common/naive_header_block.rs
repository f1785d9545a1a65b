//! The naive header-block splitter that the splitter is tested against (`tests/header_block.rs`)
//! and fuzzed against (`fuzz/fuzz_targets/header_block.rs`): lines split at LF, one CR
//! dropped, a line starting with white space continues the field, the first empty line ends
//! the header, an mbox `From ` line at the very start skipped (`Options::DEFAULT`). Written
//! the obvious way, line by line, with no caps: compare only where no cap is met.

/// The fields (name, raw value, name offset, value offset, value as text when the whole
/// block is UTF-8) and the body offset.
pub type Naive = (Vec<(String, Vec<u8>, usize, usize, Option<String>)>, usize);

/// The splitter's answer in the reference's shape: its fields and body offset, or its
/// error's kind and offset.
pub fn in_reference_shape(
    split: &Result<mailaddr::HeaderBlock<'_>, mailaddr::Error>,
) -> Result<Naive, (&'static str, usize)> {
    split
        .as_ref()
        .map(|b| {
            let fields = b.fields.iter().map(|f| {
                let text = f.text.map(str::to_string);
                (
                    f.name.to_string(),
                    f.value.to_vec(),
                    f.offset,
                    f.value_offset,
                    text,
                )
            });
            (fields.collect(), b.body_offset)
        })
        .map_err(|e| (e.kind.name(), e.offset))
}

/// `name` without the white space before its colon (obsolete syntax).
fn trim_end(name: &[u8]) -> &[u8] {
    let wsp = name
        .iter()
        .rev()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    &name[..name.len() - wsp]
}

/// The split of `m`, or the error's kind and offset.
pub fn naive(m: &[u8]) -> Result<Naive, (&'static str, usize)> {
    // (name offset, value offset, value end)
    let mut fields: Vec<(usize, usize, usize)> = Vec::new();
    // An mbox `From ` line at the very start is skipped (Options::DEFAULT allows it).
    let mut pos = 0;
    if m.starts_with(b"From ") {
        pos = m
            .iter()
            .position(|&b| b == b'\n')
            .map_or(m.len(), |i| i + 1);
    }
    let body = loop {
        if pos >= m.len() {
            break m.len();
        }
        let lf = m[pos..].iter().position(|&b| b == b'\n');
        let next = lf.map_or(m.len(), |i| pos + i + 1);
        let mut content = &m[pos..lf.map_or(m.len(), |i| pos + i)];
        if content.last() == Some(&b'\r') {
            content = &content[..content.len() - 1];
        }
        match content.first() {
            None => break next,
            Some(b' ' | b'\t') => {
                let Some(last) = fields.last_mut() else {
                    return Err(("malformed-field", pos));
                };
                last.2 = pos + content.len();
            }
            Some(_) => {
                let colon = content
                    .iter()
                    .position(|&b| b == b':')
                    .ok_or(("malformed-field", pos))?;
                let name = trim_end(&content[..colon]);
                if name.is_empty() {
                    return Err(("malformed-field", pos));
                }
                if let Some(i) = name.iter().position(|&b| !(33..=126).contains(&b)) {
                    return Err(("invalid-field-name", pos + i));
                }
                fields.push((pos, pos + colon + 1, pos + content.len()));
            }
        }
        pos = next;
    };
    let text = std::str::from_utf8(&m[..body]).ok();
    let out = fields
        .into_iter()
        .map(|(off, voff, vend)| {
            let name = String::from_utf8(trim_end(&m[off..voff - 1]).to_vec()).unwrap();
            (
                name,
                m[voff..vend].to_vec(),
                off,
                voff,
                text.map(|t| t[voff..vend].to_string()),
            )
        })
        .collect();
    Ok((out, body))
}
