//! Saved plans (`plan --out`, `apply plan.json`, `dry-run --plan`): sealed when written, and
//! re-checked, not trusted, when read. A file travels (CI, tickets, shared drives); whoever can
//! write it must not be able to do what the Rescue token can.
//!
//! Reading one: the JSON is parsed (every field well-formed), its `format_version` must be one
//! this adsync reads, its digest (and, with `sync.plan_signing_key`, its signature) must match
//! its content, it must be made from this configuration, and every action must pass the
//! invariants against a fresh read of Rescue ([`adsync_core::plan::verify`]). Any failure
//! refuses the whole file before anything runs.

use std::collections::BTreeMap;
use std::path::Path;

use adsync_core::execute::check_preconditions;
use adsync_core::plan::{
    Blocked, CurrentState, Plan, SealError, Sealed, check_format_version, verify,
};
use adsync_core::secret::Secret;

use crate::error::Error;
use crate::load::{self, Loaded};

/// The configuration key of the signing secret.
const KEY: &str = "sync.plan_signing_key";

/// The signing key, when the configuration names one.
fn signing_key(loaded: &Loaded) -> Result<Option<Secret>, Error> {
    loaded
        .config
        .sync
        .plan_signing_key
        .as_ref()
        .map(|reference| load::secret(loaded, reference, KEY))
        .transpose()
}

/// `plan` (Rescue's or GoTo's) sealed for saving: its digest, and its signature when a signing
/// key is configured.
pub(crate) fn sealed<P: Sealed>(loaded: &Loaded, plan: &P) -> Result<P, Error> {
    let key = signing_key(loaded)?;
    let mut sealed = plan.clone();
    Sealed::seal(&mut sealed, key.as_ref().map(|key| key.expose().as_bytes()));
    Ok(sealed)
}

/// Reads the saved plan at `path` and checks all that needs no read of Rescue: the format, the
/// seal, and the configuration it was made from.
pub(crate) fn open(loaded: &Loaded, path: &Path) -> Result<Plan, Error> {
    let plan: Plan = load::read_data(path)?;
    check_opened(
        loaded,
        path,
        &plan,
        &plan.format_version,
        &plan.config_digest,
    )?;
    Ok(plan)
}

/// The checks of any saved plan (Rescue's, GoTo's) that need no read: its `format_version`,
/// its seal, and that it was made from this configuration.
pub(crate) fn check_opened(
    loaded: &Loaded,
    path: &Path,
    plan: &impl Sealed,
    format_version: &str,
    config_digest: &str,
) -> Result<(), Error> {
    check_format_version(format_version).map_err(|refusal| refused(path, refusal.problems))?;
    let key = signing_key(loaded)?;
    plan.check_seal(key.as_ref().map(|key| key.expose().as_bytes()))
        .map_err(|error| refused(path, vec![seal_problem(&error)]))?;
    let digest = loaded.config.digest();
    if config_digest != digest {
        return Err(Error::StalePlan {
            path: path.to_owned(),
            plan: config_digest.to_owned(),
            config: digest,
        });
    }
    Ok(())
}

/// Checks every action of `plan` against the configuration and what Rescue holds now: the
/// actions that drifted since (they will not run) with why, and the guards the plan trips now,
/// recomputed (never the file's `blocked`).
pub(crate) fn check(
    loaded: &Loaded,
    path: &Path,
    plan: &Plan,
    current: &CurrentState,
) -> Result<(BTreeMap<String, String>, Option<Blocked>), Error> {
    let drifted = check_preconditions(plan, &current.rescue);
    let blocked = verify(plan, &loaded.config, current, &drifted)
        .map_err(|refusal| refused(path, refusal.problems))?;
    Ok((drifted, blocked))
}

fn seal_problem(error: &SealError) -> String {
    match error {
        SealError::Unsealed => {
            format!("{error}: it was written by an older adsync or by hand, and cannot be checked")
        }
        _ => error.to_string(),
    }
}

pub(crate) fn refused(path: &Path, problems: Vec<String>) -> Error {
    Error::PlanRefused {
        path: path.to_owned(),
        problems,
    }
}
