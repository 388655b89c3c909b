//! adsync-tests: stateful emulators of Microsoft Graph, LogMeIn Rescue and GoTo (built on wiremock),
//! a real slapd harness and a scripted Active Directory responder for the LDAP source,
//! synthetic data generators, end-to-end suites and the `adsync-bench` binary.
//!
//! Everything here listens on loopback only and bounds its own request loops.

pub mod ad_directory;
pub mod ad_responder;
pub mod goto_emulator;
pub mod graph_emulator;
pub mod rescue_emulator;
pub mod slapd;
pub mod synthetic;
pub mod throttle;
