//! A run of words and dots: what a display name, a group name and a local part all start with.
//!
//! `John Doe <j@x>`, `Team: ...`, `john.doe@x` and `"j d"@x` begin the same way, and which one
//! it is shows only at the byte after the run (`<`, `:` or `@`). Rather than backtrack, the run
//! is scanned once, its shape recorded, and the caller re-reads `input[start..end]` with the
//! meaning the next byte gives it ([`phrase`](crate::phrase) or [`local_part`](crate::local_part)).
//! Each byte is thus read at most twice: linear time, no token list kept.

use crate::cursor::{is_atext, span_while, Cursor};
use crate::error::Result;

/// The shape of a run of words (atoms, quoted strings) and dots, with CFWS between them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WordRun {
    /// Offset of the first word or dot.
    pub start: usize,
    /// Offset just after the last word or dot (trailing CFWS excluded).
    pub end: usize,
    /// Words seen.
    pub words: u32,
    /// Offset of the first word that follows another word with no dot between (`john doe`):
    /// fine in a phrase, wrong in a local part.
    pub unjoined_at: Option<usize>,
    /// Offset of the first empty atom of a local part (`a..b`, `.a`, `a.`).
    pub empty_atom_at: Option<usize>,
}

impl WordRun {
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

#[derive(PartialEq)]
enum Prev {
    Start,
    Word,
    Dot,
}

impl Cursor<'_, '_> {
    /// Scans a run at the cursor, which is past any CFWS. Stops at the first byte that is not
    /// a word, a dot or CFWS; trailing CFWS is consumed.
    pub fn scan_word_run(&mut self) -> Result<WordRun> {
        let mut run = WordRun {
            start: self.pos,
            end: self.pos,
            words: 0,
            unjoined_at: None,
            empty_atom_at: None,
        };
        let mut prev = Prev::Start;
        loop {
            let at = self.pos;
            match self.peek() {
                Some(b'"') => {
                    self.scan_quoted()?;
                }
                Some(b) if is_atext(b) => {
                    self.count_token()?;
                    self.pos += span_while(self.rest(), is_atext);
                }
                Some(b'.') => {
                    self.count_token()?;
                    self.pos += 1;
                    if prev != Prev::Word && run.empty_atom_at.is_none() {
                        run.empty_atom_at = Some(at);
                    }
                    prev = Prev::Dot;
                    run.end = self.pos;
                    self.skip_cfws()?;
                    continue;
                }
                _ => break,
            }
            // A word. Every turn of this loop consumes input (linear time).
            debug_assert!(self.pos > at, "word run made no progress at {at}");
            if prev == Prev::Word && run.unjoined_at.is_none() {
                run.unjoined_at = Some(at);
            }
            prev = Prev::Word;
            run.words += 1;
            run.end = self.pos;
            self.skip_cfws()?;
        }
        if prev == Prev::Dot && run.empty_atom_at.is_none() {
            run.empty_atom_at = Some(run.end - 1);
        }
        Ok(run)
    }
}
