//! adsync-tests: stateful emulators of Microsoft Graph and LogMeIn Rescue (built on wiremock),
//! synthetic data generators, end-to-end suites and the `adsync-bench` binary.
//!
//! Everything here listens on loopback only and bounds its own request loops.

pub mod graph_emulator;
pub mod rescue_emulator;
pub mod synthetic;
pub mod throttle;
