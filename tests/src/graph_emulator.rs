//! A stateful Microsoft Graph emulator (see issue 3).
