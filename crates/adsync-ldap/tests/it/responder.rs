//! Against the scripted Active Directory responder.
