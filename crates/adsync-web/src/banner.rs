//! The failure banners of the overview: one per category of the last run, each with a one-line
//! cause and what to do (GoTo User Sync's "detailed banners ... for each type of failure").

use adsync_core::adapter::FailureCategory;
use serde::Serialize;

use crate::view::{ErrorKind, RunReport};

/// A kind of banner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BannerKind {
    /// Actions failed in this category (SPEC §7).
    Apply(FailureCategory),
    /// A safety guard blocked the plan; nothing was applied.
    Blocked,
    /// A read failed: no plan.
    FailedRead,
    /// The run could not start (configuration, secret, lock).
    RunFailed,
}

const CATEGORIES: [FailureCategory; 7] = [
    FailureCategory::ExistingAccount,
    FailureCategory::OutOfLicenses,
    FailureCategory::InvalidData,
    FailureCategory::Permission,
    FailureCategory::NotFound,
    FailureCategory::Transient,
    FailureCategory::Unknown,
];

impl BannerKind {
    /// The name in URLs and JSON (`existing_account`, `blocked`, `failed_read`).
    pub fn slug(self) -> &'static str {
        match self {
            BannerKind::Apply(category) => category.as_str(),
            BannerKind::Blocked => "blocked",
            BannerKind::FailedRead => "failed_read",
            BannerKind::RunFailed => "run_failed",
        }
    }

    /// The kind named `slug`.
    pub fn from_slug(slug: &str) -> Option<BannerKind> {
        CATEGORIES
            .into_iter()
            .map(BannerKind::Apply)
            .chain([
                BannerKind::Blocked,
                BannerKind::FailedRead,
                BannerKind::RunFailed,
            ])
            .find(|kind| kind.slug() == slug)
    }

    /// The banner's title.
    pub fn title(self) -> &'static str {
        match self {
            BannerKind::Apply(category) => match category {
                FailureCategory::ExistingAccount => "Users have existing accounts",
                FailureCategory::OutOfLicenses => "Out of licences",
                FailureCategory::InvalidData => "Invalid data",
                FailureCategory::Permission => "Permission denied",
                FailureCategory::NotFound => "Not found",
                FailureCategory::Transient => "Rescue kept failing",
                FailureCategory::Unknown => "Unknown Rescue answer",
            },
            BannerKind::Blocked => "Blocked by a safety guard",
            BannerKind::FailedRead => "A read failed",
            BannerKind::RunFailed => "The run could not start",
        }
    }

    /// The cause, in one line.
    pub fn cause(self) -> &'static str {
        match self {
            BannerKind::Apply(category) => match category {
                FailureCategory::ExistingAccount => {
                    "Their e-mail address is already used by another Rescue user or account."
                }
                FailureCategory::OutOfLicenses => {
                    "Rescue refused a seat or a mobile add-on: the licences are used up."
                }
                FailureCategory::InvalidData => "Rescue refused a value adsync sent.",
                FailureCategory::Permission => {
                    "The Rescue account or API token adsync signs in with lacks the rights."
                }
                FailureCategory::NotFound => "The user's node vanished from Rescue meanwhile.",
                FailureCategory::Transient => {
                    "Rescue was unreachable or busy, still after every retry."
                }
                FailureCategory::Unknown => "Rescue answered with a code adsync does not know.",
            },
            BannerKind::Blocked => {
                "The plan disables, moves or empties more than sync.safety allows, so nothing was applied."
            }
            BannerKind::FailedRead => {
                "Entra ID or Rescue could not be read completely, so no plan was made and nothing changed."
            }
            BannerKind::RunFailed => {
                "The configuration, a secret or the state directory stopped the run before it read anything."
            }
        }
    }

    /// What to do about it.
    pub fn remedy(self) -> &'static str {
        match self {
            BannerKind::Apply(category) => match category {
                FailureCategory::ExistingAccount => {
                    "Free the address in Rescue (or change it in Entra ID), then Retry sync."
                }
                FailureCategory::OutOfLicenses => {
                    "Buy or free licences in the Rescue Admin Center, then Retry sync."
                }
                FailureCategory::InvalidData => {
                    "Correct the user's attributes in Entra ID (see the message), then Retry sync."
                }
                FailureCategory::Permission => {
                    "Use a master administrator's API token for target.auth, then Retry sync."
                }
                FailureCategory::NotFound => {
                    "Retry sync: the next run reads the organization again."
                }
                FailureCategory::Transient => {
                    "Retry sync later; check Rescue's status if it persists."
                }
                FailureCategory::Unknown => {
                    "Look the code up in the Rescue API documentation, then Retry sync."
                }
            },
            BannerKind::Blocked => {
                "Review Pending changes; if they are right, run `adsync apply` at a shell with the flag it names."
            }
            BannerKind::FailedRead => "Follow the hint in Details, then Retry sync.",
            BannerKind::RunFailed => "Follow the hint in Details, then Retry sync.",
        }
    }

    /// Whether the banner is an error (red) or a warning (amber).
    pub fn severity(self) -> &'static str {
        match self {
            BannerKind::Blocked | BannerKind::Apply(FailureCategory::Transient) => "warning",
            _ => "error",
        }
    }
}

/// One banner of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Banner {
    /// Its kind.
    pub kind: BannerKind,
    /// `existing_account`, ...
    pub slug: &'static str,
    /// Title.
    pub title: &'static str,
    /// One-line cause.
    pub cause: &'static str,
    /// What to do.
    pub remedy: &'static str,
    /// Users or items affected.
    pub count: usize,
}

impl Banner {
    fn new(kind: BannerKind, count: usize) -> Banner {
        Banner {
            kind,
            slug: kind.slug(),
            title: kind.title(),
            cause: kind.cause(),
            remedy: kind.remedy(),
            count,
        }
    }
}

/// The banners of `run`, in a fixed order: the run's own error, the guard, then each failure
/// category that occurred.
pub fn banners(run: &RunReport) -> Vec<Banner> {
    let mut banners = Vec::new();
    if let Some(error) = &run.error {
        let kind = match error.kind {
            ErrorKind::FailedRead => BannerKind::FailedRead,
            ErrorKind::RunFailed => BannerKind::RunFailed,
        };
        banners.push(Banner::new(kind, 1));
    }
    if let Some(blocked) = run.plan.as_ref().and_then(|plan| plan.blocked.as_ref()) {
        banners.push(Banner::new(BannerKind::Blocked, blocked.guards.len()));
    }
    for category in CATEGORIES {
        let count = run
            .failures
            .iter()
            .filter(|f| f.category == category)
            .count();
        if count > 0 {
            banners.push(Banner::new(BannerKind::Apply(category), count));
        }
    }
    banners
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_slug() {
        let kinds = CATEGORIES.into_iter().map(BannerKind::Apply).chain([
            BannerKind::Blocked,
            BannerKind::FailedRead,
            BannerKind::RunFailed,
        ]);
        let mut slugs = std::collections::BTreeSet::new();
        for kind in kinds {
            assert_eq!(BannerKind::from_slug(kind.slug()), Some(kind));
            assert!(slugs.insert(kind.slug()), "{} is unique", kind.slug());
            assert!(kind.cause().ends_with('.') && kind.remedy().ends_with('.'));
        }
        assert_eq!(slugs.len(), 10);
        assert_eq!(BannerKind::from_slug("delete_everything"), None);
    }
}
