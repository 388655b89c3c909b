//! adsync-core: the domain model, configuration model, pure planner, safety checks and apply
//! executor of adsync.
//!
//! This crate deliberately does no IO: no files, no environment, no network, no clock, no async
//! runtime. Adapters (`adsync-graph`, `adsync-rescue`) implement [`adapter::Source`] and
//! [`adapter::Target`]; the CLI reads files and hands the parsed data in.
//!
//! The paved path: [`desired::desired`] then [`plan::plan`].

pub mod adapter;
pub mod config;
pub mod desired;
mod engine;
pub mod error;
pub mod execute;
mod hash;
pub mod memory;
pub mod model;
pub mod plan;
pub mod scope;
pub mod secret;
pub mod tree;
mod warning;

#[doc(hidden)]
pub use engine::Cores;
