//! The planner's speed: indexes over the inputs and passes that use the second core.
//!
//! This module decides nothing. It answers lookups the rules in `desired` and `plan` ask for
//! (which directory user has this object id, which nodes carry this e-mail, which node a link
//! names) and runs independent pieces of work side by side; every answer is what a plain scan
//! of the input would give, in the same order, whether or not a second core took part. Which
//! user wins, which node a user gets and what happens to it are decided above, in functions
//! over domain types; a test (`tests/it/architecture.rs`) keeps the two apart.

mod members;
mod nodes;
mod par;
mod sort;

pub(crate) use members::{UsersById, members_as_users};
pub(crate) use nodes::{LinkIndex, NodeIndex};
pub use par::Cores;
pub(crate) use sort::by_text as sort_by_text;
