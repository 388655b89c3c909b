//! adsync-core: the domain model, configuration model, pure planner, safety checks and apply
//! executor of adsync.
//!
//! Embedding it takes a configuration, a directory snapshot and a Rescue snapshot, however they
//! were read: [`desired::desired`] resolves who belongs where, [`plan::plan`] compares that with
//! the organization, and the plan is data (serialised, it is `adsync plan --json`).
//!
//! ```
//! use adsync_core::config::Config;
//! use adsync_core::desired::desired;
//! use adsync_core::model::{DirectorySnapshot, RescueSnapshot};
//! use adsync_core::plan::{ActionKind, CurrentState, Policy, plan};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config: Config = serde_json::from_value(json!({
//!     "source": { "type": "snapshot", "path": "directory.yaml" },
//!     "target": { "type": "snapshot", "path": "rescue.yaml" },
//!     "pairings": [{ "entra_group": "SG-Rescue-L2", "rescue_group": "Helpdesk/L2",
//!                    "role": "technician" }],
//! }))?;
//! let directory: DirectorySnapshot = serde_json::from_value(json!({
//!     "users": [{ "id": "u1", "upn": "jane@contoso.com", "mail": "jane@contoso.com",
//!                 "display_name": "Jane Doe" }],
//!     "groups": [{ "id": "g1", "display_name": "SG-Rescue-L2", "members": ["u1"] }],
//! }))?;
//! let rescue: RescueSnapshot = serde_json::from_value(json!({ "nodes": [
//!     { "id": 1, "type": "Root", "name": "Contoso" },
//!     { "id": 2, "parent": 1, "type": "MasterAdministrators", "name": "Master Administrators" },
//!     { "id": 3, "parent": 1, "type": "Administrators", "name": "Administrators" },
//!     { "id": 4, "parent": 1, "type": "Technicians", "name": "Technicians" },
//!     { "id": 10, "parent": 4, "type": "TechnicianGroup", "name": "Helpdesk" },
//!     { "id": 11, "parent": 10, "type": "TechnicianGroup", "name": "L2" },
//! ]}))?;
//!
//! let wanted = desired(&directory, &config)?;
//! let current = CurrentState { rescue, links: Default::default() };
//! let made = plan(&wanted, &current, &Policy::from_config(&config))?;
//! assert_eq!(made.actions[0].kind(), ActionKind::CreateUser);
//! println!("{}", serde_json::to_string_pretty(&made)?);
//! # Ok(())
//! # }
//! ```
//!
//! `cargo run -p adsync-core --example plan_in_memory` runs the same flow with every value
//! built in code.
//!
//! This crate deliberately does no IO: no files, no environment, no network, no clock, no async
//! runtime. Adapters (`adsync-graph`, `adsync-rescue`) implement [`adapter::Source`] and
//! [`adapter::Target`]; the CLI reads files and hands the parsed data in. ARCHITECTURE.md (at the
//! repository's root) maps the modules: the rules in `desired` and `plan`, the lookups and the
//! second core below them in a private engine that decides nothing.

pub mod adapter;
pub mod attribute;
pub mod condition;
pub mod config;
pub mod desired;
mod engine;
pub mod error;
pub mod execute;
pub mod goto;
mod hash;
pub mod memory;
pub mod model;
pub mod plan;
pub mod scope;
pub mod secret;
pub mod template;
pub mod text;
pub mod tree;
mod warning;

#[doc(hidden)]
pub use engine::Cores;
