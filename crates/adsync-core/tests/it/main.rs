//! adsync-core's integration tests: data-driven scenarios, properties and architecture checks.

mod architecture;
mod condition;
mod execute;
mod oracle;
mod properties;
mod saved_plans;
mod scenarios;
