//! Deferral: park a message in `deferred/` with a reason file (SPEC section 3).
//!
//! - C3 [`stage_reason`]: the reason file is written in work/ (`<id>#reason`);
//! - S2: made durable with the batch;
//! - C4 [`commit`]: renamed to `deferred/<id>.reason`, and only then is the message itself
//!   renamed to `deferred/<id>`: the rename of the message is the commit;
//! - C6 [`cleanup`] (after S3): the counter is removed.
//!
//! A crash before the message's rename leaves the message in work/, where recovery rolls it
//! back to router/; a stale `deferred/<id>.reason` with no message beside it is replaced by
//! the next deferral of that id. The message's bytes are never touched.

use std::io;

use super::layout::Postoffice;
use super::reason_file;
use super::seam::{Renamed, Replace, Step};
use super::Error;
use crate::names;
use crate::reason::ParkReason;

/// C3: write the reason file in work/ (durable after the batch's next sync).
pub fn stage_reason(po: &Postoffice, id: &str, reason: &ParkReason) -> io::Result<()> {
    let name = names::reason(id);
    po.fs.unlink(Step::C3ReasonClear, &po.work, &name)?;
    let f = po.fs.create_excl(Step::C3ReasonCreate, &po.work, &name)?;
    po.fs.write_all(
        Step::C3ReasonWrite,
        &f,
        reason_file::render(reason).as_bytes(),
    )
}

/// C4 (after S2): move the reason, then the message, into deferred/. A parked message of the
/// same id already there is never touched, its reason file included: the newcomer is not
/// committed (`IdReused`) and stays in work/.
pub fn commit(po: &Postoffice, id: &str) -> Result<(), Error> {
    if po.fs.exists(&po.deferred, id)? {
        return Err(Error::IdReused {
            id: id.into(),
            place: format!("deferred/{id}"),
        });
    }
    // A reason file without its message is stale (a deferral that died between its two
    // renames): replaced.
    po.fs.rename(
        Step::C4DeferReason,
        &po.work,
        &names::reason(id),
        &po.deferred,
        &names::deferred_reason(id),
        Replace::Yes,
    )?;
    match po
        .fs
        .rename_noreplace(Step::C4DeferMessage, &po.work, id, &po.deferred, id)?
    {
        Renamed::Done | Renamed::SourceGone => Ok(()),
        Renamed::DestinationExists => Err(Error::IdReused {
            id: id.into(),
            place: format!("deferred/{id}"),
        }),
    }
}

/// C6 (after S3): the counter is no longer needed.
pub fn cleanup(po: &Postoffice, id: &str) -> io::Result<()> {
    super::attempts::remove(po, id)
}
