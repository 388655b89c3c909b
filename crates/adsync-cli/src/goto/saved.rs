//! Saved GoTo plans, sealed and re-checked as Rescue's are ([`crate::saved`]): the format
//! version, the seal (digest, and signature with `sync.plan_signing_key`), the configuration
//! it was made from, then every operation against a fresh read of the directory, the account
//! and `goto-managed.json` ([`adsync_goto::planner::verify`]). Any failure refuses the whole
//! file before anything runs; the guards are recomputed, never the file's `blocked`.

use std::path::Path;

use adsync_goto::planner::{GotoPlan, Sides, verify};
use adsync_goto::{GotoSnapshot, GotoTarget};

use crate::error::Error;
use crate::load::{self, Loaded};
use crate::saved::{check_opened, refused};

/// Reads the saved plan at `path` and checks all that needs no read: the target, the format,
/// the seal, and the configuration it was made from.
fn open(loaded: &Loaded, path: &Path) -> Result<GotoPlan, Error> {
    let plan: GotoPlan = load::read_data(path)?;
    if plan.target != "goto" {
        return Err(Error::DataFile {
            path: path.to_owned(),
            message: format!("this is a plan for a `{}` target, not goto", plan.target),
        });
    }
    check_opened(
        loaded,
        path,
        &plan,
        &plan.format_version,
        &plan.config_digest,
    )?;
    Ok(plan)
}

/// The saved plan at `path`, checked whole against fresh reads, with its guards recomputed;
/// and the account as read now.
pub(super) async fn checked(
    loaded: &Loaded,
    path: &Path,
    target: &GotoTarget,
) -> Result<(GotoPlan, GotoSnapshot), Error> {
    let mut plan = open(loaded, path)?;
    let (wanted, account, managed) = super::read_sides(loaded, target).await?;
    let sides = Sides {
        wanted: &wanted,
        account: &account,
        managed: &managed,
        config: &loaded.config,
    };
    plan.blocked = verify(&plan, &sides).map_err(|problems| refused(path, problems))?;
    Ok((plan, account))
}
