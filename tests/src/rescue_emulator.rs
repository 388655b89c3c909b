//! A stateful LogMeIn Rescue emulator (see issue 4).
